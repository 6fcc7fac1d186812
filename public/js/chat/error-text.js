import { seconds } from '../lib/http.js';

/** @typedef {import('./types.js').Fail | import('./types.js').LocalFail} AnyFail */

/** Sentences for failures the chat page shows; the server's own text is preferred when it has one. */

const ROOM_NAME_RULES =
  "Room names are 1–64 characters of letters, digits, spaces and _ . - ' ! ? & ( ) #, starting with a letter or digit.";

/**
 * "room name is too long" → "Room name is too long."
 * @param {string} text
 */
function asSentence(text) {
  const trimmed = text.trim();
  const capitalised = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capitalised) ? capitalised : `${capitalised}.`;
}

/**
 * The server's rate-limit text, plus how long to wait when it says so.
 * @param {AnyFail | undefined} fail
 * @param {string} fallback
 */
export function rateLimitText(fail, fallback) {
  const ms = Number(fail?.retryAfterMs);
  const wait = ms > 0 ? ` (try again in ${seconds(Math.ceil(ms / 1000))})` : '';
  return `${fail?.error || fallback}${wait}`;
}

/**
 * A room-creation failure for #room-error.
 * @param {AnyFail | undefined} fail
 * @param {string} name
 */
export function roomCreationError(fail, name) {
  switch (fail?.code) {
    case 'room_exists':
      return `A room called “${name}” already exists.`;
    case 'invalid_payload':
      return fail.error ? asSentence(fail.error) : ROOM_NAME_RULES;
    case 'rate_limited':
      return rateLimitText(fail, 'You are creating rooms too quickly. Please wait a moment.');
  }
  return fail?.error || 'The room could not be created. Please try again.';
}

/**
 * A send failure for the notice area.
 * @param {AnyFail} fail
 */
export function sendError(fail) {
  return fail.code === 'rate_limited'
    ? rateLimitText(fail, 'You are sending messages too quickly.')
    : `Message not sent: ${fail.error || 'unknown error'}`;
}

/**
 * A join failure for the notice area.
 * @param {AnyFail | undefined} fail
 * @param {string} room
 */
export function joinError(fail, room) {
  return fail?.code === 'rate_limited'
    ? rateLimitText(fail, 'Too many room switches. Please wait a moment.')
    : `Could not join “${room}”: ${fail?.error || 'unknown error'}`;
}
