/** Type guards for untrusted socket payloads. */

/**
 * Whether a payload is a plain object (socket payloads are untrusted input).
 * @param {unknown} value
 * @returns {value is Record<string, unknown>}
 */
export function isObject(value) {
  return typeof value === 'object' && value !== null;
}
