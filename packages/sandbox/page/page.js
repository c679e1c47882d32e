// The sandbox page: polls GET /_sandbox/overview and switches faults with PUT /_sandbox/faults.
// Plain browser JavaScript, no build step. Everything shown is set as text (never as HTML): the
// metadata and ids on display are whatever clients sent.
'use strict';

const KEY_STORAGE = 'pacspace-sandbox-key';
const POLL_MS = 1000;
const ROWS = 200;

/** One-click faults: what each switch adds to the fault configuration (its label says what a config does). */
const TOGGLES = [
  ['serverError', { rate: 1, statuses: [503] }],
  ['rateLimit', { rate: 1, retryAfterSeconds: 1 }],
  ['resetBeforeProcessing', { rate: 1 }],
  ['commitThenDrop', { rate: 1 }],
  ['latencyMs', 500],
  ['itemFailures', { rate: 0.5 }],
  ['verificationFailure', { rate: 0.5 }],
];

let apiKey = sessionStorage.getItem(KEY_STORAGE);
let faults = {};
let timer;
/** Custom configs switched off from this page, so switching them on again restores them. */
const switchedOff = {};
/** The ledger rows a clicked request link points at, highlighted until another link is clicked. */
let highlighted = new Set();
let lastView;

const $ = (id) => document.getElementById(id);

async function api(method, path, body) {
  const headers = { 'x-api-key': apiKey };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = await res.json().catch(() => ({}));
  if (res.status === 401 || res.status === 403) throw Object.assign(new Error(json.message || 'The key was refused.'), { auth: true });
  if (!res.ok) throw new Error((json.error && json.error.message) || `HTTP ${res.status}`);
  return json.data;
}

async function poll() {
  clearTimeout(timer);
  try {
    render(await api('GET', `/_sandbox/overview?limit=${ROWS}`));
    $('connection').textContent = `Connected to ${location.host}`;
    $('key-form').hidden = true;
    $('dashboard').hidden = false;
  } catch (err) {
    if (err.auth) return showKeyForm(err.message);
    $('connection').textContent = `Cannot reach the sandbox: ${err.message}`;
  }
  timer = setTimeout(poll, POLL_MS);
}

function showKeyForm(message) {
  sessionStorage.removeItem(KEY_STORAGE);
  apiKey = null;
  $('dashboard').hidden = true;
  $('key-form').hidden = false;
  $('key-error').textContent = message || '';
  $('connection').textContent = 'Not connected';
}

function render(view) {
  lastView = view;
  faults = view.faults;
  const c = view.counts;
  // Faulted batch items are counted apart: their batch answered 2xx, so it is not a faulted request.
  $('counts').textContent = [
    count(c.requests, 'request'), count(c.committed, 'delta'), count(c.replayed, 'replay'),
    count(c.faults, 'faulted request'), count(c.itemFaults, 'faulted batch item'),
  ].join(' · ');
  const pace = view.verification;
  $('pace').textContent = pace.queuedMs + pace.processingMs === 0
    ? 'Verification is instant.'
    : `Deltas stay QUEUED ${pace.queuedMs} ms, then PROCESSING ${pace.processingMs} ms.`;
  renderToggles();
  if (document.activeElement !== $('faults-json')) $('faults-json').value = JSON.stringify(faults, null, 2);
  fill('balances', view.balances, (b) => [b.customerId, amount(b.verified), amount(b.pending), amount(b.failed), b.deltas]);
  fill('deltas', view.deltas, deltaCells, (d) => ({ referenceId: d.referenceId || '', status: d.status, recordId: d.recordId }));
  for (const row of $('deltas').rows) {
    row.id = `record-${row.dataset.recordId}`;
    row.classList.toggle('linked', highlighted.has(row.dataset.recordId));
  }
  fill('requests', markRetries(view.requests), requestCells, (r) => ({ outcome: r.outcome, retry: String(r.retry) }));
}

/** Sums of floating-point deltas, shown as PacSpace would book them: no 0.30000000000000004, no -0. */
function amount(n) {
  return String(Number(n.toPrecision(15)) || 0);
}

function deltaCells(d) {
  return [
    time(d.committedAt),
    d.recordId,
    d.customerId,
    amount(d.delta),
    d.reason,
    idText(d.referenceId),
    idText(d.idempotencyKey),
    d.adjusts ? recordLinks([d.adjusts.recordId], d.adjusts.referenceId ? ` (${d.adjusts.referenceId})` : '') : '—',
    badge(d.status, d.status + (d.error ? ` (${d.error})` : '')),
    d.metadata ? details(JSON.stringify(d.metadata), JSON.stringify(d.metadata, null, 2)) : '—',
  ];
}

function requestCells(r) {
  const outcome = document.createElement('span');
  outcome.append(badge(r.outcome.startsWith('fault:') ? 'fault' : r.outcome, r.outcome));
  if (r.retry) outcome.append(' ', badge('retry', `retry ${r.retry}`));
  const customers = r.customerId || (r.customerIds ? shortList(r.customerIds) : '—');
  const committed = r.recordIds ? recordLinks(r.recordIds) : '—';
  // The ledger is filled first: a request whose rows are all older than the ones shown says so.
  if (r.recordIds && !r.recordIds.some((id) => document.getElementById(`record-${id}`))) committed.title = 'older than the ledger rows shown';
  return [r.seq, time(r.at), `${r.method} ${r.path}`, r.status || 'no answer', outcome, customers, idText(r.idempotencyKey), items(r.items), committed];
}

/** A referenceId or key: long ones (a batch key is ~80 characters) may break anywhere, so the table keeps its width. */
function idText(id) {
  if (!id) return '—';
  const span = document.createElement('span');
  span.className = 'id';
  span.textContent = id;
  return span;
}

/** "1 replay", "2 replays". */
function count(n, noun) {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** "a, b, c +2 more". */
function shortList(values, shown = 3) {
  return values.length <= shown ? values.join(', ') : `${values.slice(0, shown).join(', ')} +${values.length - shown} more`;
}

/**
 * Links to ledger rows: a click highlights every one of `recordIds` (a request's whole commit) and
 * scrolls to the first that is shown (the ledger lists the newest rows only).
 */
function recordLinks(recordIds, suffix = '') {
  const a = document.createElement('a');
  a.href = `#record-${recordIds[0]}`;
  a.className = 'record-link';
  a.textContent = (recordIds.length === 1 ? recordIds[0] : `${recordIds.length} rows: ${shortList(recordIds, 2)}`) + suffix;
  a.addEventListener('click', (event) => {
    event.preventDefault();
    highlighted = new Set(recordIds);
    render(lastView);
    const row = recordIds.map((id) => document.getElementById(`record-${id}`)).find(Boolean);
    if (row) row.scrollIntoView({ block: 'center' });
  });
  return a;
}

/** A batch's item count and per-item outcomes, e.g. "3 items: 2 committed, 1 failed (SERVICE_UNAVAILABLE)". */
function items(i) {
  if (!i) return '';
  const parts = [];
  if (i.committed) parts.push(`${i.committed} committed`);
  if (i.replayed) parts.push(`${i.replayed} replayed`);
  if (i.failed) parts.push(`${i.failed} failed (${Object.entries(i.failures).map(([code, n]) => `${code} ×${n}`).join(', ')})`);
  return `${count(i.total, 'item')}: ${parts.join(', ')}`;
}

/** Numbers each repeat of an endpoint + Idempotency-Key within the rows shown: a client's retries. */
function markRetries(newestFirst) {
  const seen = new Map();
  const marked = newestFirst.slice().reverse().map((r) => {
    if (!r.idempotencyKey) return { ...r, retry: 0 };
    const key = `${r.path} ${r.idempotencyKey}`;
    const n = seen.get(key) || 0;
    seen.set(key, n + 1);
    return { ...r, retry: n };
  });
  return marked.reverse();
}

function renderToggles() {
  const box = $('fault-toggles');
  if (box.childElementCount === 0) {
    for (const [name] of TOGGLES) {
      const wrap = document.createElement('label');
      const input = document.createElement('input');
      input.type = 'checkbox';
      input.dataset.fault = name;
      input.addEventListener('change', () => switchFault(name, input.checked));
      const text = document.createElement('span');
      text.dataset.faultLabel = name;
      wrap.append(input, text);
      box.append(wrap);
    }
  }
  for (const [name, preset] of TOGGLES) {
    const on = faults[name] !== undefined;
    box.querySelector(`input[data-fault="${name}"]`).checked = on;
    // What is on, or what switching on would set: a custom config survives being switched off.
    const config = on ? faults[name] : switchedOff[name] ?? preset;
    const custom = JSON.stringify(config) !== JSON.stringify(preset);
    const label = box.querySelector(`[data-fault-label="${name}"]`);
    label.textContent = describeFault(name, config) + (custom ? ' (custom)' : '');
    label.parentElement.classList.toggle('custom', custom);
  }
}

async function switchFault(name, on) {
  const next = { ...faults };
  const preset = TOGGLES.find(([n]) => n === name)[1];
  if (on) {
    next[name] = switchedOff[name] ?? preset;
    delete switchedOff[name];
  } else {
    if (JSON.stringify(faults[name]) !== JSON.stringify(preset)) switchedOff[name] = faults[name];
    delete next[name];
  }
  await applyFaults(next);
}

/** A fault configuration in words, e.g. "Server error (503) on write #3" or "50% of batch items fail". */
function describeFault(name, c) {
  switch (name) {
    case 'serverError':
      return `Server error (${(c.statuses || [500, 502, 503, 504]).join('/')}) ${when(c)}${c.retryAfterSeconds === undefined ? '' : `, Retry-After ${c.retryAfterSeconds} s`}`;
    case 'rateLimit':
      return `429 rate limit (Retry-After ${c.retryAfterSeconds} s) ${when(c)}`;
    case 'resetBeforeProcessing':
      return `Connection reset before processing ${when(c)}`;
    case 'commitThenDrop':
      return `Commit, then drop the answer ${when(c)}`;
    case 'latencyMs':
      return typeof c === 'number' ? `${c} ms latency` : `${c.min}–${c.max} ms latency`;
    case 'itemFailures':
      return `${which(c, 'batch items')} fail${c.codes ? ` (${c.codes.join(', ')})` : ''}`;
    case 'verificationFailure':
      return `${which(c, 'deltas')} end FAILED${c.code ? ` (${c.code})` : ''}`;
    default:
      return name;
  }
}

/** When a triggered fault fires: "on every write", "on 10% of writes or on every 3rd write", "on write #1". */
function when(t) {
  const parts = [];
  if (t.rate !== undefined) parts.push(t.rate === 1 ? 'every write' : `${percent(t.rate)} of writes`);
  if (t.every !== undefined) parts.push(t.every === 1 ? 'every write' : `every ${ordinal(t.every)} write`);
  if (t.requests !== undefined) parts.push(`write${t.requests.length === 1 ? '' : 's'} ${t.requests.map((n) => `#${n}`).join(', ')}`);
  return `on ${parts.join(' or ')}`;
}

/** Which items a per-item fault hits: "50% of batch items", "batch items of cust_a", or both. */
function which(c, things) {
  const parts = [];
  if (c.rate !== undefined) parts.push(`${percent(c.rate)} of ${things}`);
  if (c.customerIds !== undefined) parts.push(`${things} of ${shortList(c.customerIds)}`);
  return parts.join(' and ') || `no ${things}`;
}

function percent(rate) {
  return `${Number((rate * 100).toPrecision(3))}%`;
}

function ordinal(n) {
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' }[n % 10] || 'th');
  return `${n}${suffix}`;
}

async function applyFaults(next) {
  $('fault-error').textContent = '';
  try {
    faults = (await api('PUT', '/_sandbox/faults', next)).faults;
  } catch (err) {
    $('fault-error').textContent = err.message;
  }
  poll();
}

function fill(id, rows, cells, data) {
  const body = $(id);
  body.replaceChildren(...rows.map((row) => {
    const tr = document.createElement('tr');
    if (data) Object.assign(tr.dataset, data(row));
    for (const cell of cells(row)) {
      const td = document.createElement('td');
      td.append(cell instanceof Node ? cell : String(cell));
      tr.append(td);
    }
    return tr;
  }));
}

function badge(kind, text) {
  const span = document.createElement('span');
  span.className = `badge ${kind}`;
  span.textContent = text;
  return span;
}

function details(summary, full) {
  const d = document.createElement('details');
  const s = document.createElement('summary');
  s.textContent = summary.length > 60 ? `${summary.slice(0, 60)}…` : summary;
  const pre = document.createElement('pre');
  pre.textContent = full;
  d.append(s, pre);
  return d;
}

function time(iso) {
  return new Date(iso).toLocaleTimeString();
}

$('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  apiKey = $('api-key').value.trim();
  $('api-key').value = '';
  sessionStorage.setItem(KEY_STORAGE, apiKey);
  poll();
});
$('faults-apply').addEventListener('click', () => {
  let parsed;
  try {
    parsed = JSON.parse($('faults-json').value);
  } catch {
    $('fault-error').textContent = 'That is not valid JSON.';
    return;
  }
  applyFaults(parsed);
});
$('reset').addEventListener('click', async () => {
  if (!confirm('Clear every delta, request and idempotency key? Faults are kept.')) return;
  await api('POST', '/_sandbox/reset').catch((err) => ($('fault-error').textContent = err.message));
  poll();
});

if (apiKey) poll();
