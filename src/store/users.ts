import { z } from 'zod';
import { AppError } from '../errors.js';
import type { PublicUser } from '../protocol.js';
import type { RedisClient } from '../redis/clients.js';
import type { Keys } from '../redis/keys.js';
import { LuaScript } from '../redis/script.js';
import { nameIdentity } from '../text-rules.js';
import type { PasswordHasher } from './passwords.js';

export type { PublicUser };

interface UserRecord extends PublicUser {
  passwordHash: string;
  status: 'online' | 'offline';
  lastSeen: string;
}

/** Updates status and lastSeen inside the JSON record atomically (no read-modify-write race). */
const SET_STATUS = new LuaScript(
  'set_status',
  `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local user = cjson.decode(raw)
user.status = ARGV[2]
user.lastSeen = ARGV[3]
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(user))
return 1
`,
  /** 1 when the user exists, 0 otherwise. */
  z.union([z.literal(0), z.literal(1)]),
);

function isUserRecord(v: unknown): v is UserRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r.username === 'string' && typeof r.passwordHash === 'string' && typeof r.createdAt === 'string'
  );
}

export type UserStore = ReturnType<typeof createUserStore>;

/**
 * Accounts in the `users` hash, keyed by the name's identity (text-rules.ts `nameIdentity`; for the
 * ASCII names usernameSchema admits, the lower-cased name) so variants cannot impersonate.
 */
export function createUserStore(redis: RedisClient, keys: Keys, passwords: PasswordHasher) {
  // Compared against when the user does not exist, so both failures take the same time.
  let dummyHash: Promise<string> | undefined;

  async function load(username: string): Promise<UserRecord | undefined> {
    const raw = await redis.hGet(keys.users, nameIdentity(username));
    if (!raw) return undefined;
    const parsed: unknown = JSON.parse(raw);
    return isUserRecord(parsed) ? parsed : undefined;
  }

  return {
    async register(username: string, password: string): Promise<PublicUser> {
      const field = nameIdentity(username);
      if (await redis.hExists(keys.users, field)) {
        throw new AppError('username_taken', 'That username is taken.');
      }
      const now = new Date().toISOString();
      const record: UserRecord = {
        username,
        createdAt: now,
        passwordHash: await passwords.hash(password),
        status: 'offline',
        lastSeen: now,
      };
      // HSETNX: two instances registering one name at once cannot both win.
      const created = await redis.hSetNX(keys.users, field, JSON.stringify(record));
      if (!created) throw new AppError('username_taken', 'That username is taken.');
      return { username, createdAt: now };
    },

    async verify(username: string, password: string): Promise<PublicUser> {
      const record = await load(username);
      dummyHash ??= passwords.hash('not-a-real-password');
      const ok = await passwords.compare(password, record?.passwordHash ?? (await dummyHash));
      if (!record || !ok) throw new AppError('invalid_credentials', 'Wrong username or password.');
      return { username: record.username, createdAt: record.createdAt };
    },

    async get(username: string): Promise<PublicUser | undefined> {
      const record = await load(username);
      return record ? { username: record.username, createdAt: record.createdAt } : undefined;
    },

    async setStatus(username: string, status: 'online' | 'offline'): Promise<void> {
      await SET_STATUS.run(redis, [keys.users], [nameIdentity(username), status, new Date().toISOString()]);
    },

    async status(username: string): Promise<{ status: string; lastSeen: string } | undefined> {
      const record = await load(username);
      return record ? { status: record.status, lastSeen: record.lastSeen } : undefined;
    },
  };
}
