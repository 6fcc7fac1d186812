import type { SocketCase } from '../arbitraries/socket-events.js';
import {
  clientPayloadSchemas,
  createRoomSchema,
  isErrorCode,
  joinSchema,
  messageSchema,
  nameIdentity,
  ROOM_NAME_MAX,
  SERVER_FAULT_CODES,
  whoQuerySchema,
  type ClientEventName,
  type ErrorCode,
} from '../limits.js';
import { preview, serverView } from '../wire.js';

/**
 * The protocol's promises about an ack, checked for one fuzzed case: the shape, a known error code
 * with a human message, the codes each event may answer, and that what was accepted is safe.
 */

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The codes each event may answer besides success; unknown events answer invalid_payload only. */
/** What an edit or a deletion may answer (issue 14). */
const CHANGE_CODES: readonly ErrorCode[] = [
  'invalid_payload',
  'room_not_found',
  'not_member',
  'not_found',
  'forbidden',
  'edit_window_passed',
  'rate_limited',
];

// Keyed by the protocol's event list: an event added there without its codes here fails typecheck.
const EXPECTED: Record<Exclude<ClientEventName, 'typing'>, readonly ErrorCode[]> = {
  'create-room': ['invalid_payload', 'room_exists', 'rate_limited'],
  'join-room': ['invalid_payload', 'room_not_found', 'not_member', 'rate_limited'],
  message: ['invalid_payload', 'not_in_room', 'not_member', 'rate_limited'],
  'leave-room': ['rate_limited'],
  who: ['invalid_payload', 'rate_limited'],
  'room-stats': ['rate_limited'],
  'list-rooms': ['invalid_payload', 'rate_limited'],
  'open-dm': ['invalid_payload', 'not_found', 'rate_limited'],
  invite: ['invalid_payload', 'room_not_found', 'forbidden', 'not_found', 'member_limit', 'rate_limited'],
  'remove-member': ['invalid_payload', 'room_not_found', 'forbidden', 'not_member', 'rate_limited'],
  'room-members': ['invalid_payload', 'room_not_found', 'not_member', 'rate_limited'],
  'delete-room': ['invalid_payload', 'room_not_found', 'forbidden', 'rate_limited'],
  // Issue 14: message changes, read markers, moderation.
  'edit-message': CHANGE_CODES,
  'delete-message': CHANGE_CODES,
  'mark-read': ['invalid_payload', 'room_not_found', 'not_member', 'rate_limited'],
  unread: ['invalid_payload', 'rate_limited'],
  'suspend-user': ['invalid_payload', 'forbidden', 'not_found', 'rate_limited'],
};

/** An accepted room name cannot reach other Redis keys or carry control characters. */
export function safeRoomName(name: unknown): boolean {
  if (typeof name !== 'string' || name !== name.trim()) return false;
  const length = [...name].length;
  return length >= 1 && length <= ROOM_NAME_MAX && !/[{}:|\p{Cc}]/u.test(name);
}

/**
 * Problems with a text the server stored or named as canonical, stated with the platform's own
 * Unicode operations rather than the server's rule: it must be well-formed (UTF-8 round-trips it
 * unchanged; a lone surrogate would come back as U+FFFD), in Normalization Form C, and canonically
 * equivalent (UAX #15) to what was sent once that is made well-formed the way UTF-8 encoding does.
 * Catches a broken rule even when the expected value, taken from that rule, is broken the same way.
 */
export function canonicalProblems(what: string, stored: string, sent: string): string[] {
  const problems: string[] = [];
  if (Buffer.from(stored, 'utf8').toString('utf8') !== stored) problems.push(`${what} is not well-formed`);
  if (stored.normalize('NFC') !== stored) problems.push(`${what} is not in NFC`);
  const sentWellFormed = Buffer.from(sent, 'utf8').toString('utf8');
  if (stored.normalize('NFD') !== sentWellFormed.normalize('NFD'))
    problems.push(`${what} is not canonically equivalent to the sent text`);
  return problems;
}

/**
 * What the server must make of a message payload (as its handler receives it): the protocol's own
 * message schema's output (canonical text, clientId), or undefined when it must refuse it.
 */
export function expectedMessage(p: unknown): { text: string; clientId?: string } | undefined {
  const parsed = messageSchema.safeParse(p);
  return parsed.success ? parsed.data : undefined;
}

/** The room name create-room must store for a payload (the protocol's schema), or undefined: refused. */
export function expectedRoomName(p: unknown): string | undefined {
  const parsed = createRoomSchema.safeParse(p);
  return parsed.success ? parsed.data.name : undefined;
}

/** The payload schema of each event the oracle checks acceptance for: the protocol's own. */
const PAYLOAD_SCHEMAS: Readonly<Record<string, { safeParse(v: unknown): { success: boolean } }>> = {
  'create-room': createRoomSchema,
  'join-room': joinSchema,
  message: messageSchema,
  'open-dm': clientPayloadSchemas['open-dm'],
  invite: clientPayloadSchemas.invite,
  'remove-member': clientPayloadSchemas['remove-member'],
  'room-members': clientPayloadSchemas['room-members'],
  'delete-room': clientPayloadSchemas['delete-room'],
  who: whoQuerySchema,
};

/** Whether the protocol decides `event`'s payload with a schema (the others take none). */
const hasSchema = (event: string): boolean => Object.prototype.hasOwnProperty.call(PAYLOAD_SCHEMAS, event);

/** Whether the protocol's schema for `event` accepts `payload`; only for events with one. */
function accepts(event: string, payload: unknown): boolean {
  return PAYLOAD_SCHEMAS[event]?.safeParse(payload).success === true;
}

export interface AckVerdict {
  /** 'ok' or the error code (or '<malformed>'). */
  code: string;
  problems: string[];
}

/**
 * Checks one answered ack. `shapeOnly` for acks to raw packets, whose event is not known.
 */
export function checkAck(user: string, c: SocketCase, answer: unknown, shapeOnly = false): AckVerdict {
  const problems: string[] = [];
  if (!isRecord(answer) || typeof answer.success !== 'boolean')
    return { code: '<malformed>', problems: [`ack is not {success:boolean}: ${preview(answer)}`] };
  const code = answer.success ? 'ok' : String(answer.code);
  if (!answer.success) {
    if (!isErrorCode(answer.code) || typeof answer.error !== 'string')
      return { code, problems: [`failed ack without a known code and an error: ${preview(answer)}`] };
    if (SERVER_FAULT_CODES.includes(answer.code)) problems.push(`server fault ${code}: ${preview(answer)}`);
    if (code === 'rate_limited' && !(typeof answer.retryAfterMs === 'number' && answer.retryAfterMs > 0))
      problems.push(`rate_limited without retryAfterMs: ${preview(answer)}`);
  }
  if (shapeOnly) return { code, problems };
  const known = Object.prototype.hasOwnProperty.call(EXPECTED, c.event)
    ? (EXPECTED as Readonly<Record<string, readonly ErrorCode[]>>)[c.event]
    : undefined;
  const expected = known ?? ['invalid_payload'];
  if (code !== 'ok' && isErrorCode(code) && !expected.includes(code))
    problems.push(`${c.event} answered ${code}, expected ok or ${expected.join('/')}`);
  if (code === 'ok' && known === undefined) problems.push(`unknown event answered ${preview(answer)}`);
  // The handler's payload as it arrives (what JSON and the client's encoder leave of it).
  const payload = serverView(c.event, c.args)[0];
  if (code !== 'ok') {
    // invalid_payload exactly when the protocol's schema refuses the payload (other codes come later).
    if (code === 'invalid_payload' && hasSchema(c.event) && accepts(c.event, payload))
      problems.push(`refused a payload the protocol accepts: ${preview(payload)}`);
    // Every handler parses first: a payload the schema refuses is invalid_payload (or the queue's rate_limited).
    if (
      code !== 'invalid_payload' &&
      code !== 'rate_limited' &&
      hasSchema(c.event) &&
      !accepts(c.event, payload)
    )
      problems.push(`answered ${code} to a payload the protocol refuses: ${preview(payload)}`);
    return { code, problems };
  }
  if (hasSchema(c.event) && !accepts(c.event, payload))
    problems.push(`accepted a payload the protocol refuses: ${preview(payload)}`);
  switch (c.event) {
    case 'who':
      if (!Array.isArray(answer.users)) problems.push('no users[]');
      break;
    case 'room-stats':
      if (!Array.isArray(answer.rooms)) problems.push('no rooms[]');
      break;
    case 'create-room': {
      const room = answer.room;
      if (!isRecord(room) || !safeRoomName(room.name) || room.createdBy !== user) {
        problems.push(`accepted room is unsafe or not ours: ${preview(room)}`);
        break;
      }
      const expected = expectedRoomName(payload);
      if (room.name !== expected)
        problems.push(`room stored as ${preview(room.name)}, the protocol makes it ${preview(expected)}`);
      if (typeof room.name === 'string')
        problems.push(...canonicalProblems('the room name', room.name, room.name));
      break;
    }
    case 'join-room':
      if (
        !safeRoomName(answer.room) ||
        typeof answer.latestSeq !== 'number' ||
        typeof answer.recovered !== 'boolean' ||
        typeof answer.count !== 'number'
      )
        problems.push(`malformed join ack: ${preview(answer)}`);
      else {
        // Rooms are found by identity: the room joined is the one asked for, as its creator spelled it.
        const asked = joinSchema.safeParse(payload);
        if (asked.success && nameIdentity(String(answer.room)) !== nameIdentity(asked.data.room))
          problems.push(`asked for ${preview(asked.data.room)}, joined ${preview(answer.room)}`);
      }
      break;
    case 'message': {
      const m = answer.message;
      if (!isRecord(m) || typeof m.seq !== 'number' || typeof answer.duplicate !== 'boolean') {
        problems.push(`malformed message ack: ${preview(answer)}`);
        break;
      }
      if (m.sender !== user) problems.push(`sender ${preview(m.sender)} is not ${user}`);
      if (!safeRoomName(m.roomId)) problems.push(`message in an unsafe room ${preview(m.roomId)}`);
      const expected = expectedMessage(payload);
      if (answer.duplicate === false && expected !== undefined && isRecord(payload)) {
        if (m.text !== expected.text)
          problems.push(
            `stored text ${preview(m.text)} is not what the protocol makes of the sent one: ${preview(expected.text)}`,
          );
        if (typeof m.text === 'string' && typeof payload.text === 'string')
          problems.push(...canonicalProblems('the stored text', m.text, payload.text));
        if (m.clientId !== expected.clientId)
          problems.push(`clientId ${preview(m.clientId)}, sent ${preview(expected.clientId)}`);
      }
      break;
    }
    default:
      break;
  }
  return { code, problems };
}
