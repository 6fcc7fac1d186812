import { AppError } from '../errors.js';
import { roomSchema, type Room } from '../protocol.js';
import type { RedisClient } from '../redis/clients.js';
import type { Keys } from '../redis/keys.js';

export type { Room };

export type RoomStore = ReturnType<typeof createRoomStore>;

/** Rooms in the `rooms` hash. Creation is one HSETNX: the tutorial's HEXISTS-then-HSET raced. */
export function createRoomStore(redis: RedisClient, keys: Keys) {
  return {
    async create(name: string, createdBy: string): Promise<Room> {
      const room: Room = { name, createdBy, createdAt: new Date().toISOString() };
      const created = await redis.hSetNX(keys.rooms, name, JSON.stringify(room));
      if (!created) throw new AppError('room_exists', `A room named "${name}" already exists.`);
      return room;
    },

    async exists(name: string): Promise<boolean> {
      return (await redis.hExists(keys.rooms, name)) === 1;
    },

    /** All rooms, oldest first. */
    async list(): Promise<Room[]> {
      const all = await redis.hGetAll(keys.rooms);
      const rooms: Room[] = [];
      for (const raw of Object.values(all)) {
        const parsed = roomSchema.safeParse(JSON.parse(raw));
        if (parsed.success) rooms.push(parsed.data);
      }
      return rooms.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name));
    },
  };
}
