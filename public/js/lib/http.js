/** Thrown when a request got no HTTP answer at all (offline, DNS, connection reset). */
export class NetworkError extends Error {}

/** @typedef {{ [key: string]: unknown }} JsonObject  an untrusted JSON object: read fields with checks */

/**
 * @typedef {object} JsonResult
 * @property {boolean} ok            2xx and the body does not say `success: false`
 * @property {number} status
 * @property {JsonObject | null} body  parsed JSON object, or null when the body was not one (e.g. a proxy page)
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
  /** @type {Record<string, string>} */
  const allHeaders = { Accept: 'application/json', ...headers };
  /** @type {RequestInit} */
  const init = { method, credentials: 'same-origin', cache: 'no-store', headers: allHeaders };
  if (body !== undefined) {
    allHeaders['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (cause) {
    throw new NetworkError('The server could not be reached.', { cause });
  }
  /** @type {unknown} */
  const parsed = await response.json().catch(() => null);
  const data = isJsonObject(parsed) ? parsed : null;
  return {
    ok: response.ok && data?.success !== false,
    status: response.status,
    body: data,
    retryAfterSeconds: retryAfterSeconds(response, data),
  };
}

/**
 * Seconds to wait from a 429: the header wins, the body's `retryAfterMs` is the fallback.
 * @param {Response} response
 * @param {JsonObject | null} data
 * @returns {number | null}
 */
function retryAfterSeconds(response, data) {
  const header = Number(response.headers.get('Retry-After'));
  if (Number.isFinite(header) && header > 0) return Math.ceil(header);
  const ms = Number(data?.retryAfterMs);
  return Number.isFinite(ms) && ms > 0 ? Math.ceil(ms / 1000) : null;
}

/**
 * Whether a parsed JSON value is an object whose fields can be read.
 * @param {unknown} value
 * @returns {value is JsonObject}
 */
export function isJsonObject(value) {
  return typeof value === 'object' && value !== null;
}

/**
 * "1 second" / "5 seconds".
 * @param {number} n
 */
export function seconds(n) {
  return `${n} second${n === 1 ? '' : 's'}`;
}
