/** Thrown when a request got no HTTP answer at all (offline, DNS, connection reset). */
export class NetworkError extends Error {}

/**
 * @typedef {object} JsonResult
 * @property {boolean} ok            2xx and the body does not say `success: false`
 * @property {number} status
 * @property {any} body              parsed JSON, or null when the body was not JSON (e.g. a proxy page)
 * @property {number | null} retryAfterSeconds  from `Retry-After`, else from `retryAfterMs`
 */

/**
 * fetch + JSON. Resolves for every HTTP status so callers branch on `status`/`body.code`; rejects
 * only with NetworkError.
 * @param {string} url
 * @param {{ method?: string, body?: unknown, headers?: Record<string, string> }} [options]
 * @returns {Promise<JsonResult>}
 */
export async function requestJson(url, { method = 'GET', body, headers = {} } = {}) {
  const init = {
    method,
    credentials: 'same-origin',
    cache: 'no-store',
    headers: { Accept: 'application/json', ...headers },
  };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (cause) {
    throw new NetworkError('The server could not be reached.', { cause });
  }
  const data = await response.json().catch(() => null);
  return {
    ok: response.ok && data?.success !== false,
    status: response.status,
    body: data,
    retryAfterSeconds: retryAfterSeconds(response, data),
  };
}

/** Seconds to wait from a 429: the header wins, the body's `retryAfterMs` is the fallback. */
function retryAfterSeconds(response, data) {
  const header = Number(response.headers.get('Retry-After'));
  if (Number.isFinite(header) && header > 0) return Math.ceil(header);
  const ms = Number(data?.retryAfterMs);
  return Number.isFinite(ms) && ms > 0 ? Math.ceil(ms / 1000) : null;
}

/** "1 second" / "5 seconds". */
export function seconds(n) {
  return `${n} second${n === 1 ? '' : 's'}`;
}
