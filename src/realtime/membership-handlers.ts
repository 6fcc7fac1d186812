import { z } from 'zod';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import {
  deleteRoomSchema,
  dmName,
  memberChangeSchema,
  openDmSchema,
  parse,
  roomMembersQuerySchema,
  type AckResult,
  type Room,
} from '../protocol.js';
import type { RateLimits } from '../rate-limits.js';
import type { Access, MemberStore } from '../store/members.js';
import type { MessageChangeStore } from '../store/message-changes.js';
import type { PresenceStore } from '../store/presence.js';
import { isPublic, type RoomStore } from '../store/rooms.js';
import type { UserStore } from '../store/users.js';
import { DIRECTORY_SOCKETS, socketRoom, userSocketRoom, type ChatServer, type ChatSocket } from './events.js';
import type { PresenceSync } from './presence-sync.js';
import type { RoomDirectory } from './room-directory.js';
import { enqueue, roomChange } from './socket-tasks.js';

/** The client events of private rooms and DMs (issue 14); the rest are in chat-handlers.ts. */
export const MEMBERSHIP_EVENTS = [
  'open-dm',
  'invite',
  'remove-member',
  'room-members',
  'delete-room',
] as const;
export type MembershipEvent = (typeof MEMBERSHIP_EVENTS)[number];

export interface MembershipDeps {
  io: ChatServer;
  rooms: RoomStore;
  members: MemberStore;
  access: Access;
  users: Pick<UserStore, 'get'>;
  presence: PresenceStore;
  sync: PresenceSync;
  directory: RoomDirectory;
  limits: RateLimits;
  /** A deleted room's read markers and mentions are dropped (issue 14, store/message-changes.ts). */
  changes: Pick<MessageChangeStore, 'forgetRoom'>;
  /** Operators (config ADMIN_USERS, lower-cased): may remove members and delete any room. */
  adminUsers: ReadonlySet<string>;
  log: Logger;
}

const changeSchema = z.object({ room: z.string(), user: z.string().nullable() });

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/**
 * Private rooms and DMs (docs/protocol.md, "Private rooms and DMs"): the handlers of their events,
 * private creation, and taking sockets out of a room on every instance when a member is removed or
 * the room deleted. A removal reaches the member's sockets everywhere through the adapter at once:
 * `room-removed` to their user room, `socketsLeave` of the chat room (no more of its events), and
 * `membership-changed` so each instance clears its sockets' room and presence; the append script
 * refuses their messages from the moment the member set changed (store/messages.ts).
 */
export function createMembership(deps: MembershipDeps) {
  const { io, rooms, members, access, users, presence, sync, limits, log } = deps;
  const isOperator = (user: string) => deps.adminUsers.has(user.toLowerCase());

  /** The stored record of a room a client named; `room_not_found` when there is none. */
  async function find(asked: string): Promise<Room> {
    const name = await rooms.resolve(asked);
    const room = name === undefined ? undefined : await rooms.get(name);
    if (!room) throw new AppError('room_not_found', `No room named "${asked}".`);
    return room;
  }

  /**
   * Takes this instance's sockets out of `room`: those of `user`, or every socket in it when `user`
   * is null (deleted); with `openOnly`, only sockets that joined it as a public room, each told
   * `room-deleted` (a deletion this instance missed, see recheck). Leaves at once;
   * the room and presence are cleared in each socket's queue.
   */
  function dropLocal(room: string, user: string | null, openOnly = false): number {
    const nsp = io.of('/');
    const candidates =
      user === null
        ? [...nsp.sockets.values()]
        : [...(nsp.adapter.rooms.get(userSocketRoom(user)) ?? [])].map((id) => nsp.sockets.get(id));
    let dropped = 0;
    for (const socket of candidates) {
      if (!socket || socket.data.room !== room || (openOnly && socket.data.restricted)) continue;
      // Told one by one: members of a private room of that name share the adapter room.
      if (openOnly) socket.emit('room-deleted', { room });
      roomChange(socket.leave(socketRoom(room)), log, room);
      enqueue(socket, () => clearRoom(socket, room));
      dropped++;
    }
    return dropped;
  }

  async function clearRoom(socket: ChatSocket, room: string): Promise<void> {
    if (socket.data.room !== room) return;
    socket.data.room = null;
    socket.data.restricted = false;
    socket.data.revoked = room;
    try {
      await presence.move(socket.data.user, room, null);
    } catch (err) {
      log.debug({ err, room }, 'presence update after a removal failed');
    } finally {
      sync.markRoom(room);
    }
  }

  /** `user`'s sockets on every instance stop receiving `room` and learn it (`room-removed`). */
  function kick(room: string, user: string): void {
    io.to(userSocketRoom(user)).emit('room-removed', { room });
    io.in(userSocketRoom(user)).socketsLeave(socketRoom(room));
    io.serverSideEmit('membership-changed', { room, user });
    dropLocal(room, user);
  }

  /**
   * Pub/sub is at-most-once: a removal published while this instance's subscriber was down never
   * arrived. Every socket here in a private room or DM is checked against the members in Redis (one
   * ZSCORE per room and user, sent together); a socket whose user is no longer a member is told
   * `room-removed` and taken out as a removal would. Run after a re-subscribe and every
   * SEQ_NOTICE_MS (io.ts). Resolves to the sockets taken out; never rejects.
   */
  async function recheck(): Promise<number> {
    const pairs = new Map<string, { room: string; user: string }>();
    const open = new Set<string>();
    for (const socket of io.of('/').sockets.values()) {
      const { room, user, restricted } = socket.data;
      if (room && restricted) pairs.set(`${room}|${user.toLowerCase()}`, { room, user });
      else if (room) open.add(room);
    }
    let dropped = 0;
    try {
      // A public room deleted while this instance's pub/sub was down: its sockets are told and taken
      // out, before its name can serve a private room they would hear (one HMGET for all rooms).
      const stillPublic = new Set((await rooms.byNames([...open])).filter(isPublic).map((r) => r.name));
      for (const room of open) if (!stillPublic.has(room)) dropped += dropLocal(room, null, true);
      const checks = await Promise.all(
        [...pairs.values()].map(async (p) => ({ ...p, ok: await members.isMember(p.room, p.user) })),
      );
      for (const { room, user, ok } of checks) {
        if (ok) continue;
        io.local.to(userSocketRoom(user)).emit('room-removed', { room });
        dropped += dropLocal(room, user);
      }
      if (dropped > 0) log.info({ sockets: dropped }, 'sockets of removed members taken out on re-check');
    } catch (err) {
      log.warn({ err: String(err) }, 'membership re-check failed; retrying on the next tick');
    }
    return dropped;
  }

  /** Another instance removed a member or deleted a room. */
  function onRemoteChange(raw: unknown): void {
    const change = changeSchema.safeParse(raw);
    if (change.success) dropLocal(change.data.room, change.data.user);
  }

  const handlers: {
    [E in MembershipEvent]: (socket: ChatSocket, args: unknown[]) => Promise<AckResult<E>>;
  } = {
    async 'open-dm'(socket, [raw]) {
      const me = socket.data.user;
      const { user: asked } = parse(openDmSchema, raw);
      if (same(asked, me)) throw new AppError('invalid_payload', 'A direct message needs another person.');
      const other = await users.get(asked);
      if (!other) throw new AppError('not_found', `No user named "${asked}".`);
      const name = dmName(me, other.username);
      let room = await rooms.get(name);
      if (!room) {
        // Only a creation counts against the limit: re-opening an existing DM is free.
        await limits.consume('room_create', me);
        const pair = [me, other.username].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()));
        const fresh: Room = {
          name,
          createdBy: me,
          createdAt: new Date().toISOString(),
          visibility: 'dm',
          members: [pair[0] ?? me, pair[1] ?? other.username],
        };
        room = (await rooms.createDm(fresh)).room;
        log.info({ room: name, user: me }, 'direct message opened');
      }
      const [, otherAdded] = await Promise.all([members.add(name, me), members.add(name, other.username)]);
      await Promise.all([
        rooms.remember(me, name),
        otherAdded ? rooms.remember(other.username, name) : undefined,
      ]);
      // The other person sees it everywhere at once; the opener's other tabs too.
      if (otherAdded) io.to(userSocketRoom(other.username)).emit('room-added', room);
      socket.to(userSocketRoom(me)).emit('room-added', room);
      return { room };
    },

    async invite(socket, [raw]) {
      const me = socket.data.user;
      const { room: asked, user: invitee } = parse(memberChangeSchema, raw);
      const room = await find(asked);
      if (room.visibility !== 'private')
        throw new AppError('forbidden', 'Only private rooms take invitations.');
      if (!same(room.createdBy, me))
        throw new AppError('forbidden', "Only the room's owner invites members.");
      await limits.consume('invite', me);
      const other = await users.get(invitee);
      if (!other) throw new AppError('not_found', `No user named "${invitee}".`);
      const added = await members.add(room.name, other.username);
      await rooms.remember(other.username, room.name);
      if (added) {
        io.to(userSocketRoom(other.username)).emit('room-added', room);
        log.info({ room: room.name, user: me, member: other.username }, 'member invited');
      }
      return { room: room.name, user: other.username };
    },

    async 'remove-member'(socket, [raw]) {
      const me = socket.data.user;
      const { room: asked, user: target } = parse(memberChangeSchema, raw);
      const room = await find(asked);
      if (room.visibility !== 'private')
        throw new AppError('forbidden', 'Only private rooms have members to remove.');
      const self = same(target, me);
      const owner = same(room.createdBy, me);
      if (!self && !owner && !isOperator(me))
        throw new AppError('forbidden', "Only the room's owner or an operator removes members.");
      if (same(room.createdBy, target))
        throw new AppError('forbidden', 'The owner cannot leave or be removed; delete the room instead.');
      if (self && !isOperator(me) && !(await members.isMember(room.name, me)))
        throw new AppError('not_member', `You are not a member of "${room.name}".`);
      await members.remove(room.name, target);
      await rooms.forget(target, room.name);
      kick(room.name, target);
      log.info({ room: room.name, user: me, member: target }, 'member removed');
      return { room: room.name, user: target };
    },

    async 'room-members'(socket, [raw]) {
      const { room: asked, cursor, limit } = parse(roomMembersQuerySchema, raw);
      const room = await find(asked);
      await access.check(room.name, socket.data.user);
      // A public room has no member list: anyone may join it.
      if (isPublic(room)) return { members: [], next: null };
      return members.page(room.name, cursor ?? '', limit);
    },

    async 'delete-room'(socket, [raw]) {
      const me = socket.data.user;
      const { room: asked } = parse(deleteRoomSchema, raw);
      const room = await find(asked);
      if (!same(room.createdBy, me) && !isOperator(me))
        throw new AppError('forbidden', "Only the room's owner or an operator deletes it.");
      const name = room.name;
      const memberNames = isPublic(room) ? [] : await members.all(name);
      await rooms.delete(name);
      await members.purge(name);
      await deps.changes.forgetRoom(name);
      await Promise.all(
        [...new Set([room.createdBy.toLowerCase(), ...memberNames])].map((u) => rooms.forget(u, name)),
      );
      const told = isPublic(room) ? [DIRECTORY_SOCKETS] : memberNames.map(userSocketRoom);
      // The adapter delivers a cluster-wide broadcast here only after publishing it, by when this
      // instance's sockets have left the room below: they are told first, locally (may arrive twice).
      io.local.to(socketRoom(name)).emit('room-deleted', { room: name });
      io.to([socketRoom(name), ...told]).emit('room-deleted', { room: name });
      io.in(socketRoom(name)).socketsLeave(socketRoom(name));
      io.serverSideEmit('membership-changed', { room: name, user: null });
      dropLocal(name, null);
      if (isPublic(room)) await deps.directory.removed();
      log.info({ room: name, user: me }, 'room deleted');
      return {};
    },
  };

  return {
    handlers,
    onRemoteChange,
    recheck,

    /** A private room: listed nowhere, its owner its first member, announced to the owner's other sockets only. */
    async createPrivate(socket: ChatSocket, name: string): Promise<Room> {
      const { user } = socket.data;
      await limits.consume('room_create', user);
      const room = await rooms.create(name, user, 'private');
      await members.add(name, user);
      await rooms.remember(user, name);
      socket.to(userSocketRoom(user)).emit('room-added', room);
      log.info({ room: name, user }, 'private room created');
      return room;
    },
  };
}

export type Membership = ReturnType<typeof createMembership>;
