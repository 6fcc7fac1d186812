import fc from 'fast-check';
import { CLIENT_EVENTS, MESSAGE_MAX, ROOM_NAME_MAX } from '../limits.js';
import { FIELD_TEXTS, unicodeText } from './unicode.js';
import { hostileValue, mutateObject, perturbString } from './values.js';

/**
 * Socket.IO events as a signed-in client emits them: every client event and unknown ones, with a
 * valid, near-valid or hostile payload, extra arguments, and an ack function, none, or a
 * non-function in its place.
 */

/** Events no handler knows (socket.io-client refuses its reserved names, so those go raw). */
export const UNKNOWN_EVENTS: readonly string[] = [
  ...['', 'x', 'error', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'update-rooms'],
  ...['chat-message', 'previous-messages', 'onlineUsers', 'room-users', 'presence', 'logout'],
  ...['connection', 'a:b', '{tag}', '*', 'CREATE-ROOM', 'Message', 'message ', ' who', 'join-room\u0000'],
  ...['who\uD800', 'room-stats'.repeat(30), 'ping', 'pong'],
];

/** How a case is emitted: with an ack function, without one, or with a non-function in its place. */
export type AckMode = 'ack' | 'none' | 'non-function';

export interface SocketCase {
  event: string;
  args: unknown[];
  mode: AckMode;
}

export interface SocketContext {
  /** Rooms that exist (created before the run). */
  rooms: readonly string[];
  /** Names create-room may try: a fixed pool, so repeats collide (room_exists) instead of piling up. */
  newRooms: readonly string[];
}

function payloadOf(event: string, ctx: SocketContext): fc.Arbitrary<unknown> {
  const hostile = hostileValue();
  const room = fc.constantFrom(...ctx.rooms);
  switch (event) {
    case 'create-room': {
      const name = fc.constantFrom(...ctx.newRooms);
      return fc.oneof(
        { weight: 3, arbitrary: name },
        { weight: 4, arbitrary: perturbString(name) },
        { weight: 1, arbitrary: perturbString(room) },
        { weight: 1, arbitrary: unicodeText() },
        { weight: 1, arbitrary: mutateObject(fc.record({ name })) },
        {
          weight: 1,
          arbitrary: fc.constantFrom(ROOM_NAME_MAX, ROOM_NAME_MAX + 1, 256, 257).map((n) => 'R'.repeat(n)),
        },
        { weight: 2, arbitrary: hostile },
      );
    }
    case 'join-room': {
      const since = fc.constantFrom(0, 1, 5, 40, 1000, Number.MAX_SAFE_INTEGER);
      return fc.oneof(
        { weight: 3, arbitrary: room },
        { weight: 2, arbitrary: perturbString(room) },
        { weight: 2, arbitrary: mutateObject(fc.record({ room })) },
        { weight: 3, arbitrary: mutateObject(fc.record({ room, since })) },
        { weight: 3, arbitrary: hostile },
      );
    }
    case 'message': {
      const text = fc.oneof(
        { weight: 4, arbitrary: fc.nat(1e6).map((n) => `fuzz ${n}`) },
        { weight: 2, arbitrary: unicodeText() },
        { weight: 1, arbitrary: fc.constantFrom(...FIELD_TEXTS) },
        {
          weight: 1,
          arbitrary: fc.constantFrom(MESSAGE_MAX - 1, MESSAGE_MAX, MESSAGE_MAX + 1).map((n) => 'm'.repeat(n)),
        },
      );
      const clientId = fc.oneof(
        fc.nat(50).map((n) => `c${n}`),
        fc.constantFrom('a'.repeat(64), 'A-b_9'),
      );
      const valid = fc.record({ text, clientId }, { requiredKeys: ['text'] });
      return fc.oneof({ weight: 3, arbitrary: mutateObject(valid) }, { weight: 2, arbitrary: hostile });
    }
    // Issue 14: message changes, read markers, moderation.
    case 'edit-message':
    case 'delete-message':
    case 'mark-read': {
      const seq = fc.constantFrom<unknown>(0, 1, 2, 5, 1000, -1, 1.5, '1', Number.MAX_SAFE_INTEGER + 1);
      const text = fc.oneof(
        fc.nat(1e6).map((n) => `edit ${n}`),
        unicodeText(),
        fc.constantFrom(...FIELD_TEXTS),
      );
      const valid = event === 'edit-message' ? fc.record({ room, seq, text }) : fc.record({ room, seq });
      return fc.oneof({ weight: 3, arbitrary: mutateObject(valid) }, { weight: 1, arbitrary: hostile });
    }
    case 'unread':
      return fc.oneof(
        fc.constant<unknown>(undefined),
        mutateObject(fc.record({ rooms: fc.array(room, { maxLength: 3 }) })),
        hostile,
      );
    case 'suspend-user': {
      const user = fc.constantFrom<unknown>('nobody_here', 'a', 'x'.repeat(33), 'Alice');
      return fc.oneof(mutateObject(fc.record({ user, suspended: fc.boolean() })), hostile);
    }
    // Issue 14. Valid-looking payloads name the shared rooms (public: invite and remove-member answer
    // forbidden, room-members no members) or users that do not exist; delete-room only names rooms of
    // the create-room pool, which a fuzzing user may own and delete (the shared rooms are not theirs).
    case 'open-dm': {
      const user = fc.constantFrom('nobody_here', 'NoBody.Here', 'ab', 'x'.repeat(33), '@alice+bob');
      return fc.oneof(
        { weight: 3, arbitrary: mutateObject(fc.record({ user })) },
        { weight: 2, arbitrary: hostile },
      );
    }
    case 'invite':
    case 'remove-member': {
      const user = fc.constantFrom('nobody_here', 'ab', '@alice+bob');
      return fc.oneof(
        { weight: 3, arbitrary: mutateObject(fc.record({ room, user })) },
        { weight: 1, arbitrary: mutateObject(fc.record({ room: fc.constant('@alice+bob'), user })) },
        { weight: 2, arbitrary: hostile },
      );
    }
    case 'room-members': {
      const query = fc.record(
        {
          room,
          cursor: fc.constantFrom('a', 'zz', '{x}', ''),
          limit: fc.constantFrom(0, 1, 100, 1000, 1001),
        },
        { requiredKeys: ['room'] },
      );
      return fc.oneof({ weight: 3, arbitrary: mutateObject(query) }, { weight: 2, arbitrary: hostile });
    }
    case 'delete-room': {
      const own = fc.constantFrom(...ctx.newRooms);
      return fc.oneof(
        { weight: 3, arbitrary: mutateObject(fc.record({ room: own })) },
        { weight: 2, arbitrary: hostile },
      );
    }
    case 'typing':
      return fc.oneof(
        fc.constantFrom<unknown>(true, false, 'true', 1, 0, null, [true], { typing: true }),
        hostile,
      );
    default:
      return hostile;
  }
}

const NO_PAYLOAD: readonly string[] = ['leave-room', 'who', 'room-stats'];

/** The payload argument(s) of `event`: events without a payload sometimes get one anyway. */
function argsOf(event: string, ctx: SocketContext): fc.Arbitrary<unknown[]> {
  if (NO_PAYLOAD.includes(event))
    return fc.oneof(
      fc.constant<unknown[]>([]),
      hostileValue().map((v) => [v]),
    );
  return payloadOf(event, ctx).map((p) => [p]);
}

export function socketCase(ctx: SocketContext): fc.Arbitrary<SocketCase> {
  const event = fc.oneof(
    { weight: 3, arbitrary: fc.constant('create-room') },
    { weight: 5, arbitrary: fc.constant('join-room') },
    { weight: 6, arbitrary: fc.constant('message') },
    { weight: 5, arbitrary: fc.constantFrom(...CLIENT_EVENTS) },
    { weight: 2, arbitrary: fc.constantFrom(...UNKNOWN_EVENTS) },
  );
  const extra = fc.oneof(
    { weight: 8, arbitrary: fc.constant<unknown[]>([]) },
    { weight: 1, arbitrary: fc.array(hostileValue(), { minLength: 1, maxLength: 3 }) },
  );
  const nonFunction = fc.constantFrom<unknown>('ack', 0, null, {}, [], true, 'function () {}');
  const ackMode: fc.Arbitrary<AckMode> = fc.oneof(
    { weight: 86, arbitrary: fc.constant('ack' as const) },
    { weight: 8, arbitrary: fc.constant('none' as const) },
    { weight: 6, arbitrary: fc.constant('non-function' as const) },
  );
  const typingMode = fc.constantFrom<AckMode>('none', 'none', 'non-function');
  // Built once per event (not per case): building the payload arbitraries is the costly part.
  const known = new Map(CLIENT_EVENTS.map((e): [string, fc.Arbitrary<unknown[]>] => [e, argsOf(e, ctx)]));
  const unknown = argsOf('unknown', ctx);
  return event.chain((e) =>
    fc
      .record({
        args: known.get(e) ?? unknown,
        extra,
        mode: e === 'typing' ? typingMode : ackMode,
        filler: nonFunction,
      })
      .map(({ args, extra: more, mode, filler }) => ({
        event: e,
        args: [...args, ...more, ...(mode === 'non-function' ? [filler] : [])],
        mode,
      })),
  );
}
