import { z } from 'zod';
import { AppError } from '../errors.js';
import { roomSchema, type Room } from '../protocol.js';
import type { RedisClient } from '../redis/clients.js';
import type { Keys } from '../redis/keys.js';
import { LuaScript } from '../redis/script.js';
import { nameIdentity } from '../text-rules.js';

export type { Room };

/**
 * Creates a room only when neither its identity nor its exact name is taken, in one step: two
 * instances racing with `Weekend Hiking` and `weekend hiking` make exactly one room.
 * KEYS: rooms, roomIdentities. ARGV: name, identity, room JSON. Returns 1 when created.
 */
const CREATE = new LuaScript(
  'room_create',
  `
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return 0 end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
  return 0
end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
`,
  z.union([z.literal(0), z.literal(1)]),
);

/**
 * Indexes rooms created before the identity index existed: identity → name with HSETNX, oldest
 * room first, so an identity two old rooms share stays with the older one. Idempotent.
 * KEYS: roomIdentities. ARGV: identity1, name1, identity2, name2, …
 */
const BACKFILL = new LuaScript(
  'room_identity_backfill',
  `
local added = 0
for i = 1, #ARGV, 2 do
  added = added + redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1])
end
return added
`,
  z.number().int().min(0),
);

export type RoomStore = ReturnType<typeof createRoomStore>;

/**
 * Rooms in the `rooms` hash (name → JSON) plus an identity index (`nameIdentity(name)` → name):
 * names are unique by identity, displayed as their creator spelled them. Rooms from before the
 * index are indexed once per process, before its first create or look-up (see BACKFILL).
 */
export function createRoomStore(redis: RedisClient, keys: Keys) {
  let indexed: Promise<void> | undefined;

  async function readAll(): Promise<Room[]> {
    const all = await redis.hGetAll(keys.rooms);
    const rooms: Room[] = [];
    for (const raw of Object.values(all)) {
      const parsed = roomSchema.safeParse(JSON.parse(raw));
      if (parsed.success) rooms.push(parsed.data);
    }
    return rooms.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name));
  }

  async function backfill(): Promise<void> {
    const args = (await readAll()).flatMap((r) => [nameIdentity(r.name), r.name]);
    if (args.length > 0) await BACKFILL.run(redis, [keys.roomIdentities], args);
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
    /** Creates `name` (already a display name, see text-rules.ts); `room_exists` when its identity is taken. */
    async create(name: string, createdBy: string): Promise<Room> {
      await ensureIndexed();
      const room: Room = { name, createdBy, createdAt: new Date().toISOString() };
      const created = await CREATE.run(
        redis,
        [keys.rooms, keys.roomIdentities],
        [name, nameIdentity(name), JSON.stringify(room)],
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

    async exists(name: string): Promise<boolean> {
      return (await redis.hExists(keys.rooms, name)) === 1;
    },

    /** All rooms, oldest first. */
    list: readAll,

    /** Indexes rooms created before the identity index; called lazily, exposed for start-up. */
    ensureIndexed,
  };
}
