import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connect, emitAck, postJson, signUp, startApp, uniqueUser, type TestApp } from '../helpers/app.js';
import { nodeClientFor } from '../helpers/redis.js';

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
  RL_INVITE_PER_MIN: '2',
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
    // A refused message is not stored and takes no seq.
    const rejoin = await emitAck(socket, 'join-room', room);
    expect(rejoin.latestSeq).toBe(ok);
    socket.close();
  });

  it.skipIf((inject('redisEnv').REDIS_MODE ?? 'standalone') !== 'standalone')(
    'checks the message limit in the append round trip: one Redis command per message, a retry not charged',
    async () => {
      const { cookie, username } = await signUp(a.url);
      const socket = await connect(a.url, cookie);
      const room = `One trip ${Date.now()}`;
      await emitAck(socket, 'create-room', room);
      await emitAck(socket, 'join-room', room);
      // Let the join's presence flush pass before watching.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const monitor = await nodeClientFor(inject('redisUrl'), 'standalone', 'x');
      const user = username.toLowerCase();
      const seen: string[] = [];
      await monitor.monitor((line: string) => {
        const text = String(line);
        // Commands the instance sent for this sender (its rate and dedupe keys name it): neither
        // pub/sub nor what a script runs inside Redis (MONITOR marks those `lua`).
        if (!/"(s?publish)"/i.test(text) && !/\[\d+ lua\]/.test(text) && text.includes(user))
          seen.push(/"([a-zA-Z]+)"/.exec(text)?.[1]?.toLowerCase() ?? '?');
      });
      try {
        for (const [i, clientId] of ['t1', 't2', 't2'].entries())
          expect(await emitAck(socket, 'message', { text: `trip ${i}`, clientId })).toMatchObject({
            success: true,
          });
        // The retry (t2 again) was not charged: of the burst's 3, t2 used one, t3 and t4 the others.
        for (const clientId of ['t3', 't4'])
          expect(await emitAck(socket, 'message', { text: clientId, clientId })).toMatchObject({
            success: true,
          });
      } finally {
        await monitor.close();
      }
      expect(seen).toEqual(['evalsha', 'evalsha', 'evalsha', 'evalsha', 'evalsha']);
      socket.close();
    },
  );

  it('limits edits and deletions per user across instances (RL_MESSAGE_BURST per 10 s), apart from messages', async () => {
    const { cookie } = await signUp(a.url);
    const onA = await connect(a.url, cookie);
    const onB = await connect(b.url, cookie);
    const room = `Edits ${Date.now()}`;
    await emitAck(onA, 'create-room', room);
    await emitAck(onA, 'join-room', room);
    const sent = await emitAck(onA, 'message', { text: 'first draft' });
    expect(sent.success).toBe(true);
    const edits = [];
    for (let i = 0; i < 5; i++) {
      const socket = i % 2 === 0 ? onA : onB;
      edits.push(await emitAck(socket, 'edit-message', { room, seq: 1, text: `draft ${i}` }));
    }
    expect(edits.slice(0, 3).every((x) => x.success)).toBe(true);
    expect(edits.slice(3).map((x) => x.code)).toEqual(['rate_limited', 'rate_limited']);
    expect(Number(edits[3]?.retryAfterMs)).toBeGreaterThan(0);
    // The message limit is its own: a message still goes through.
    expect((await emitAck(onA, 'message', { text: 'still talking' })).success).toBe(true);
    onA.close();
    onB.close();
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

  it('counts private rooms and new DMs as room creations (re-opening a DM is free); invites have their own limit', async () => {
    const owner = await signUp(a.url);
    const others = await Promise.all([signUp(a.url), signUp(b.url), signUp(a.url)]);
    const s1 = await connect(a.url, owner.cookie);
    const s2 = await connect(b.url, owner.cookie);
    const room = `Lim private ${Date.now()}`;
    expect(await emitAck(s1, 'create-room', { name: room, visibility: 'private' })).toMatchObject({
      success: true,
    });
    expect(await emitAck(s2, 'open-dm', { user: others[0]!.username })).toMatchObject({ success: true });
    expect(await emitAck(s1, 'open-dm', { user: others[1]!.username })).toMatchObject({
      code: 'rate_limited',
    });
    expect(await emitAck(s1, 'open-dm', { user: others[0]!.username })).toMatchObject({ success: true });
    for (const other of others.slice(0, 2))
      expect(await emitAck(s2, 'invite', { room, user: other.username })).toMatchObject({ success: true });
    const limited = await emitAck(s1, 'invite', { room, user: others[2]!.username });
    expect(limited).toMatchObject({ success: false, code: 'rate_limited' });
    expect(Number(limited.retryAfterMs)).toBeGreaterThan(0);
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

/** POST JSON as if from `address` (the app trusts its loopback proxy, so X-Forwarded-For counts). */
async function postFrom(address: string, url: string, body: unknown) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('failed sign-ins: a stranger cannot lock the owner out', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp({ name: 'limits-login', env: { ...LIMITS, TRUST_PROXY: 'loopback' } });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('blocks the address that guessed, admits the owner from another address', async () => {
    const username = uniqueUser('Owner');
    await postJson(`${app.url}/auth/register`, { username, password: 'password123' });
    const login = `${app.url}/auth/login`;
    for (let i = 0; i < 10; i++) await postFrom('203.0.113.7', login, { username, password: 'wrong-pass' });
    const attacker = await postFrom('203.0.113.7', login, { username, password: 'password123' });
    expect(attacker.status).toBe(429);
    const owner = await postFrom('198.51.100.2', login, {
      username: username.toUpperCase(),
      password: 'password123',
    });
    expect(owner.status).toBe(200);
  });

  it('slows guessing spread over addresses with a growing delay for the account', async () => {
    const username = uniqueUser('Spread');
    await postJson(`${app.url}/auth/register`, { username, password: 'password123' });
    const login = `${app.url}/auth/login`;
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      const address = `192.0.2.${i + 1}`;
      // A fresh address gets its guess...
      expect((await postFrom(address, login, { username, password: 'wrong-pass' })).status).toBe(401);
      // ...and once the account has seen more failures than an address may make, a repeat waits.
      const again = await postFrom(address, login, { username, password: 'wrong-pass' });
      if (i >= 2) {
        expect(again.status).toBe(429);
        waits.push(Number(again.body.retryAfterMs));
      }
    }
    expect(waits.length).toBe(4);
    expect(waits[3]).toBeGreaterThan(waits[0] ?? Infinity);
    // The owner's right password from an address that has not failed is still admitted.
    expect((await postFrom('192.0.2.200', login, { username, password: 'password123' })).status).toBe(200);
  });
});

describe('an office behind one address', () => {
  it('lets 65 people with two tabs each connect within seconds under the default limits', async () => {
    const office = await startApp({ name: 'limits-office', env: { RATE_LIMITS: 'on' } });
    const open: Socket[] = [];
    try {
      const people = [];
      for (let i = 0; i < 65; i++) people.push(await signUp(office.url, uniqueUser('Office')));
      const results = await Promise.allSettled(
        people.flatMap((p) => [connect(office.url, p.cookie), connect(office.url, p.cookie)]),
      );
      for (const r of results) if (r.status === 'fulfilled') open.push(r.value);
      const refused = results.filter((r) => r.status === 'rejected').map((r) => String(r.reason));
      expect(refused).toEqual([]);
      expect(open).toHaveLength(130);
    } finally {
      for (const s of open) s.close();
      await office.close();
    }
  }, 60_000);

  it('leaves the real work to a per-user limit', async () => {
    const app = await startApp({
      name: 'limits-user-connect',
      env: { ...LIMITS, RL_CONNECT_PER_USER_PER_MIN: '3' },
    });
    const open: Socket[] = [];
    try {
      const greedy = await signUp(app.url);
      const other = await signUp(app.url);
      for (let i = 0; i < 3; i++) open.push(await connect(app.url, greedy.cookie));
      await expect(connect(app.url, greedy.cookie)).rejects.toThrow('rate_limited');
      open.push(await connect(app.url, other.cookie));
    } finally {
      for (const s of open) s.close();
      await app.close();
    }
  });
});
