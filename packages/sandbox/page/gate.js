// The page's "Balance gate" section: top up a customer, and make balance reads (derive) slow or
// fail, to see what an app's balance gate does. Self-contained (its own scope, requests and
// timer): it shares only the API key the page keeps in session storage.
'use strict';
(() => {
  const KEY_STORAGE = 'pacspace-sandbox-key';
  /** The derive switches: what each adds to `faults.derive`. */
  const SWITCHES = [
    ['latencyMs', 'Balance reads take 3 s', 3000],
    ['status', 'Balance reads fail (503)', 503],
  ];
  const $ = (id) => document.getElementById(id);
  let derive;
  /** Bumped by every switch: a poll or an earlier switch that ends after one must not undo it on screen. */
  let changes = 0;
  /** The switches not yet applied, one after the other: each reads and writes the whole fault set. */
  let switching = Promise.resolve();
  let unapplied = 0;

  async function call(method, path, body) {
    const headers = { 'x-api-key': sessionStorage.getItem(KEY_STORAGE) || '' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const json = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error((json.error && json.error.message) || `HTTP ${res.status}`);
    return json.data;
  }

  function renderSwitches() {
    const box = $('derive-toggles');
    if (box.childElementCount === 0) {
      for (const [field, label, value] of SWITCHES) {
        const wrap = document.createElement('label');
        const input = document.createElement('input');
        input.type = 'checkbox';
        input.dataset.deriveFault = field;
        input.addEventListener('change', () => switchDerive(field, input.checked ? value : undefined));
        wrap.append(input, label);
        box.append(wrap);
      }
    }
    for (const input of box.querySelectorAll('input')) input.checked = derive !== undefined && derive[input.dataset.deriveFault] !== undefined;
  }

  /**
   * Queues a switch. Two quick clicks must not both read the old fault set (the second would undo
   * the first), and a switch that ends after a later click must not redraw the boxes over it: only
   * the last one redraws.
   */
  function switchDerive(field, value) {
    const mine = ++changes;
    unapplied++;
    switching = switching
      .then(() => applyDerive(field, value))
      .then(() => {
        unapplied--;
        if (mine === changes) renderSwitches();
      });
  }

  async function applyDerive(field, value) {
    $('gate-error').textContent = '';
    try {
      const { faults } = await call('GET', '/_sandbox/faults');
      const next = { ...(faults.derive || {}) };
      if (value === undefined) delete next[field];
      else next[field] = value;
      if (Object.keys(next).length === 0) delete faults.derive;
      else faults.derive = next;
      derive = (await call('PUT', '/_sandbox/faults', faults)).faults.derive;
    } catch (err) {
      $('gate-error').textContent = err.message;
    }
  }

  async function refresh() {
    if ($('dashboard').hidden) return;
    const seen = changes;
    try {
      const current = (await call('GET', '/_sandbox/faults')).faults.derive;
      // A switch clicked meanwhile, or still on its way, knows better than this read.
      if (seen !== changes || unapplied > 0) return;
      derive = current;
      renderSwitches();
    } catch {
      // The page's own poll says when the sandbox cannot be reached.
    }
  }

  $('top-up-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    $('gate-error').textContent = '';
    const customerId = $('top-up-customer').value.trim();
    const amount = Number($('top-up-amount').value);
    try {
      const delta = await call('POST', '/_sandbox/top-up', { customerId, amount });
      $('top-up-result').textContent = `${delta.recordId}: ${customerId} ${amount > 0 ? '+' : ''}${amount} (${delta.status})`;
    } catch (err) {
      $('gate-error').textContent = err.message;
    }
  });
  setInterval(refresh, 1000);
  refresh();
})();
