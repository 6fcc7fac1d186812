/**
 * Returns the element with this id; a missing id (or, with `type`, an element of another kind) is a
 * markup bug, so it fails loudly at start-up.
 * @template {HTMLElement} [T=HTMLElement]
 * @param {string} id
 * @param {{ new (): T }} [type]  e.g. HTMLInputElement
 * @returns {T}
 */
export function byId(id, type) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`Missing element #${id}`);
  if (type && !(node instanceof type)) throw new Error(`#${id} is not a ${type.name}`);
  return /** @type {T} */ (node);
}

/**
 * Creates an element with optional class names, text and attributes. Text always goes through
 * textContent, never through HTML parsing.
 * @param {string} tag
 * @param {{ className?: string, text?: string, attrs?: Record<string, string> }} [options]
 * @returns {HTMLElement}
 */
export function el(tag, { className, text, attrs } = {}) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attrs ?? {})) node.setAttribute(name, value);
  return node;
}

/**
 * Shows a message in a live region and clears it after `ms` (0 keeps it). Returns a function that
 * clears it early.
 * @param {HTMLElement} region
 * @param {string} text
 * @param {number} [ms]
 */
export function flash(region, text, ms = 0) {
  window.clearTimeout(Number(region.dataset.timer));
  region.textContent = text;
  region.hidden = text === '';
  if (ms > 0 && text) {
    region.dataset.timer = String(window.setTimeout(() => flash(region, ''), ms));
  }
}
