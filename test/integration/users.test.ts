import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { createKeys } from '../../src/redis/keys.js';
import { createPasswordHasher, type PasswordHasher } from '../../src/store/passwords.js';
import { createUserStore } from '../../src/store/users.js';
import { connect, eventually, postJson, startApp, type TestApp } from '../helpers/app.js';
import { uniquePrefix } from '../helpers/prefix.js';

/**
 * User records in per-user keys, and the migration from the original one-key `users` hash:
 * records written the old way sign in before and after the start-up migration, which copies each
 * once (SET NX: never over a newer per-user record), runs again as a no-op, and leaves the hash.
 */
let app: TestApp;
let passwords: PasswordHasher;

beforeAll(async () => {
  app = await startApp({ name: 'users' });
  passwords = createPasswordHasher({
    rounds: 4,
    log: createLogger({ instanceId: 'users-test', level: 'silent' }),
  });
});

afterAll(async () => {
  await passwords?.close();
  await app?.close();
});

/** A record as the original layout stored it, under the identity (lower-cased name). */
async function legacyRecord(username: string, password: string, status = 'offline') {
  const now = new Date().toISOString();
  return JSON.stringify({
    username,
    createdAt: now,
    passwordHash: await passwords.hash(password),
    status,
    lastSeen: now,
  });
}

describe('user records', () => {
  it('registers into a per-user key, on its own slot', async () => {
    const keys = createKeys(app.prefix);
    const res = await postJson(`${app.url}/auth/register`, { username: 'PerKey_1', password: 'password123' });
    expect(res.status).toBe(201);
    expect(await app.server.redis.data.hLen(keys.users)).toBe(0);
    const raw = await app.server.redis.data.get(keys.user('perkey_1'));
    expect(JSON.parse(raw ?? '{}')).toMatchObject({ username: 'PerKey_1', status: 'offline' });
  });

  it('migrates the legacy users hash once, idempotently, never over a newer record, reading it meanwhile', async () => {
    const keys = createKeys(uniquePrefix('users-migrate'));
    const redis = app.server.redis.data;
    const store = createUserStore(redis, keys, passwords);
    const names = Array.from({ length: 40 }, (_, i) => `Old_${i}`);
    for (const n of names)
      await redis.hSet(keys.users, n.toLowerCase(), await legacyRecord(n, `pw-${n}-secret`));

    // Before any migration: the old records sign in and their names are taken.
    await expect(store.verify('old_3', 'pw-Old_3-secret')).resolves.toMatchObject({ username: 'Old_3' });
    await expect(store.register('OLD_4', 'whatever-pass')).rejects.toMatchObject({ code: 'username_taken' });
    // A status change of a record still in the hash lands in its own key.
    await store.setStatus('Old_5', 'online');
    expect(await store.status('Old_5')).toMatchObject({ status: 'online' });

    // Old_3 (read) and Old_5 were copied already; the migration copies the other 38, never Old_5's newer status.
    expect(await store.migrate()).toBe(38);
    expect(await store.migrate()).toBe(0);
    expect(await store.status('Old_5')).toMatchObject({ status: 'online' });
    for (const n of names) expect(await redis.exists(keys.user(n.toLowerCase()))).toBe(1);
    expect(await redis.hLen(keys.users)).toBe(40);

    // A record added to the hash later (an old instance in a rolling upgrade) is copied by the next run.
    await redis.hSet(keys.users, 'late_1', await legacyRecord('Late_1', 'late-password'));
    expect(await store.migrate()).toBe(1);
    await expect(store.verify('Late_1', 'late-password')).resolves.toMatchObject({ username: 'Late_1' });
    await expect(store.verify('Late_1', 'wrong-password')).rejects.toMatchObject({
      code: 'invalid_credentials',
    });
  });

  it('signs in a legacy user through the app and keeps their status in the per-user record', async () => {
    const keys = createKeys(app.prefix);
    await app.server.redis.data.hSet(
      keys.users,
      'legacy_web',
      await legacyRecord('Legacy_web', 'legacy-password'),
    );
    const res = await postJson(`${app.url}/auth/login`, {
      username: 'Legacy_web',
      password: 'legacy-password',
    });
    expect(res.status).toBe(200);
    const socket = await connect(app.url, res.cookie);
    try {
      await eventually(async () => {
        const raw = await app.server.redis.data.get(keys.user('legacy_web'));
        return (JSON.parse(raw ?? '{}') as { status?: string }).status === 'online';
      }, 'status online in the per-user record');
    } finally {
      socket.close();
    }
  });
});
