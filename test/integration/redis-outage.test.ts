import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer as startRedis, type RedisProcess } from '../../tools/cluster/redis.js';
import type { Message } from '../../src/protocol.js';
import {
  connect,
  emitAck,
  eventually,
  getJson,
  nextEvent,
  signUp,
  startApp,
  type TestApp,
} from '../helpers/app.js';

let dir: string;
let redis: RedisProcess;
let a: TestApp;
let b: TestApp;
let c: TestApp;
let alice: { username: string; cookie: string; socket: Socket };
let bob: { username: string; cookie: string; socket: Socket };
const room = 'Outage room';

/** `<status> <body.status>` of /readyz, e.g. `200 ready`, `200 degraded`. */
async function ready(app: TestApp): Promise<string> {
  const res = await getJson(`${app.url}/readyz`);
  return `${res.status} ${String(res.body.status ?? res.body.code)}`;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'chat-outage-'));
  redis = await startRedis({ dir, appendonly: true });
  const env = { REDIS_URL: redis.url, RATE_LIMITS: 'on', RL_MESSAGE_BURST: '1000' };
  a = await startApp({ name: 'outage', env });
  b = await startApp({ name: 'outage', prefix: a.prefix, env });
  c = await startApp({ name: 'outage', prefix: a.prefix, env });
  const au = await signUp(a.url);
  const bu = await signUp(b.url);
  alice = { ...au, socket: await connect(a.url, au.cookie) };
  bob = { ...bu, socket: await connect(b.url, bu.cookie) };
  await emitAck(alice.socket, 'create-room', room);
  await emitAck(alice.socket, 'join-room', room);
  await emitAck(bob.socket, 'join-room', room);
  await emitAck(alice.socket, 'message', { text: 'before the outage' });
});

afterAll(async () => {
  alice?.socket.close();
  bob?.socket.close();
  await Promise.all([a?.close(), b?.close()]);
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('Redis goes away and comes back (AOF on)', () => {
  it('keeps instances up and ready (degraded), answers unavailable, then recovers by itself', async () => {
    await redis.stop();
    // Readiness stays 200: an outage every instance shares must not take them all out of the pool.
    await eventually(
      async () => (await ready(a)) === '200 degraded' && (await ready(b)) === '200 degraded',
      'readyz 200 degraded',
      10_000,
    );
    expect((await getJson(`${a.url}/healthz`)).status).toBe(200);

    const started = Date.now();
    expect(
      await emitAck(alice.socket, 'message', { text: 'lost?', clientId: 'during-outage' }),
    ).toMatchObject({
      success: false,
      code: 'unavailable',
    });
    expect(await emitAck(bob.socket, 'join-room', room)).toMatchObject({
      success: false,
      code: 'unavailable',
    });
    expect(Date.now() - started).toBeLessThan(3000);
    const login = await fetch(`${a.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: alice.username, password: 'password123' }),
    });
    expect(login.status).toBe(503);
    expect(alice.socket.connected && bob.socket.connected).toBe(true);
    // A shutdown while Redis is away still finishes, well inside SHUTDOWN_TIMEOUT_MS.
    const closing = Date.now();
    await c.close();
    expect(Date.now() - closing).toBeLessThan(5000);

    redis = await startRedis({ dir, appendonly: true, port: redis.port });
    await eventually(
      async () => (await ready(a)) === '200 ready' && (await ready(b)) === '200 ready',
      'ready again',
      15_000,
    );

    // Users, sessions, rooms and history survived; the retry of the unsent message is stored once.
    expect((await getJson(`${b.url}/auth/me`, alice.cookie)).status).toBe(200);
    const heard = nextEvent<Message>(
      bob.socket,
      'chat-message',
      (m) => m.clientId === 'during-outage',
      10_000,
    );
    const retry = await emitAck(alice.socket, 'message', { text: 'lost?', clientId: 'during-outage' });
    expect(retry).toMatchObject({ success: true, duplicate: false, message: { seq: 2 } });
    // The adapter re-subscribed: the live message crossed instances with no instance restarted.
    expect((await heard).seq).toBe(2);
    const page = await getJson(`${a.url}/api/rooms/${encodeURIComponent(room)}/messages`, alice.cookie);
    expect((page.body.messages as Message[]).map((m) => m.text)).toEqual(['lost?', 'before the outage']);
    expect((await emitAck(bob.socket, 'who')).users).toEqual(
      expect.arrayContaining([alice.username, bob.username]),
    );
  });

  it('never answers a cached ready once its Redis connection is known to be down', async () => {
    await eventually(async () => (await ready(a)) === '200 ready', 'ready', 15_000);
    // That answer is cached for a second; a restart inside that second must not look finished.
    await redis.kill('SIGKILL');
    await eventually(
      async () => (await emitAck(alice.socket, 'who')).code === 'unavailable',
      'the instance noticed the lost connection',
      5_000,
    );
    expect(await ready(a)).toBe('200 degraded');

    redis = await startRedis({ dir, appendonly: true, port: redis.port });
    await eventually(async () => (await ready(a)) === '200 ready', 'ready again', 15_000);
    expect((await emitAck(alice.socket, 'who')).success).toBe(true);
  });
});
