import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import {
  deleteMessageSchema,
  editMessageSchema,
  markReadSchema,
  parse,
  suspendUserSchema,
  unreadQuerySchema,
  type AckEventName,
  type AckResult,
  type Message,
  type Room,
} from '../protocol.js';
import type { RateLimits } from '../rate-limits.js';
import { mentionCandidates, type MessageChangeStore } from '../store/message-changes.js';
import type { MessageStore } from '../store/messages.js';
import type { ModerationStore } from '../store/moderation.js';
import type { RoomStore } from '../store/rooms.js';
import type { UserStore } from '../store/users.js';
import { socketRoom, userSocketRoom, type ChatServer, type ChatSocket } from './events.js';
import { listener } from './socket-tasks.js';

/**
 * Issue 14's socket events beside the chat events: `edit-message`, `delete-message` (stored in place,
 * told to the room as `message-updated` / `message-deleted` on every instance), `mark-read` and
 * `unread` (read markers and mentions per user), `suspend-user` (operators). docs/protocol.md.
 */
/**
 * Who may read a room: the private-rooms work's `Access` (members only in private rooms and DMs,
 * `not_member` else) fits this shape and, being in the realtime deps, reaches these handlers by
 * itself. Without it every existing room is readable.
 */
export interface RoomAccess {
  /** The room's record when `user` may read it; `room_not_found` / `not_member` else. */
  check(name: string, user: string): Promise<Room>;
  /** The names among `names` that exist and `user` may read, in order. */
  readable(names: readonly string[], user: string): Promise<string[]>;
}

export interface MessageChangeDeps {
  io: ChatServer;
  config: Pick<Readonly<Config>, 'adminUsers' | 'editWindowMs'>;
  rooms: RoomStore;
  messages: MessageStore;
  changes: MessageChangeStore;
  moderation: ModerationStore;
  users: Pick<UserStore, 'get'>;
  access?: RoomAccess;
  limits: RateLimits;
  metrics: Metrics;
  log: Logger;
}

/** The acknowledged events this module handles (chat-handlers.ts handles the others). */
export type ChangeEvent = Extract<
  AckEventName,
  'edit-message' | 'delete-message' | 'mark-read' | 'unread' | 'suspend-user'
>;

/** True for a user named in ADMIN_USERS (config.adminUsers holds lower-cased names). */
export const isOperator = (config: MessageChangeDeps['config'], user: string): boolean =>
  config.adminUsers.has(user.toLowerCase());

/**
 * Records the mentions of a stored message: its `@username` tokens (at most 10) that name existing
 * users other than the sender. A text without '@' costs nothing (no Redis command).
 */
export async function recordMentions(
  deps: Pick<MessageChangeDeps, 'changes' | 'users'>,
  message: Message,
): Promise<void> {
  const sender = message.sender.toLowerCase();
  const candidates = mentionCandidates(message.text).filter((u) => u !== sender);
  if (candidates.length === 0) return;
  const found = await Promise.all(candidates.map((u) => deps.users.get(u)));
  const existing = candidates.filter((_, i) => found[i] !== undefined);
  await deps.changes.recordMentions(message.roomId, message.seq, existing);
}

/** The listeners of issue 14's events, shared by every socket (each reads its socket from `this`). */
export function createMessageChangeListeners(
  deps: MessageChangeDeps,
): [event: string, fn: (...args: unknown[]) => void][] {
  const { io, config, rooms, changes, moderation, limits } = deps;

  /**
   * The record of the room a user names (by identity, like `join-room`) when they may read it:
   * `room_not_found` when there is none, `not_member` from `access` for a private room.
   */
  async function readableRoom(asked: string, user: string): Promise<Room> {
    const name = await rooms.resolve(asked);
    const record =
      name === undefined
        ? undefined
        : deps.access
          ? await deps.access.check(name, user)
          : (await rooms.byNames([name]))[0];
    if (!record) throw new AppError('room_not_found', `No room named "${asked}".`);
    return record;
  }

  /**
   * The sender's edits and deletions are allowed for messages stamped at or after this instant
   * (EDIT_WINDOW_MS = 0: never, so the cutoff lies beyond any timestamp).
   */
  const NEVER = new Date('9999-12-31T23:59:59.999Z');
  const cutoff = () => (config.editWindowMs === 0 ? NEVER : new Date(Date.now() - config.editWindowMs));

  const handlers: { [E in ChangeEvent]: (socket: ChatSocket, args: unknown[]) => Promise<AckResult<E>> } = {
    /**
     * The sender edits their message within EDIT_WINDOW_MS. The final state goes to the room as
     * `message-updated`, again on a retry (a retry after a crash between store and broadcast still
     * tells the room; clients replace by seq). Codes: room_not_found, not_member, not_found,
     * forbidden, edit_window_passed, rate_limited (the `message_change` limiter: RL_MESSAGE_BURST per 10 s).
     */
    async 'edit-message'(socket, [raw]) {
      const { room: asked, seq, text } = parse(editMessageSchema, raw);
      const { user } = socket.data;
      await limits.consume('message_change', user);
      const { name: room } = await readableRoom(asked, user);
      const { message, changed } = await changes.change(room, seq, user, { mode: 'edit', text }, cutoff());
      if (changed) {
        deps.log.info({ room, seq, user }, 'message edited');
        // The mentions become those of the new text: a name the edit took out no longer counts.
        await changes.dropMentions(room, seq);
        await recordMentions(deps, message);
      }
      socket.to(socketRoom(room)).emit('message-updated', message);
      return { message };
    },

    /**
     * The sender (within EDIT_WINDOW_MS), the room's owner (Room.createdBy; not of a DM) or an operator deletes a
     * message: it becomes a tombstone, told to the room as `message-deleted` (again on a retry).
     * Codes: room_not_found, not_member, not_found, forbidden, edit_window_passed, rate_limited.
     */
    async 'delete-message'(socket, [raw]) {
      const { room: asked, seq } = parse(deleteMessageSchema, raw);
      const { user } = socket.data;
      await limits.consume('message_change', user);
      const record = await readableRoom(asked, user);
      const room = record.name;
      // A DM has no owner: its `createdBy` is only who opened it, and may not moderate the other.
      const owner = record.visibility !== 'dm' && record.createdBy.toLowerCase() === user.toLowerCase();
      const privileged = isOperator(config, user) || owner;
      const { message, changed } = await changes.change(
        room,
        seq,
        user,
        { mode: 'delete', privileged },
        cutoff(),
      );
      if (changed) deps.log.info({ room, seq, user, by: message.sender }, 'message deleted');
      // A tombstone mentions nobody; also on a retry (a crash may have come between the two steps).
      await changes.dropMentions(room, seq);
      socket.to(socketRoom(room)).emit('message-deleted', { room, seq, id: message.id });
      return { message };
    },

    /**
     * Moves the user's read marker forward (clamped to the room's latest seq; never back) and tells
     * their other sockets on every instance (`read-marker`). Answers the stored marker.
     */
    async 'mark-read'(socket, [raw]) {
      const { room: asked, seq } = parse(markReadSchema, raw);
      const { user } = socket.data;
      const { name: room } = await readableRoom(asked, user);
      const latest = (await deps.messages.latestSeqs([room])).get(room) ?? 0;
      const { readSeq, moved } = await changes.markRead(user, room, Math.min(seq, latest));
      if (moved) socket.to(userSocketRoom(user)).emit('read-marker', { room, readSeq });
      return { room, readSeq };
    },

    /** Unread counts and mentions of the rooms asked or of the user's own rooms (those they may read). */
    async unread(socket, [raw]) {
      const query = parse(unreadQuerySchema, raw);
      const { user } = socket.data;
      const names = query?.rooms ? [...new Set(query.rooms)] : await changes.ownRooms(user);
      const readable = deps.access
        ? await deps.access.readable(names, user)
        : (await rooms.byNames(names)).map((r) => r.name);
      return { rooms: await changes.unread(user, readable) };
    },

    /**
     * An operator suspends (or reinstates) a user: the flag is stored, every session of the user is
     * deleted from the session store, and every socket of theirs on every instance is told
     * `suspended` and disconnected. Codes: forbidden (not an operator), not_found (no such user).
     */
    async 'suspend-user'(socket, [raw]) {
      const { user: asked, suspended } = parse(suspendUserSchema, raw);
      const { user } = socket.data;
      if (!isOperator(config, user)) throw new AppError('forbidden', 'Only an operator may suspend a user.');
      const target = await deps.users.get(asked);
      if (!target) throw new AppError('not_found', `No user named "${asked}".`);
      await moderation.setSuspended(target.username, suspended);
      if (suspended) {
        const ended = await moderation.endSessions(target.username);
        io.to(userSocketRoom(target.username)).emit('suspended', {});
        io.in(userSocketRoom(target.username)).disconnectSockets(true);
        deps.log.info({ user: target.username, by: user, sessions: ended.length }, 'user suspended');
      } else {
        deps.log.info({ user: target.username, by: user }, 'user reinstated');
      }
      return { user: target.username, suspended };
    },
  };

  const handlerDeps = { log: deps.log, metrics: deps.metrics };
  return Object.entries(handlers).map(([event, handler]) => [event, listener(event, handler, handlerDeps)]);
}
