import type { RedisClient } from '../../src/redis/clients.js';
import type { Keys } from '../../src/redis/keys.js';
import type { Room } from '../../src/protocol.js';
import { nameIdentity } from '../../src/text-rules.js';

/** Rooms written per pipeline. */
const BATCH = 2000;

/** The seeded room number `i`: `Seeded room 000042`, 18 characters like a typical name. */
export const seededRoomName = (i: number) => `Seeded room ${String(i).padStart(6, '0')}`;

/**
 * Writes rooms `from` … `from + count - 1` straight into Redis, as the room store's create script
 * leaves them (rooms hash, identity index, directory, by-age index), pipelined for speed: 100,000
 * rooms take a few seconds. Creation times are one millisecond apart, oldest first.
 */
export async function seedRooms(redis: RedisClient, keys: Keys, count: number, from = 0): Promise<void> {
  const base = Date.now() - (from + count);
  for (let start = from; start < from + count; start += BATCH) {
    const multi = redis.multi();
    for (let i = start; i < Math.min(from + count, start + BATCH); i++) {
      const name = seededRoomName(i);
      const ms = base + i;
      const room: Room = { name, createdBy: 'seed', createdAt: new Date(ms).toISOString() };
      const identity = nameIdentity(name);
      multi.hSet(keys.rooms, name, JSON.stringify(room));
      multi.hSet(keys.roomIdentities, identity, name);
      multi.zAdd(keys.roomDirectory, { score: 0, value: identity });
      multi.zAdd(keys.roomsByAge, { score: ms, value: name });
    }
    await multi.execAsPipeline();
  }
}
