/** Pure formatting helpers for the chat view (no socket, no state). */

const URL_CANDIDATE = /\bhttps?:\/\/[^\s<>"]+/gi;
const TRAILING_PUNCTUATION = /[.,;:!?'"\]}>]$/;
const FULL_DATE = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'medium' });

/**
 * Parses a timestamp; a missing or malformed one becomes "now" rather than "Invalid Date".
 * @param {string | number | undefined} value
 */
export function toDate(value) {
  const date = new Date(value ?? Date.now());
  return Number.isNaN(date.getTime()) ? new Date() : date;
}

/**
 * Local wall-clock time as HH:MM (24 h), independent of the locale's AM/PM habits.
 * @param {Date} date
 */
export function formatClock(date) {
  return `${String(date.getHours()).padStart(2, '0')}:${String(date.getMinutes()).padStart(2, '0')}`;
}

/**
 * Full local date and time for tooltips.
 * @param {Date} date
 */
export function formatFull(date) {
  return FULL_DATE.format(date);
}

/**
 * "alice is typing…", "alice and bob are typing…", "alice, bob and carol are typing…".
 * @param {string[]} names
 */
export function typingText(names) {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length > 3) return 'Several people are typing…';
  return `${names.slice(0, -1).join(', ')} and ${names.at(-1)} are typing…`;
}

/**
 * Escapes a string for use inside a RegExp (usernames may contain ".").
 * @param {string} text
 */
function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
}

/**
 * Whether `text` mentions `@username` (case-insensitive) as a whole name: "@al" does not mention
 * "alice", and "@alice." at the end of a sentence does.
 * @param {string} text
 * @param {string} username
 */
export function mentions(text, username) {
  if (!username) return false;
  const name = escapeRegExp(username);
  return new RegExp(`(^|[^A-Za-z0-9_.-])@${name}(?![A-Za-z0-9_-]|\\.[A-Za-z0-9_-])`, 'i').test(text);
}

/**
 * Drops sentence punctuation and an unbalanced closing parenthesis from the end of a URL.
 * @param {string} raw
 */
function trimUrl(raw) {
  let url = raw;
  for (;;) {
    if (TRAILING_PUNCTUATION.test(url)) {
      url = url.slice(0, -1);
    } else if (url.endsWith(')') && url.split('(').length < url.split(')').length) {
      url = url.slice(0, -1);
    } else {
      return url;
    }
  }
}

/**
 * The parsed URL when `raw` is a valid http(s) URL, otherwise null (javascript:, data:, junk).
 * @param {string} raw
 */
function safeHttpUrl(raw) {
  try {
    const url = new URL(raw);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : null;
  } catch {
    return null;
  }
}

/**
 * Splits message text into text nodes and <a> elements for http(s) links. Everything is built with
 * createTextNode/textContent, so markup in the text stays text.
 * @param {string} text
 * @returns {Node[]}
 */
export function linkify(text) {
  /** @type {Node[]} */
  const nodes = [];
  let cursor = 0;
  for (const match of text.matchAll(URL_CANDIDATE)) {
    const raw = trimUrl(match[0]);
    const url = safeHttpUrl(raw);
    if (!url) continue;
    if (match.index > cursor) nodes.push(document.createTextNode(text.slice(cursor, match.index)));
    const link = document.createElement('a');
    link.href = url.href;
    link.rel = 'noopener noreferrer';
    link.target = '_blank';
    link.textContent = raw;
    nodes.push(link);
    cursor = match.index + raw.length;
  }
  if (cursor < text.length) nodes.push(document.createTextNode(text.slice(cursor)));
  return nodes;
}

/** A client id for at-least-once sending; falls back for non-secure contexts without randomUUID. */
export function newClientId() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Usernames are unique without regard to case, so compare them that way.
 * @param {unknown} a
 * @param {unknown} b
 */
export function sameUser(a, b) {
  return typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase();
}

/**
 * Whether text has a character that renders: the server's rule (src/text-rules.ts `hasVisible`:
 * not White_Space, Default_Ignorable_Code_Point, a control or U+2800), so the composer can say
 * why it will not send instead of the server refusing it.
 */
const VISIBLE = /[^\p{White_Space}\p{Default_Ignorable_Code_Point}\p{Cc}\u2800]/u;

/** @param {string} text */
export function hasVisibleText(text) {
  return VISIBLE.test(text);
}
