import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { RateLimits } from '../rate-limits.js';
import type { MessageStore } from '../store/messages.js';
import type { PresenceStore } from '../store/presence.js';
import type { RoomStore } from '../store/rooms.js';
import {
  joinSchema,
  messageSchema,
  parse,
  roomNameSchema,
  roomStatsQuerySchema,
  typingSchema,
  type AckEventName,
  type AckResult,
} from '../protocol.js';
import { socketRoom, type ChatServer, type ChatSocket } from './events.js';
import type { PresenceSync } from './presence-sync.js';
import type { RoomDirectory } from './room-directory.js';
import { listener } from './socket-tasks.js';

export interface ChatDeps {
  io: ChatServer;
  rooms: RoomStore;
  messages: MessageStore;
  presence: PresenceStore;
  sync: PresenceSync;
  directory: RoomDirectory;
  limits: RateLimits;
  metrics: Metrics;
  log: Logger;
}

/** A user's `typing: true` is forwarded at most this often per socket. */
const TYPING_INTERVAL_MS = 1000;
const WHO_LIMIT = 500;

/**
 * The chat events' listeners, built once per server and shared by every socket (each reads its
 * socket from `this`): an idle connection costs no closures of its own.
 */
export function createChatListeners(deps: ChatDeps): [event: string, fn: (...args: unknown[]) => void][] {
  const { rooms, messages, presence, sync, directory, limits, metrics } = deps;

  /** Moves the socket between rooms here and in the cluster-wide counts. */
  async function moveTo(socket: ChatSocket, room: string | null): Promise<void> {
    const from = socket.data.room;
    if (from === room) return;
    if (from) await socket.leave(socketRoom(from));
    if (room) await socket.join(socketRoom(room));
    socket.data.room = room;
    try {
      await presence.move(socket.data.user, from, room);
    } finally {
      sync.markRoom(from);
      sync.markRoom(room);
    }
  }

  /** One handler per acknowledged event; each resolves to that event's ack fields (protocol.ts). */
  const handlers: { [E in AckEventName]: (socket: ChatSocket, args: unknown[]) => Promise<AckResult<E>> } = {
    async 'create-room'(socket, [raw]) {
      const { user } = socket.data;
      const name = parse(roomNameSchema, raw);
      await limits.consume('room_create', user);
      const room = await rooms.create(name, user);
      deps.log.info({ room: name, user }, 'room created');
      await Promise.all([rooms.remember(user, room.name), directory.announce(room)]);
      return { room };
    },

    async 'join-room'(socket, [raw]) {
      const { room: asked, since, epoch } = parse(joinSchema, raw);
      // By identity: `weekend hiking` joins `Weekend Hiking` (text-rules.ts).
      const room = await rooms.resolve(asked);
      if (!room) throw new AppError('room_not_found', `No room named "${asked}".`);
      // Join before reading history: a message stored in between arrives live or in the history
      // (or both; clients drop a seq they already hold), never in neither. A re-join of the room the
      // socket is in (a client that noticed a gap) only reads history.
      await moveTo(socket, room);
      await rooms.remember(socket.data.user, room);
      const history = await metrics.time('history', () => messages.catchUp(room, since, epoch));
      if (since !== undefined) metrics.catchUps.inc({ recovered: String(history.recovered) });
      socket.emit('previous-messages', history.messages);
      const counts = await presence.counts([room]);
      return {
        room,
        latestSeq: history.latestSeq,
        epoch: history.epoch,
        recovered: history.recovered,
        count: counts.rooms.get(room) ?? 0,
      };
    },

    async 'leave-room'(socket) {
      await moveTo(socket, null);
      return {};
    },

    async message(socket, [raw]) {
      const { text, clientId } = parse(messageSchema, raw);
      const { room, user } = socket.data;
      if (!room) throw new AppError('not_in_room', 'Join a room first.');
      // The message rate limit is checked by the append script, in the same round trip.
      const appended = await metrics.time('append', () => messages.append(room, user, text, clientId));
      if (appended.retryAfterMs !== undefined) return limits.refuse('message', appended.retryAfterMs);
      const { message, duplicate } = appended;
      if (!duplicate) {
        socket.to(socketRoom(room)).emit('chat-message', message);
        metrics.messagesIn.inc();
        metrics.messagesOut.inc();
      }
      return { message, duplicate };
    },

    async 'list-rooms'(_socket, [raw]) {
      return directory.page(raw);
    },

    async who() {
      return { users: await presence.onlineUsers(WHO_LIMIT) };
    },

    /** The rooms asked for (`{ rooms }`, existing ones only) or, for any other payload, the newest rooms. */
    async 'room-stats'(_socket, [raw]) {
      const asked = roomStatsQuerySchema.safeParse(raw);
      const names =
        asked.success && asked.data
          ? (await rooms.byNames([...new Set(asked.data.rooms)])).map((r) => r.name)
          : await directory.newestNames();
      const [members, seqs] = await Promise.all([presence.roomMembers(names), messages.latestSeqs(names)]);
      return {
        rooms: names.map((name) => ({
          name,
          members: members.get(name) ?? 0,
          latestSeq: seqs.get(name) ?? 0,
        })),
      };
    },
  };

  const handlerDeps = { log: deps.log, metrics };
  const listeners: [string, (...args: unknown[]) => void][] = Object.entries(handlers).map(
    ([event, handler]) => [event, listener(event, handler, handlerDeps)],
  );

  // typing carries no ack and is not queued behind chat events: it is best-effort by nature.
  listeners.push([
    'typing',
    function (this: ChatSocket, raw: unknown) {
      const { room, user } = this.data;
      const parsed = typingSchema.safeParse(raw);
      if (!room || !parsed.success) return;
      const now = Date.now();
      if (parsed.data && now - this.data.lastTypingAt < TYPING_INTERVAL_MS) return;
      this.data.lastTypingAt = parsed.data ? now : 0;
      this.to(socketRoom(room)).emit('typing', { room, user, typing: parsed.data });
    } as (...args: unknown[]) => void,
  ]);
  return listeners;
}

/** Takes the socket out of the counts when it disconnects; marks the user offline after its last connection. */
export async function onChatDisconnect(
  socket: ChatSocket,
  deps: Pick<ChatDeps, 'presence' | 'sync'>,
): Promise<void> {
  const { user, room } = socket.data;
  try {
    const left = await deps.presence.disconnect(user, room);
    if (left === 0) deps.sync.userStatus(user, 'offline');
  } finally {
    deps.sync.markRoom(room);
    deps.sync.markOnline();
  }
}
