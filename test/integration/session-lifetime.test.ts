import type { Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { createKeys } from '../../src/redis/keys.js';
import { nodeClientFor } from '../helpers/redis.js';
import { connect, emitAck, eventually, getJson, signUp, startApp, type TestApp } from '../helpers/app.js';

/** Sessions live 4 s; the instances check their sockets' sessions every 200 ms. */
const ENV = { SESSION_TTL_S: '4', SESSION_SWEEP_MS: '200' };
const TTL_MS = 4000;

let a: TestApp;
let b: TestApp;
const sockets: Socket[] = [];

/** The session id inside a `chat.sid=s%3A<id>.<signature>` cookie. */
function sessionId(cookie: string): string {
  const value = decodeURIComponent(cookie.split('=')[1] ?? '');
  return value.slice(2, value.lastIndexOf('.'));
}

async function chatter(app: TestApp) {
  const { username, cookie } = await signUp(app.url);
  const socket = await connect(app.url, cookie);
  sockets.push(socket);
  return { username, cookie, socket };
}

beforeAll(async () => {
  a = await startApp({ name: 'session-life', env: ENV });
  b = await startApp({ name: 'session-life', prefix: a.prefix, env: ENV });
});
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
});

describe('session lifetime and open sockets', () => {
  it('keeps the session of someone chatting only over the socket alive past its TTL', async () => {
    const alice = await chatter(a);
    // Every command Redis runs on this session's key, to count the renewals.
    const sessionKey = `${createKeys(a.prefix).sessions}${sessionId(alice.cookie)}`;
    const monitor = await nodeClientFor(inject('redisUrl'), inject('redisEnv').REDIS_MODE ?? '', sessionKey);
    onTestFinished(async () => {
      if (monitor.isOpen) await monitor.close();
    });
    const touches: string[] = [];
    await monitor.monitor((line) => {
      const text = String(line);
      if (/"expire"/i.test(text) && text.includes(sessionKey)) touches.push(text);
    });
    const room = `Alive ${Date.now()}`;
    await emitAck(alice.socket, 'create-room', room);
    await emitAck(alice.socket, 'join-room', room);
    const startedAt = Date.now();
    const until = startedAt + TTL_MS * 1.75;
    let sent = 0;
    while (Date.now() < until) {
      expect(await emitAck(alice.socket, 'message', { text: `still here ${++sent}` })).toMatchObject({
        success: true,
      });
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(alice.socket.connected).toBe(true);
    const renewals = touches.length; // before the HTTP request below, which renews it too
    const elapsed = Date.now() - startedAt;
    expect((await getJson(`${b.url}/auth/me`, alice.cookie)).status).toBe(200);
    // The session is renewed at most once per TTL/4 (1 s here), not once per message.
    expect(sent).toBeGreaterThan(20);
    expect(renewals).toBeGreaterThan(0);
    expect(renewals).toBeLessThanOrEqual(Math.ceil(elapsed / (TTL_MS / 4)) + 1);
    expect(renewals).toBeLessThan(sent / 2);
  });

  it('stops the sockets of a session that expired while idle, and refuses them again', async () => {
    const idle = await chatter(a);
    const there = await connect(b.url, idle.cookie);
    sockets.push(there);
    const started = Date.now();
    await eventually(() => !idle.socket.connected && !there.connected, 'both sockets stopped', TTL_MS * 3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(TTL_MS - 500);
    await expect(connect(a.url, idle.cookie)).rejects.toThrow('unauthorized');
  });

  it('stops every socket of a session that ends in the store, on every instance, within seconds', async () => {
    const bob = await chatter(a);
    const there = await connect(b.url, bob.cookie);
    sockets.push(there);
    const other = await chatter(b);
    await a.server.redis.data.del(`${createKeys(a.prefix).sessions}${sessionId(bob.cookie)}`);
    await eventually(() => !bob.socket.connected && !there.connected, 'ended session stopped', 3000);
    expect(other.socket.connected).toBe(true);
  });
});
