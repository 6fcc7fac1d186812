import { z } from 'zod';
import { AppError } from '../errors.js';
import { MY_ROOMS_MAX, roomSchema, type Room, type RoomPage } from '../protocol.js';
import type { RedisClient } from '../redis/clients.js';
import type { Keys } from '../redis/keys.js';
import { LuaScript } from '../redis/script.js';
import { nameIdentity } from '../text-rules.js';

export type { Room };

/**
 * Creates a room only when neither its identity nor its exact name is taken, in one step: two
 * instances racing with `Weekend Hiking` and `weekend hiking` make exactly one room. The directory
 * (identity, for paging and prefix search) and the by-age index are written in the same step, so a
 * room is listed exactly when it exists.
 * A private room (ARGV[5] = '1') takes its identity too (one namespace) but goes into the hidden set
 * instead of the directory and the by-age index: it is never listed.
 * KEYS: rooms, roomIdentities, roomDirectory, roomsByAge, roomsHidden. ARGV: name, identity, room
 * JSON, created ms, hidden ('1' / '0'). Returns 1 when created.
 */
const CREATE = new LuaScript(
  'room_create',
  `
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return 0 end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
  if redis.call('SISMEMBER', KEYS[5], ARGV[1]) == 0 then redis.call('ZADD', KEYS[3], 0, ARGV[2]) end
  return 0
end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if ARGV[5] == '1' then
  redis.call('SADD', KEYS[5], ARGV[1])
  return 1
end
redis.call('ZADD', KEYS[3], 0, ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])
return 1
`,
  z.union([z.literal(0), z.literal(1)]),
);

/**
 * Creates a DM when it does not exist yet: the room record and the hidden set, no identity (DM names
 * cannot collide with room names) and no directory entry.
 * KEYS: rooms, roomsHidden. ARGV: name, room JSON. Returns the stored JSON (the existing one on a repeat)
 * and 1 when created here.
 */
const CREATE_DM = new LuaScript(
  'room_create_dm',
  `
local prev = redis.call('HGET', KEYS[1], ARGV[1])
if prev then return {prev, 0} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
return {ARGV[2], 1}
`,
  z.tuple([z.string(), z.union([z.literal(0), z.literal(1)])]),
);

/**
 * Takes a room out of every index in one step: the record, its identity (when it maps to this
 * name), the directory (when no other room holds the identity), by age and the hidden set.
 * KEYS: rooms, roomIdentities, roomDirectory, roomsByAge, roomsHidden. ARGV: name, identity.
 * Returns 1 when the room existed.
 */
const DELETE = new LuaScript(
  'room_delete',
  `
local existed = redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HGET', KEYS[2], ARGV[2]) == ARGV[1] then
  redis.call('HDEL', KEYS[2], ARGV[2])
  redis.call('ZREM', KEYS[3], ARGV[2])
end
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('SREM', KEYS[5], ARGV[1])
return existed
`,
  z.union([z.literal(0), z.literal(1)]),
);

/**
 * Indexes rooms created before the identity index and the directory existed: identity → name with
 * HSETNX, oldest room first, so an identity two old rooms share stays with the older one; every
 * identity into the directory and every room into the by-age index. Idempotent.
 * KEYS: roomIdentities, roomDirectory, roomsByAge. ARGV: identity1, name1, ms1, identity2, …
 */
const BACKFILL = new LuaScript(
  'room_identity_backfill',
  `
local added = 0
for i = 1, #ARGV, 3 do
  added = added + redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1])
  redis.call('ZADD', KEYS[2], 0, ARGV[i])
  redis.call('ZADD', KEYS[3], ARGV[i + 2], ARGV[i + 1])
end
return added
`,
  z.number().int().min(0),
);

/**
 * Records a room in a user's own rooms (newest first) and trims them to the newest ARGV[3].
 * KEYS: userRooms(user). ARGV: room, ms, max.
 */
const REMEMBER = new LuaScript(
  'user_rooms_remember',
  `
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[3]) + 1))
return 1
`,
  z.number().int(),
);

/**
 * One directory page in one round trip: identities from `q` (a prefix; '' = all) strictly after
 * `cursor` ('' = from the start), at most `limit`, each with its room JSON ('' when missing).
 * Cost O(log n + limit). KEYS: roomDirectory, roomIdentities, rooms. ARGV: q, cursor, limit.
 * Returns [identity1, json1, identity2, json2, …].
 */
const PAGE = new LuaScript(
  'room_directory_page',
  `
local min = '-'
local max = '+'
if ARGV[1] ~= '' then
  min = '[' .. ARGV[1]
  max = '[' .. ARGV[1] .. '\\255'
end
if ARGV[2] ~= '' and ARGV[2] >= ARGV[1] then min = '(' .. ARGV[2] end
local ids = redis.call('ZRANGEBYLEX', KEYS[1], min, max, 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local name = redis.call('HGET', KEYS[2], id)
  local json = false
  if name then json = redis.call('HGET', KEYS[3], name) end
  out[#out + 1] = id
  out[#out + 1] = json or ''
end
return out
`,
  z.array(z.string()),
);

/** Rooms backfilled per script call (bounded ARGV). */
const BACKFILL_BATCH = 1000;

/** A stored room JSON, or undefined when missing or foreign. */
function parseRoom(raw: string | null | undefined): Room | undefined {
  if (!raw) return undefined;
  try {
    const parsed = roomSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Public rooms: every room stored before issue 14 (no visibility) and the ones created public. */
export const isPublic = (room: Room): boolean => (room.visibility ?? 'public') === 'public';

export type RoomStore = ReturnType<typeof createRoomStore>;

/**
 * Rooms in the `rooms` hash (name → JSON) plus an identity index (`nameIdentity(name)` → name):
 * names are unique by identity, displayed as their creator spelled them. The directory (a sorted
 * set of identities) pages and prefix-searches in O(log n + page); the by-age index gives the newest
 * rooms; each user's own rooms are a capped sorted set. Rooms from before these indexes are indexed
 * once per process, before its first create, look-up or page (see BACKFILL); a process whose
 * indexes are complete (as many rooms by age as rooms) reads no room list at all.
 */
export function createRoomStore(redis: RedisClient, keys: Keys) {
  let indexed: Promise<void> | undefined;

  async function readAll(): Promise<Room[]> {
    const all = await redis.hGetAll(keys.rooms);
    const rooms = Object.values(all)
      .map(parseRoom)
      .filter((r): r is Room => r !== undefined);
    return rooms.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name));
  }

  async function backfill(): Promise<void> {
    const [total, indexed, hidden] = await Promise.all([
      redis.hLen(keys.rooms),
      redis.zCard(keys.roomsByAge),
      redis.sCard(keys.roomsHidden),
    ]);
    if (Number(total) === Number(indexed) + Number(hidden)) return;
    // Private rooms and DMs are never listed (issue 14).
    const all = (await readAll()).filter(isPublic);
    for (let i = 0; i < all.length; i += BACKFILL_BATCH) {
      const args = all
        .slice(i, i + BACKFILL_BATCH)
        .flatMap((r) => [nameIdentity(r.name), r.name, String(Date.parse(r.createdAt) || 0)]);
      await BACKFILL.run(redis, [keys.roomIdentities, keys.roomDirectory, keys.roomsByAge], args);
    }
  }

  /** Rooms of `names` in that order, skipping names with no room (one HMGET). */
  async function byNames(names: readonly string[]): Promise<Room[]> {
    if (names.length === 0) return [];
    const raws = await redis.hmGet(keys.rooms, [...names]);
    return raws.map(parseRoom).filter((r): r is Room => r !== undefined);
  }

  /** Runs the backfill once per process; a failure is retried by the next caller. */
  function ensureIndexed(): Promise<void> {
    indexed ??= backfill().catch((err: unknown) => {
      indexed = undefined;
      throw err;
    });
    return indexed;
  }

  return {
    /**
     * Creates `name` (already a display name, see text-rules.ts), public (listed) or private (listed
     * nowhere; its owner is `createdBy`); `room_exists` when its identity is taken.
     */
    async create(
      name: string,
      createdBy: string,
      visibility: 'public' | 'private' = 'public',
    ): Promise<Room> {
      await ensureIndexed();
      const now = new Date();
      const room: Room = { name, createdBy, createdAt: now.toISOString() };
      if (visibility === 'private') room.visibility = 'private';
      const created = await CREATE.run(
        redis,
        [keys.rooms, keys.roomIdentities, keys.roomDirectory, keys.roomsByAge, keys.roomsHidden],
        [
          name,
          nameIdentity(name),
          JSON.stringify(room),
          String(now.getTime()),
          visibility === 'private' ? '1' : '0',
        ],
      );
      if (created !== 1) throw new AppError('room_exists', `A room named "${name}" already exists.`);
      return room;
    },

    /**
     * The stored name of the room `name` stands for: the exact name when such a room exists (rooms
     * that collided before the index stay reachable), else the room with the same identity.
     */
    async resolve(name: string): Promise<string | undefined> {
      if ((await redis.hExists(keys.rooms, name)) === 1) return name;
      await ensureIndexed();
      return (await redis.hGet(keys.roomIdentities, nameIdentity(name))) ?? undefined;
    },

    /** The stored record of the room `name` exactly (no identity look-up), or undefined. */
    async get(name: string): Promise<Room | undefined> {
      return parseRoom(await redis.hGet(keys.rooms, name));
    },

    /**
     * The DM `room` (a DM record, protocol.ts dmName) as stored: the existing one on a repeat.
     * `created` is true when this call made it.
     */
    async createDm(room: Room): Promise<{ room: Room; created: boolean }> {
      const [raw, created] = await CREATE_DM.run(
        redis,
        [keys.rooms, keys.roomsHidden],
        [room.name, JSON.stringify(room)],
      );
      return { room: parseRoom(raw) ?? room, created: created === 1 };
    },

    /** Takes `name` out of every room index (see DELETE); false when it did not exist. */
    async delete(name: string): Promise<boolean> {
      await ensureIndexed();
      const removed = await DELETE.run(
        redis,
        [keys.rooms, keys.roomIdentities, keys.roomDirectory, keys.roomsByAge, keys.roomsHidden],
        [name, nameIdentity(name)],
      );
      return removed === 1;
    },

    /** Drops `room` from a user's own rooms (removed from a private room, or the room deleted). */
    async forget(user: string, room: string): Promise<void> {
      await redis.zRem(keys.userRooms(user), room);
    },

    async exists(name: string): Promise<boolean> {
      return (await redis.hExists(keys.rooms, name)) === 1;
    },

    /** All rooms, oldest first: O(n), for maintenance and tests only, never on a request path. */
    list: readAll,

    /**
     * One directory page: rooms whose name identity starts with the identity of `q`, in identity
     * order, after `cursor` (the `next` of the previous page). O(log n + limit), one round trip.
     */
    async page(q: string, cursor: string, limit: number): Promise<RoomPage> {
      await ensureIndexed();
      const prefix = q === '' ? '' : nameIdentity(q);
      const flat = await PAGE.run(
        redis,
        [keys.roomDirectory, keys.roomIdentities, keys.rooms],
        [prefix, cursor, String(limit + 1)],
      );
      const rooms: Room[] = [];
      let next: string | null = null;
      for (let i = 0; i + 1 < flat.length; i += 2) {
        if (i / 2 === limit) break;
        const room = parseRoom(flat[i + 1]);
        if (room) rooms.push(room);
        next = flat[i] ?? null;
      }
      return { rooms, next: flat.length > limit * 2 ? next : null };
    },

    /** The newest `count` rooms, oldest first: O(log n + count), two round trips. */
    async newest(count: number): Promise<Room[]> {
      await ensureIndexed();
      const names = await redis.zRange(keys.roomsByAge, 0, count - 1, { REV: true });
      return (await byNames(names)).reverse();
    },

    /** Rooms of `names` that exist, in that order (one HMGET). */
    byNames,

    /** Records that `user` joined or created `room` (newest first, capped at MY_ROOMS_MAX); one round trip. */
    async remember(user: string, room: string): Promise<void> {
      await REMEMBER.run(redis, [keys.userRooms(user)], [room, String(Date.now()), String(MY_ROOMS_MAX)]);
    },

    /** The user's rooms, most recently joined first, at most MY_ROOMS_MAX: O(log n + MY_ROOMS_MAX). */
    async mine(user: string): Promise<Room[]> {
      const names = await redis.zRange(keys.userRooms(user), 0, MY_ROOMS_MAX - 1, { REV: true });
      return byNames(names);
    },

    /** Indexes rooms created before the identity index; called lazily, exposed for start-up. */
    ensureIndexed,
  };
}
