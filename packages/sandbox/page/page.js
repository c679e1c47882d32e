// The sandbox page: polls GET /_sandbox/overview and switches faults with PUT /_sandbox/faults.
// Plain browser JavaScript, no build step. Everything shown is set as text (never as HTML): the
// metadata and ids on display are whatever clients sent.
'use strict';

const KEY_STORAGE = 'pacspace-sandbox-key';
const POLL_MS = 1000;
const ROWS = 200;

/** One-click faults: what each switch adds to the fault configuration. */
const TOGGLES = [
  ['serverError', 'Server error (503) on every write', { rate: 1, statuses: [503] }],
  ['rateLimit', '429 rate limit (Retry-After 1 s)', { rate: 1, retryAfterSeconds: 1 }],
  ['resetBeforeProcessing', 'Connection reset before processing', { rate: 1 }],
  ['commitThenDrop', 'Commit, then drop the answer', { rate: 1 }],
  ['latencyMs', '500 ms latency', 500],
  ['itemFailures', 'Half of batch items fail', { rate: 0.5 }],
  ['verificationFailure', 'Half of deltas end FAILED', { rate: 0.5 }],
];

let apiKey = sessionStorage.getItem(KEY_STORAGE);
let faults = {};
let timer;

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
  faults = view.faults;
  const c = view.counts;
  $('counts').textContent = `${c.requests} requests · ${c.committed} deltas · ${c.replayed} replays · ${c.faults} faults`;
  const pace = view.verification;
  $('pace').textContent = pace.queuedMs + pace.processingMs === 0
    ? 'Verification is instant.'
    : `Deltas stay QUEUED ${pace.queuedMs} ms, then PROCESSING ${pace.processingMs} ms.`;
  renderToggles();
  if (document.activeElement !== $('faults-json')) $('faults-json').value = JSON.stringify(faults, null, 2);
  fill('balances', view.balances, (b) => [b.customerId, b.verified, b.pending, b.failed, b.deltas]);
  fill('deltas', view.deltas, deltaCells, (d) => ({ referenceId: d.referenceId || '', status: d.status }));
  fill('requests', markRetries(view.requests), requestCells, (r) => ({ outcome: r.outcome, retry: String(r.retry) }));
}

function deltaCells(d) {
  return [
    time(d.committedAt),
    d.recordId,
    d.customerId,
    d.delta,
    d.reason,
    d.referenceId || '—',
    badge(d.status, d.status + (d.error ? ` (${d.error})` : '')),
    d.metadata ? details(JSON.stringify(d.metadata), JSON.stringify(d.metadata, null, 2)) : '—',
  ];
}

function requestCells(r) {
  const outcome = document.createElement('span');
  outcome.append(badge(r.outcome.startsWith('fault:') ? 'fault' : r.outcome, r.outcome));
  if (r.retry) outcome.append(' ', badge('retry', `retry ${r.retry}`));
  return [r.seq, time(r.at), `${r.method} ${r.path}`, r.status || 'no answer', outcome, r.customerId || '—', r.idempotencyKey || '—', items(r.items)];
}

/** A batch's item count and per-item outcomes, e.g. "3 items: 2 committed, 1 failed (SERVICE_UNAVAILABLE)". */
function items(i) {
  if (!i) return '';
  const parts = [];
  if (i.committed) parts.push(`${i.committed} committed`);
  if (i.replayed) parts.push(`${i.replayed} replayed`);
  if (i.failed) parts.push(`${i.failed} failed (${Object.entries(i.failures).map(([code, n]) => `${code} ×${n}`).join(', ')})`);
  return `${i.total} items: ${parts.join(', ')}`;
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
    for (const [name, label] of TOGGLES) {
      const wrap = document.createElement('label');
      const input = document.createElement('input');
      input.type = 'checkbox';
      input.dataset.fault = name;
      input.addEventListener('change', () => switchFault(name, input.checked));
      wrap.append(input, label);
      box.append(wrap);
    }
  }
  for (const input of box.querySelectorAll('input')) input.checked = faults[input.dataset.fault] !== undefined;
}

async function switchFault(name, on) {
  const next = { ...faults };
  if (on) next[name] = TOGGLES.find(([n]) => n === name)[2];
  else delete next[name];
  await applyFaults(next);
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
