import { byId, el } from './lib/dom.js';
import { isJsonObject, NetworkError, requestJson } from './lib/http.js';

/** @typedef {import('./lib/http.js').JsonObject} JsonObject */

const TOKEN_KEY = 'relay-chat.status-token';
const POLL_MS = 5000;
const STALE_AFTER_MS = 30_000;
const TOKEN_REQUIRED = 'Token required';
const TOKEN_WRONG = "That token is not accepted: check it against the server's METRICS_TOKEN.";
const STATUS_OFF = 'The status page is off on this server (no METRICS_TOKEN set).';

const form = byId('status-form', window.HTMLFormElement);
const tokenInput = byId('status-token', window.HTMLInputElement);
const forget = byId('status-forget');
const errorEl = byId('status-error');
const summary = byId('status-summary');
const table = byId('status-table', window.HTMLTableElement);
const tbody = table.tBodies[0] ?? table.createTBody();

let inFlight = false;

/**
 * "3d 4h", "2h 05m", "4m 09s", "12s".
 * @param {number} ms
 */
function formatDuration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(total / 86_400);
  const hours = Math.floor((total % 86_400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = total % 60;
  const pad = (/** @type {number} */ n) => String(n).padStart(2, '0');
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h ${pad(minutes)}m`;
  if (minutes > 0) return `${minutes}m ${pad(secs)}s`;
  return `${secs}s`;
}

/**
 * Accepts an ISO string or epoch milliseconds; null when neither.
 * @param {unknown} value
 */
function parseTime(value) {
  const date =
    typeof value === 'string' || typeof value === 'number'
      ? new Date(typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value)
      : new Date(NaN);
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * A table cell; `title` carries the exact value when the text is a rounded one.
 * @param {string} text
 * @param {{ className?: string, title?: string | undefined }} [options]
 */
function cell(text, { className, title } = {}) {
  const td = el('td', { text, className });
  if (title) td.title = title;
  return td;
}

/**
 * One instance's row; every field is checked, the answer is untrusted.
 * @param {JsonObject} instance  an InstanceInfo as the server sends it
 * @param {number} now
 */
function renderRow(instance, now) {
  const started = parseTime(instance.startedAt);
  const lastSeen = parseTime(instance.lastSeen);
  const stale = lastSeen !== null && now - lastSeen.getTime() > STALE_AFTER_MS;
  const row = el('tr', { className: stale ? 'stale' : '' });
  row.append(
    cell(String(instance.id ?? '?'), { className: 'instance-id' }),
    cell(String(instance.connections ?? '–'), { className: 'numeric' }),
    cell(String(instance.users ?? '–'), { className: 'numeric' }),
    cell(started ? started.toLocaleString() : '–', { title: started?.toISOString() }),
    cell(started ? formatDuration(now - started.getTime()) : '–'),
    cell(lastSeen ? `${formatDuration(now - lastSeen.getTime())} ago${stale ? ' (stale)' : ''}` : '–', {
      title: lastSeen?.toLocaleString(),
    }),
  );
  return row;
}

/** @param {JsonObject[]} instances */
function render(instances) {
  const now = Date.now();
  const sorted = [...instances].sort((a, b) => String(a.id).localeCompare(String(b.id)));
  tbody.replaceChildren(...sorted.map((instance) => renderRow(instance, now)));
  const connections = sorted.reduce((sum, i) => sum + (Number(i.connections) || 0), 0);
  summary.textContent = `${sorted.length} instance${sorted.length === 1 ? '' : 's'}, ${connections} connection${connections === 1 ? '' : 's'} · updated ${new Date(now).toLocaleTimeString()}`;
}

/** @param {string} text */
function showError(text) {
  errorEl.textContent = text;
  if (text) {
    tbody.replaceChildren();
    summary.textContent = '';
  }
}

async function poll() {
  const token = window.sessionStorage.getItem(TOKEN_KEY);
  if (!token) {
    showError(TOKEN_REQUIRED);
    return;
  }
  if (inFlight) return;
  inFlight = true;
  try {
    const result = await requestJson('/api/status', { headers: { Authorization: `Bearer ${token}` } });
    // A token was sent: a 401 means it is the wrong one, not a missing one.
    if (result.status === 401 || result.status === 403) {
      showError(TOKEN_WRONG);
      return;
    }
    if (result.status === 404) {
      showError(STATUS_OFF);
      return;
    }
    const instances = result.body?.instances;
    if (!result.ok || !Array.isArray(instances)) {
      const error = result.body?.error;
      showError((typeof error === 'string' && error) || `Status unavailable (HTTP ${result.status}).`);
      return;
    }
    showError('');
    render(instances.filter(isJsonObject));
    const proxy = result.body?.proxy;
    if (isJsonObject(proxy) && proxy.untrustedForwardedFor === true)
      summary.textContent += ` · Warning: ${typeof proxy.hint === 'string' ? proxy.hint : 'X-Forwarded-For from an untrusted peer'}`;
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error;
    showError('Could not reach the server.');
  } finally {
    inFlight = false;
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const token = tokenInput.value.trim();
  if (token) window.sessionStorage.setItem(TOKEN_KEY, token);
  else window.sessionStorage.removeItem(TOKEN_KEY);
  poll();
});

forget.addEventListener('click', () => {
  window.sessionStorage.removeItem(TOKEN_KEY);
  tokenInput.value = '';
  tokenInput.focus();
  poll();
});

tokenInput.value = window.sessionStorage.getItem(TOKEN_KEY) ?? '';
poll();
window.setInterval(poll, POLL_MS);
