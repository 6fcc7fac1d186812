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
 * leaves them (rooms hash, identity index, directory, by-age index): four multi-field commands per
 * batch of 2,000 (no MULTI, so any topology's client serves), so 100,000 rooms take a few seconds.
 * Creation times are one millisecond apart, oldest first.
 */
export async function seedRooms(redis: RedisClient, keys: Keys, count: number, from = 0): Promise<void> {
  const base = Date.now() - (from + count);
  for (let start = from; start < from + count; start += BATCH) {
    const rooms: Record<string, string> = {};
    const identities: Record<string, string> = {};
    const directory: { score: number; value: string }[] = [];
    const byAge: { score: number; value: string }[] = [];
    for (let i = start; i < Math.min(from + count, start + BATCH); i++) {
      const name = seededRoomName(i);
      const ms = base + i;
      const room: Room = { name, createdBy: 'seed', createdAt: new Date(ms).toISOString() };
      const identity = nameIdentity(name);
      rooms[name] = JSON.stringify(room);
      identities[identity] = name;
      directory.push({ score: 0, value: identity });
      byAge.push({ score: ms, value: name });
    }
    await Promise.all([
      redis.hSet(keys.rooms, rooms),
      redis.hSet(keys.roomIdentities, identities),
      redis.zAdd(keys.roomDirectory, directory),
      redis.zAdd(keys.roomsByAge, byAge),
    ]);
  }
}
