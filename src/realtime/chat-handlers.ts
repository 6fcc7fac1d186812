import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { RateLimits } from '../rate-limits.js';
import type { MessageStore } from '../store/messages.js';
import type { PresenceStore } from '../store/presence.js';
import type { Access, MemberStore } from '../store/members.js';
import { isPublic, type RoomStore } from '../store/rooms.js';
import type { MessageChangeStore } from '../store/message-changes.js';
import type { UserStore } from '../store/users.js';
import {
  createRoomSchema,
  joinSchema,
  messageSchema,
  parse,
  roomStatsQuerySchema,
  typingSchema,
  WHO_PAGE_MAX,
  whoQuerySchema,
  type AckEventName,
  type AckResult,
} from '../protocol.js';
import { socketRoom, type ChatServer, type ChatSocket } from './events.js';
import { createMembership, type Membership, type MembershipEvent } from './membership-handlers.js';
import { recordMentions, type ChangeEvent } from './message-change-handlers.js';
import type { PresenceSync } from './presence-sync.js';
import type { RoomDirectory } from './room-directory.js';
import type { ScriptFanout } from './script-fanout.js';
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
  // Issue 14: private rooms and DMs.
  members: MemberStore;
  access: Access;
  adminUsers: ReadonlySet<string>;
  /** Issue 14: mentions of a message (`@name`) are recorded per room per mentioned user. */
  changes: MessageChangeStore;
  users: Pick<UserStore, 'get'>;
  /** Set when the append script publishes a message itself (script-fanout.ts). */
  fanout?: ScriptFanout | undefined;
}

/** A user's `typing: true` is forwarded at most this often per socket. */
const TYPING_INTERVAL_MS = 1000;

/**
 * The chat events' listeners, built once per server and shared by every socket (each reads its
 * socket from `this`): an idle connection costs no closures of its own.
 */
export function createChatListeners(
  deps: ChatDeps,
  membership: Membership = createMembership(deps),
): [event: string, fn: (...args: unknown[]) => void][] {
  const { rooms, messages, presence, sync, directory, limits, metrics, access } = deps;

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
  const handlers: {
    [E in Exclude<AckEventName, MembershipEvent | ChangeEvent>]: (
      socket: ChatSocket,
      args: unknown[],
    ) => Promise<AckResult<E>>;
  } = {
    async 'create-room'(socket, [raw]) {
      const { user } = socket.data;
      const { name, visibility } = parse(createRoomSchema, raw);
      if (visibility === 'private') return { room: await membership.createPrivate(socket, name) };
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
      // Private rooms and DMs: members only, with or without `since` (issue 14).
      const restricted = !isPublic(await access.check(room, socket.data.user));
      socket.data.revoked = null;
      socket.data.restricted = restricted;
      // Join before reading history: a message stored in between arrives live or in the history
      // (or both; clients drop a seq they already hold), never in neither. A re-join of the room the
      // socket is in (a client that noticed a gap) only reads history.
      await moveTo(socket, room);
      // A removal between the check and the join must not leave the socket in the room.
      if (restricted && !(await deps.members.isMember(room, socket.data.user))) {
        await moveTo(socket, null);
        throw new AppError('not_member', `"${room}" is private and you are not a member.`);
      }
      await rooms.remember(socket.data.user, room);
      const history = await metrics.time('history', () => messages.catchUp(room, since, epoch));
      if (since !== undefined) metrics.catchUps.inc({ recovered: String(history.recovered) });
      socket.emit('previous-messages', history.messages);
      const members = await presence.roomMembers([room]);
      return {
        room,
        latestSeq: history.latestSeq,
        epoch: history.epoch,
        recovered: history.recovered,
        count: members.get(room) ?? 0,
      };
    },

    async 'leave-room'(socket) {
      socket.data.revoked = null;
      await moveTo(socket, null);
      return {};
    },

    async message(socket, [raw]) {
      const { text, clientId } = parse(messageSchema, raw);
      const { room, user, restricted, revoked } = socket.data;
      if (!room && revoked) throw new AppError('not_member', `You are no longer a member of "${revoked}".`);
      if (!room) throw new AppError('not_in_room', 'Join a room first.');
      // Taken out of the room by a removal on any instance (adapter socketsLeave): issue 14.
      if (!socket.rooms.has(socketRoom(room)))
        throw new AppError('not_member', `You are no longer a member of "${room}".`);
      // The message rate limit is checked by the append script, in the same round trip. So is the
      // publication to the other instances (script-fanout.ts), unless the text may mention someone:
      // mentions are recorded before anyone sees the message (issue 14, recordMentions).
      const mayMention = text.includes('@');
      const publish = mayMention
        ? undefined
        : deps.fanout?.parts('chat-message', socketRoom(room), socket.id, messages.slotKey(room));
      const appended = await metrics.time('append', () =>
        messages.append(room, user, text, clientId, restricted, publish),
      );
      if (appended.retryAfterMs !== undefined) return limits.refuse('message', appended.retryAfterMs);
      const { message, duplicate } = appended;
      if (!duplicate) {
        if (publish) {
          socket.local.to(socketRoom(room)).emit('chat-message', message);
        } else {
          if (mayMention) await recordMentions(deps, message);
          socket.to(socketRoom(room)).emit('chat-message', message);
        }
        metrics.messagesIn.inc();
        metrics.messagesOut.inc();
      }
      return { message, duplicate };
    },

    async 'list-rooms'(_socket, [raw]) {
      return directory.page(raw);
    },

    /** A page of online usernames (`{ cursor?, limit? }`; none = the first page), sorted within the page. */
    async who(_socket, [raw]) {
      const { cursor = '', limit } = parse(whoQuerySchema, raw) ?? { limit: WHO_PAGE_MAX };
      const page = await presence.page(cursor, limit);
      return { users: page.users.sort((a, b) => a.localeCompare(b)), next: page.next };
    },

    /**
     * The rooms asked for (`{ rooms }`, existing ones the user may read: private rooms of others are
     * left out as if missing) or, for any other payload, the newest (public) rooms.
     */
    async 'room-stats'(socket, [raw]) {
      const asked = roomStatsQuerySchema.safeParse(raw);
      const names =
        asked.success && asked.data
          ? await access.readable([...new Set(asked.data.rooms)], socket.data.user)
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
  const listeners: [string, (...args: unknown[]) => void][] = Object.entries({
    ...handlers,
    ...membership.handlers,
  }).map(([event, handler]) => [event, listener(event, handler, handlerDeps)]);

  // typing carries no ack and is not queued behind chat events: it is best-effort by nature.
  listeners.push([
    'typing',
    function (this: ChatSocket, raw: unknown) {
      const { room, user } = this.data;
      const parsed = typingSchema.safeParse(raw);
      // A socket taken out of the room (removed from a private room) is silent there (issue 14).
      if (!room || !parsed.success || !this.rooms.has(socketRoom(room))) return;
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
    deps.sync.markOnline(user);
  }
}
