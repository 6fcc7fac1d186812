import { z } from 'zod';
import { AppError } from '../errors.js';
import { MEMBERS_MAX, type Room } from '../protocol.js';
import type { RedisClient } from '../redis/clients.js';
import type { Keys } from '../redis/keys.js';
import { LuaScript } from '../redis/script.js';
import { isPublic, type RoomStore } from './rooms.js';

/**
 * Adds a member unless the room holds ARGV[2] already (the cap, MEMBERS_MAX).
 * KEYS: roomMembers(room). ARGV: lower-cased username, cap. Returns 1 added, 0 a member already, -1 full.
 */
const ADD = new LuaScript(
  'members_add',
  `
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return -1 end
redis.call('ZADD', KEYS[1], 0, ARGV[1])
return 1
`,
  z.union([z.literal(-1), z.literal(0), z.literal(1)]),
);

/**
 * One page of members in name order, strictly after ARGV[1] ('' = from the start), at most ARGV[2].
 * KEYS: roomMembers(room). O(log n + limit).
 */
const PAGE = new LuaScript(
  'members_page',
  `
local min = '-'
if ARGV[1] ~= '' then min = '(' .. ARGV[1] end
return redis.call('ZRANGEBYLEX', KEYS[1], min, '+', 'LIMIT', 0, tonumber(ARGV[2]))
`,
  z.array(z.string()),
);

export type MemberStore = ReturnType<typeof createMemberStore>;

/**
 * Members of private rooms and DMs: a sorted set of lower-cased usernames (score 0, name order) in
 * the room's slot (keys.ts `roomMembers`), capped at MEMBERS_MAX (`member_limit`). The append
 * script reads the same key to refuse a message from a removed member (store/messages.ts).
 */
export function createMemberStore(redis: RedisClient, keys: Keys) {
  const id = (user: string) => user.toLowerCase();
  return {
    /** Adds `user`; true when added, false when a member already; `member_limit` when full. */
    async add(room: string, user: string): Promise<boolean> {
      const added = await ADD.run(redis, [keys.roomMembers(room)], [id(user), String(MEMBERS_MAX)]);
      if (added === -1)
        throw new AppError(
          'member_limit',
          `"${room}" has ${MEMBERS_MAX} members already, the most it may hold.`,
        );
      return added === 1;
    },

    /** Removes `user`; true when it was a member. */
    async remove(room: string, user: string): Promise<boolean> {
      return Number(await redis.zRem(keys.roomMembers(room), id(user))) === 1;
    },

    async isMember(room: string, user: string): Promise<boolean> {
      return (await redis.zScore(keys.roomMembers(room), id(user))) !== null;
    },

    /** One page of members (lower-cased names, in name order) after `cursor`; `next` null on the last. */
    async page(
      room: string,
      cursor: string,
      limit: number,
    ): Promise<{ members: string[]; next: string | null }> {
      const names = await PAGE.run(redis, [keys.roomMembers(room)], [cursor, String(limit + 1)]);
      const members = names.slice(0, limit);
      return { members, next: names.length > limit ? (members.at(-1) ?? null) : null };
    },

    /** Every member (at most MEMBERS_MAX): for telling them all that the room was deleted. */
    async all(room: string): Promise<string[]> {
      return redis.zRange(keys.roomMembers(room), 0, -1);
    },

    /** Deletes what a deleted room kept in its slot: messages, counter, epoch and members (one DEL). */
    async purge(room: string): Promise<void> {
      await redis.del([
        keys.roomMessages(room),
        keys.roomSeq(room),
        keys.roomEpoch(room),
        keys.roomMembers(room),
      ]);
    },
  };
}

export type Access = ReturnType<typeof createAccess>;

/**
 * Who may read and post in a room, decided on the server for every path (join with or without
 * `since`, message, typing, the history route, room-stats, room-members): everyone in a public
 * room, members only in a private room or DM (`not_member` else). Issue 14.
 */
export function createAccess(rooms: RoomStore, members: MemberStore) {
  /** Whether `user` may read `room` (a stored record). The owner always may (re-added if missing). */
  async function allowed(room: Room, user: string): Promise<boolean> {
    if (isPublic(room)) return true;
    if (await members.isMember(room.name, user)) return true;
    if (room.visibility === 'private' && room.createdBy.toLowerCase() === user.toLowerCase()) {
      // The creation wrote the record, then the owner's membership: heal a step lost in between.
      await members.add(room.name, user);
      return true;
    }
    return false;
  }

  return {
    allowed,

    /** The record of `name` (a stored name) when `user` may read it; `room_not_found` / `not_member` else. */
    async check(name: string, user: string): Promise<Room> {
      const room = await rooms.get(name);
      if (!room) throw new AppError('room_not_found', `No room named "${name}".`);
      if (!(await allowed(room, user)))
        throw new AppError('not_member', `"${name}" is private and you are not a member.`);
      return room;
    },

    /** The names among `names` (stored names) that `user` may read, in order; missing rooms left out. */
    async readable(names: readonly string[], user: string): Promise<string[]> {
      const found = await rooms.byNames(names);
      const ok = await Promise.all(found.map((r) => allowed(r, user)));
      return found.filter((_, i) => ok[i]).map((r) => r.name);
    },
  };
}
