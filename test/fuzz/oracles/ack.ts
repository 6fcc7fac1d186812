import type { SocketCase } from '../arbitraries/socket-events.js';
import {
  CLIENT_ID_RE,
  isErrorCode,
  MESSAGE_MAX,
  ROOM_NAME_MAX,
  SERVER_FAULT_CODES,
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
const EXPECTED: Record<string, readonly ErrorCode[]> = {
  'create-room': ['invalid_payload', 'room_exists', 'rate_limited'],
  'join-room': ['invalid_payload', 'room_not_found', 'rate_limited'],
  message: ['invalid_payload', 'not_in_room', 'rate_limited'],
  'leave-room': ['rate_limited'],
  who: ['rate_limited'],
  'room-stats': ['rate_limited'],
};

/** An accepted room name cannot reach other Redis keys or carry control characters. */
export function safeRoomName(name: unknown): boolean {
  if (typeof name !== 'string' || name !== name.trim()) return false;
  const length = [...name].length;
  return length >= 1 && length <= ROOM_NAME_MAX && !/[{}:|\p{Cc}]/u.test(name);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** The text with each lone surrogate replaced by U+FFFD (String.prototype.toWellFormed). */
export const wellFormed = (s: string): string => s.replace(LONE_SURROGATE, '\uFFFD');

/** Text the server must accept whatever its rules on invisible text: well-formed, short, visible ASCII. */
function surelyValidText(t: string): boolean {
  return wellFormed(t) === t && t.length <= MESSAGE_MAX && /[!-~]/.test(t);
}

/** Whether a message payload is one the server must accept (`yes`), must refuse (`no`), or may do either. */
export function messageVerdict(p: unknown): 'yes' | 'no' | 'either' {
  if (!isRecord(p) || typeof p.text !== 'string') return 'no';
  if (Object.prototype.hasOwnProperty.call(p, 'clientId')) {
    if (typeof p.clientId !== 'string' || !CLIENT_ID_RE.test(p.clientId)) return 'no';
  }
  if ([...p.text].length > MESSAGE_MAX || p.text.trim().length === 0) return 'no';
  return surelyValidText(p.text) ? 'yes' : 'either';
}

/** The stored text is the sent one, or its canonical form (lone surrogates replaced). */
export const sameText = (stored: unknown, sent: string) => stored === sent || stored === wellFormed(sent);

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
  const known = Object.prototype.hasOwnProperty.call(EXPECTED, c.event) ? EXPECTED[c.event] : undefined;
  const expected = known ?? ['invalid_payload'];
  if (code !== 'ok' && isErrorCode(code) && !expected.includes(code))
    problems.push(`${c.event} answered ${code}, expected ok or ${expected.join('/')}`);
  if (code === 'ok' && known === undefined) problems.push(`unknown event answered ${preview(answer)}`);
  if (code !== 'ok') {
    if (
      c.event === 'message' &&
      code === 'invalid_payload' &&
      messageVerdict(serverView(c.event, c.args)[0]) === 'yes'
    )
      problems.push('refused a valid message');
    return { code, problems };
  }
  // The handler's payload as it arrives (what JSON and the client's encoder leave of it).
  const payload = serverView(c.event, c.args)[0];
  switch (c.event) {
    case 'who':
      if (!Array.isArray(answer.users)) problems.push('no users[]');
      break;
    case 'room-stats':
      if (!Array.isArray(answer.rooms)) problems.push('no rooms[]');
      break;
    case 'create-room': {
      const room = answer.room;
      if (!isRecord(room) || !safeRoomName(room.name) || room.createdBy !== user)
        problems.push(`accepted room is unsafe or not ours: ${preview(room)}`);
      if (typeof payload !== 'string') problems.push('accepted a non-string room name');
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
      if (typeof payload !== 'string' && !isRecord(payload))
        problems.push(`joined with a ${typeof payload} payload`);
      break;
    case 'message': {
      const m = answer.message;
      if (!isRecord(m) || typeof m.seq !== 'number' || typeof answer.duplicate !== 'boolean') {
        problems.push(`malformed message ack: ${preview(answer)}`);
        break;
      }
      if (messageVerdict(payload) === 'no') problems.push(`accepted an invalid message: ${preview(answer)}`);
      if (m.sender !== user) problems.push(`sender ${preview(m.sender)} is not ${user}`);
      if (!safeRoomName(m.roomId)) problems.push(`message in an unsafe room ${preview(m.roomId)}`);
      if (
        answer.duplicate === false &&
        isRecord(payload) &&
        typeof payload.text === 'string' &&
        !sameText(m.text, payload.text)
      )
        problems.push('stored text differs from the sent text');
      break;
    }
    default:
      break;
  }
  return { code, problems };
}
