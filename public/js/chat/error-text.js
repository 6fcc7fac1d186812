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

/**
 * Sentences for the codes of private conversations, edits and moderation (docs/protocol.md).
 * @type {Record<string, string>}
 */
const ACTION_CODES = {
  not_member: 'You are not a member of this conversation.',
  edit_window_passed: 'Too late: messages can be edited or deleted only for a while after sending.',
  suspended: 'This account is suspended.',
  member_limit: 'This room has reached its member limit.',
  forbidden: 'Only the room’s owner or an operator may do that.',
  room_not_found: 'That room does not exist any more.',
};

/**
 * A failure of an action on a room, a member or a message ("Could not edit the message: …").
 * @param {AnyFail | undefined} fail
 * @param {string} what  the action, e.g. "edit the message"
 */
export function actionError(fail, what) {
  if (fail?.code === 'rate_limited') return rateLimitText(fail, `Too many attempts to ${what}.`);
  const known = fail?.code ? ACTION_CODES[fail.code] : undefined;
  const reason = known ?? (fail?.error ? asSentence(fail.error) : 'Please try again.');
  return `Could not ${what}: ${reason}`;
}

/**
 * Why a room could not be opened, or null when the generic join text fits.
 * @param {AnyFail | undefined} fail
 * @param {string} shown  the room as the page names it
 */
export function accessError(fail, shown) {
  /** @type {string | undefined} codes of this issue may be newer than this page's types */
  const code = fail?.code;
  if (code === 'not_member') return `You are not a member of “${shown}” (any more).`;
  if (code === 'suspended') return ACTION_CODES.suspended ?? null;
  return null;
}
