import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { RateLimits } from '../rate-limits.js';
import type { MessageStore } from '../store/messages.js';
import type { PresenceStore } from '../store/presence.js';
import type { RoomStore } from '../store/rooms.js';
import { joinSchema, messageSchema, parse, roomNameSchema, typingSchema } from '../validation.js';
import { socketRoom, type ChatServer, type ChatSocket } from './events.js';
import type { PresenceSync } from './presence-sync.js';
import { on } from './socket-tasks.js';

export interface ChatDeps {
  io: ChatServer;
  rooms: RoomStore;
  messages: MessageStore;
  presence: PresenceStore;
  sync: PresenceSync;
  limits: RateLimits;
  metrics: Metrics;
  log: Logger;
}

/** A user's `typing: true` is forwarded at most this often per socket. */
const TYPING_INTERVAL_MS = 1000;
const WHO_LIMIT = 500;
const STATS_ROOM_LIMIT = 500;

/** Registers every chat event of one socket. Called synchronously on connection. */
export function registerChatHandlers(socket: ChatSocket, deps: ChatDeps): void {
  const { rooms, messages, presence, sync, limits, metrics } = deps;
  const user = socket.data.user;
  const handlerDeps = { log: deps.log, metrics };

  /** Moves the socket between rooms here and in the cluster-wide counts. */
  async function moveTo(room: string | null): Promise<void> {
    const from = socket.data.room;
    if (from === room) return;
    if (from) await socket.leave(socketRoom(from));
    if (room) await socket.join(socketRoom(room));
    socket.data.room = room;
    try {
      await presence.move(user, from, room);
    } finally {
      sync.markRoom(from);
      sync.markRoom(room);
    }
  }

  on(
    socket,
    'create-room',
    async ([raw]) => {
      const name = parse(roomNameSchema, raw);
      await limits.consume('room_create', user);
      const room = await rooms.create(name, user);
      deps.log.info({ room: name, user }, 'room created');
      deps.io.emit('update-rooms', await rooms.list());
      return { room };
    },
    handlerDeps,
  );

  on(
    socket,
    'join-room',
    async ([raw]) => {
      const { room, since } = parse(joinSchema, raw);
      if (!(await rooms.exists(room))) throw new AppError('room_not_found', `No room named "${room}".`);
      // Join before reading history: a message stored in between arrives live or in the history
      // (or both; clients drop a seq they already hold), never in neither.
      await moveTo(room);
      const history = await metrics.time('history', () => messages.catchUp(room, since));
      if (since !== undefined) metrics.catchUps.inc({ recovered: String(history.recovered) });
      socket.emit('previous-messages', history.messages);
      const counts = await presence.counts([room]);
      return {
        room,
        latestSeq: history.latestSeq,
        recovered: history.recovered,
        count: counts.rooms.get(room) ?? 0,
      };
    },
    handlerDeps,
  );

  on(
    socket,
    'leave-room',
    async () => {
      await moveTo(null);
    },
    handlerDeps,
  );

  on(
    socket,
    'message',
    async ([raw]) => {
      const { text, clientId } = parse(messageSchema, raw);
      const room = socket.data.room;
      if (!room) throw new AppError('not_in_room', 'Join a room first.');
      await limits.consume('message', user);
      const { message, duplicate } = await metrics.time('append', () =>
        messages.append(room, user, text, clientId),
      );
      if (!duplicate) {
        socket.to(socketRoom(room)).emit('chat-message', message);
        metrics.messagesIn.inc();
        metrics.messagesOut.inc();
      }
      return { message, duplicate };
    },
    handlerDeps,
  );

  // typing carries no ack and is not queued behind chat events: it is best-effort by nature.
  socket.on('typing', (raw: unknown) => {
    const room = socket.data.room;
    const parsed = typingSchema.safeParse(raw);
    if (!room || !parsed.success) return;
    const now = Date.now();
    if (parsed.data && now - socket.data.lastTypingAt < TYPING_INTERVAL_MS) return;
    socket.data.lastTypingAt = parsed.data ? now : 0;
    socket.to(socketRoom(room)).emit('typing', { room, user, typing: parsed.data });
  });

  on(socket, 'who', async () => ({ users: await presence.onlineUsers(WHO_LIMIT) }), handlerDeps);

  on(
    socket,
    'room-stats',
    async () => {
      const names = (await rooms.list()).slice(0, STATS_ROOM_LIMIT).map((r) => r.name);
      const [members, seqs] = await Promise.all([presence.roomMembers(names), messages.latestSeqs(names)]);
      return {
        rooms: names.map((name) => ({
          name,
          members: members.get(name) ?? 0,
          latestSeq: seqs.get(name) ?? 0,
        })),
      };
    },
    handlerDeps,
  );
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
