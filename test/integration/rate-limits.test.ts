import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, emitAck, postJson, signUp, startApp, uniqueUser, type TestApp } from '../helpers/app.js';

let a: TestApp;
let b: TestApp;

const LIMITS = {
  RATE_LIMITS: 'on',
  RL_LOGIN_PER_USER: '3',
  RL_LOGIN_PER_IP: '1000',
  RL_REGISTER_PER_IP: '1000',
  RL_MESSAGE_BURST: '3',
  RL_MESSAGE_PER_S: '1',
  RL_ROOM_CREATE_PER_MIN: '2',
  RL_CONNECT_PER_IP_PER_MIN: '1000',
};

beforeAll(async () => {
  a = await startApp({ name: 'limits', env: LIMITS });
  b = await startApp({ name: 'limits', prefix: a.prefix, env: LIMITS });
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
});

describe('rate limits shared by all instances', () => {
  it('locks an account after failed logins on any instance, with Retry-After', async () => {
    const username = uniqueUser('Brute');
    await postJson(`${a.url}/auth/register`, { username, password: 'password123' });
    for (const url of [a.url, b.url, a.url]) {
      expect((await postJson(`${url}/auth/login`, { username, password: 'wrong-pass' })).status).toBe(401);
    }
    const locked = await postJson(`${b.url}/auth/login`, { username, password: 'password123' });
    expect(locked.status).toBe(429);
    expect(locked.body).toMatchObject({ success: false, code: 'rate_limited' });
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(locked.body.retryAfterMs)).toBeGreaterThan(0);
  });

  it('lets a steady sender through and stops a flood', async () => {
    const { cookie } = await signUp(a.url);
    const socket = await connect(a.url, cookie);
    const room = `Limited ${Date.now()}`;
    await emitAck(socket, 'create-room', room);
    await emitAck(socket, 'join-room', room);
    const acks = await Promise.all(
      Array.from({ length: 10 }, (_, i) => emitAck(socket, 'message', { text: `flood ${i}` })),
    );
    const ok = acks.filter((x) => x.success).length;
    const limited = acks.filter((x) => x.code === 'rate_limited');
    expect(ok).toBeGreaterThanOrEqual(3);
    expect(ok).toBeLessThanOrEqual(5);
    expect(limited.length).toBe(10 - ok);
    expect(Number(limited[0]?.retryAfterMs)).toBeGreaterThan(0);
    socket.close();
  });

  it('limits room creation per user across instances', async () => {
    const { cookie } = await signUp(a.url);
    const s1 = await connect(a.url, cookie);
    const s2 = await connect(b.url, cookie);
    const stamp = Date.now();
    expect((await emitAck(s1, 'create-room', `Lim A ${stamp}`)).success).toBe(true);
    expect((await emitAck(s2, 'create-room', `Lim B ${stamp}`)).success).toBe(true);
    expect(await emitAck(s1, 'create-room', `Lim C ${stamp}`)).toMatchObject({
      success: false,
      code: 'rate_limited',
    });
    s1.close();
    s2.close();
  });

  it('limits registrations and socket connections per address', async () => {
    const strict = await startApp({
      name: 'limits-strict',
      env: { ...LIMITS, RL_REGISTER_PER_IP: '2', RL_CONNECT_PER_IP_PER_MIN: '2' },
    });
    try {
      const first = await signUp(strict.url);
      await signUp(strict.url);
      const third = await postJson(`${strict.url}/auth/register`, {
        username: uniqueUser('Third'),
        password: 'password123',
      });
      expect(third.status).toBe(429);
      const s1 = await connect(strict.url, first.cookie);
      const s2 = await connect(strict.url, first.cookie);
      await expect(connect(strict.url, first.cookie)).rejects.toThrow('rate_limited');
      s1.close();
      s2.close();
    } finally {
      await strict.close();
    }
  });
});
