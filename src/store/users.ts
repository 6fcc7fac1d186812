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

/**
 * Updates status and lastSeen inside the user's JSON record atomically (no read-modify-write race).
 * KEYS: user(identity). ARGV: status, ISO time.
 */
const SET_STATUS = new LuaScript(
  'set_status',
  `
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local user = cjson.decode(raw)
user.status = ARGV[1]
user.lastSeen = ARGV[2]
redis.call('SET', KEYS[1], cjson.encode(user))
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

/** Legacy records copied per HSCAN page (one SET NX each, in parallel: every key on its own slot). */
const MIGRATE_BATCH = 500;

/**
 * Accounts, one string key per user (`user:{identity}`) keyed by the name's identity (text-rules.ts
 * `nameIdentity`; for the ASCII names usernameSchema admits, the lower-cased name) so variants cannot
 * impersonate. Per-user keys spread over the cluster's slots: a status update on connect, a login,
 * `/auth/me` touch one user's key, never one hash every connection shares.
 * Records of the original `users` hash are migrated at start (`migrate`: SET NX, so a newer per-user
 * record is never overwritten; idempotent; skipped when the hash has not grown since the last run)
 * and, until then, on first read; a name the hash holds is taken. The hash itself is left in place,
 * read only, for a rollback.
 */
export function createUserStore(redis: RedisClient, keys: Keys, passwords: PasswordHasher) {
  // Compared against when the user does not exist, so both failures take the same time.
  let dummyHash: Promise<string> | undefined;

  function parseRecord(raw: string | null | undefined): UserRecord | undefined {
    if (!raw) return undefined;
    const parsed: unknown = JSON.parse(raw);
    return isUserRecord(parsed) ? parsed : undefined;
  }

  /** The record of `identity`: its own key, else the legacy hash's (copied to its own key). */
  async function load(username: string): Promise<UserRecord | undefined> {
    const identity = nameIdentity(username);
    const own = await redis.get(keys.user(identity));
    if (own) return parseRecord(own);
    const legacy = await redis.hGet(keys.users, identity);
    if (!legacy) return undefined;
    await redis.set(keys.user(identity), legacy, { condition: 'NX' });
    return parseRecord((await redis.get(keys.user(identity))) ?? legacy);
  }

  return {
    async register(username: string, password: string): Promise<PublicUser> {
      const identity = nameIdentity(username);
      const taken = async () =>
        (await redis.exists(keys.user(identity))) === 1 || (await redis.hExists(keys.users, identity)) === 1;
      if (await taken()) throw new AppError('username_taken', 'That username is taken.');
      const now = new Date().toISOString();
      const record: UserRecord = {
        username,
        createdAt: now,
        passwordHash: await passwords.hash(password),
        status: 'offline',
        lastSeen: now,
      };
      // SET NX: two instances registering one name at once cannot both win.
      const created = await redis.set(keys.user(identity), JSON.stringify(record), { condition: 'NX' });
      if (created === null) throw new AppError('username_taken', 'That username is taken.');
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

    /** One script on the user's own key; a record still only in the legacy hash is migrated first. */
    async setStatus(username: string, status: 'online' | 'offline'): Promise<void> {
      const key = keys.user(nameIdentity(username));
      const args = [status, new Date().toISOString()];
      if ((await SET_STATUS.run(redis, [key], args)) === 1) return;
      if (await load(username)) await SET_STATUS.run(redis, [key], args);
    },

    async status(username: string): Promise<{ status: string; lastSeen: string } | undefined> {
      const record = await load(username);
      return record ? { status: record.status, lastSeen: record.lastSeen } : undefined;
    },

    /**
     * Copies the legacy `users` hash to per-user keys (SET NX each). Idempotent; O(1) when the hash
     * has not grown since the last migration. Resolves to the number of records newly copied.
     */
    async migrate(): Promise<number> {
      const total = Number(await redis.hLen(keys.users));
      if (total === 0 || Number((await redis.get(keys.usersMigrated)) ?? -1) === total) return 0;
      let copied = 0;
      let cursor = '0';
      do {
        const reply = await redis.hScan(keys.users, cursor, { COUNT: MIGRATE_BATCH });
        cursor = String(reply.cursor);
        const done = await Promise.all(
          reply.entries.map((e) => redis.set(keys.user(e.field), e.value, { condition: 'NX' })),
        );
        copied += done.filter((r) => r !== null).length;
      } while (cursor !== '0');
      await redis.set(keys.usersMigrated, String(total));
      return copied;
    },
  };
}
