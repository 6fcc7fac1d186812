import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_BODY_MAX_BYTES, PASSWORD_MAX_BYTES } from '../../src/protocol.js';
import { createKeys } from '../../src/redis/keys.js';
import { connect, getJson, postJson, startApp, uniqueUser, type TestApp } from '../helpers/app.js';

let a: TestApp;
let b: TestApp;

beforeAll(async () => {
  a = await startApp({ name: 'auth' });
  b = await startApp({ name: 'auth', prefix: a.prefix });
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
});

describe('register', () => {
  it('creates the account and signs in with an httpOnly SameSite=Lax cookie', async () => {
    const username = uniqueUser('Reg');
    const res = await fetch(`${a.url}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password: 'password123' }),
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as {
      success: boolean;
      user: { username: string; passwordHash?: string };
    };
    expect(body.success).toBe(true);
    expect(body.user.username).toBe(username);
    expect(JSON.stringify(body)).not.toMatch(/password|\$2b\$/i);
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^chat\.sid=/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
  });

  it('refuses a taken name, whatever its case', async () => {
    const username = uniqueUser('Dup');
    expect((await postJson(`${a.url}/auth/register`, { username, password: 'password123' })).status).toBe(
      201,
    );
    for (const name of [username, username.toUpperCase()]) {
      const res = await postJson(`${b.url}/auth/register`, { username: name, password: 'password123' });
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ success: false, code: 'username_taken' });
      expect(typeof res.body.error).toBe('string');
    }
  });

  it('lets exactly one of two simultaneous registrations of a name win', async () => {
    const username = uniqueUser('Race');
    const results = await Promise.all([
      postJson(`${a.url}/auth/register`, { username, password: 'password123' }),
      postJson(`${b.url}/auth/register`, { username, password: 'password456' }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
  });

  it.each([
    ['a short name', { username: 'ab', password: 'password123' }],
    ['a name with a colon', { username: 'a:b:c', password: 'password123' }],
    ['a short password', { username: 'valid_name', password: 'short' }],
    [
      'a password over the byte limit',
      { username: 'valid_name', password: 'x'.repeat(PASSWORD_MAX_BYTES + 1) },
    ],
    ['a number as name', { username: 12345, password: 'password123' }],
    ['an array body', ['x']],
    ['null', null],
  ])('answers 400 invalid_payload to %s', async (_n, body) => {
    const res = await postJson(`${a.url}/auth/register`, body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, code: 'invalid_payload' });
  });

  it('answers 400 to malformed JSON and 413 to an oversized body', async () => {
    const bad = await postJson(`${a.url}/auth/register`, '{"username":', undefined, true);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ success: false, code: 'invalid_payload' });
    const big = await postJson(`${a.url}/auth/register`, {
      username: 'big_body',
      password: 'x'.repeat(HTTP_BODY_MAX_BYTES + 1),
    });
    expect(big.status).toBe(413);
    expect(big.body).toMatchObject({ success: false, code: 'payload_too_large' });
  });
});

describe('login, me, logout', () => {
  it('signs in on one instance and is known on the other; a new session id each time', async () => {
    const username = uniqueUser('Log');
    const reg = await postJson(`${a.url}/auth/register`, { username, password: 'password123' });
    const login = await postJson(
      `${a.url}/auth/login`,
      { username: username.toUpperCase(), password: 'password123' },
      reg.cookie,
    );
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({ success: true, user: { username } });
    expect(login.cookie).toBeDefined();
    expect(login.cookie).not.toBe(reg.cookie);
    const me = await getJson(`${b.url}/auth/me`, login.cookie);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ success: true, user: { username } });
    // The pre-login session id is dead after the login regenerated it.
    expect((await getJson(`${b.url}/auth/me`, reg.cookie)).status).toBe(401);
  });

  it('answers a wrong password and an unknown user the same way', async () => {
    const username = uniqueUser('Pw');
    await postJson(`${a.url}/auth/register`, { username, password: 'password123' });
    const wrong = await postJson(`${a.url}/auth/login`, { username, password: 'password124' });
    const unknown = await postJson(`${a.url}/auth/login`, {
      username: uniqueUser('Nobody'),
      password: 'password123',
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual(unknown.body);
    expect(wrong.body).toMatchObject({ success: false, code: 'invalid_credentials' });
    expect(wrong.cookie).toBeUndefined();
  });

  it('answers /auth/me 401 without a session or with a forged cookie', async () => {
    expect((await getJson(`${a.url}/auth/me`)).body).toMatchObject({ success: false, code: 'unauthorized' });
    expect((await getJson(`${a.url}/auth/me`, 'chat.sid=s%3Aforged.signature')).status).toBe(401);
  });

  it('logout destroys the session for every instance and clears the cookie', async () => {
    const username = uniqueUser('Out');
    const { cookie } = await postJson(`${a.url}/auth/register`, { username, password: 'password123' });
    expect((await getJson(`${b.url}/auth/me`, cookie)).status).toBe(200);
    const out = await postJson(`${b.url}/auth/logout`, {}, cookie);
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie') ?? '').toMatch(/chat\.sid=;/);
    expect((await getJson(`${a.url}/auth/me`, cookie)).status).toBe(401);
    await expect(connect(a.url, cookie)).rejects.toThrow('unauthorized');
  });

  it('keeps the password hash and status in the users record', async () => {
    const username = uniqueUser('Rec');
    await postJson(`${a.url}/auth/register`, { username, password: 'password123' });
    const raw = await a.server.redis.data.get(createKeys(a.prefix).user(username.toLowerCase()));
    const record = JSON.parse(raw ?? '{}') as Record<string, unknown>;
    expect(record.username).toBe(username);
    expect(String(record.passwordHash)).toMatch(/^\$2b\$10\$/);
    expect(record.status).toBe('offline');
    expect(typeof record.lastSeen).toBe('string');
  });
});

describe('session probe', () => {
  it('answers 200 with user null when signed out (no 401 for a page that only asks), and the user when signed in', async () => {
    const anonymous = await getJson(`${a.url}/auth/session`);
    expect(anonymous.status).toBe(200);
    expect(anonymous.body).toEqual({ success: true, user: null });
    expect((await getJson(`${a.url}/auth/session`, 'chat.sid=s%3Anope.bad')).body).toEqual({
      success: true,
      user: null,
    });
    const username = uniqueUser('Probe');
    const reg = await postJson(`${a.url}/auth/register`, { username, password: 'password123' });
    const signedIn = await getJson(`${b.url}/auth/session`, reg.cookie);
    expect(signedIn.status).toBe(200);
    expect(signedIn.body).toMatchObject({ success: true, user: { username } });
  });
});

describe('the role and edit window told to the page', () => {
  it('marks an operator from ADMIN_USERS (any case) admin in /auth/me and /auth/session, everyone else not', async () => {
    const operator = uniqueUser('Op');
    const ops = await startApp({
      name: 'auth',
      prefix: a.prefix,
      env: { ADMIN_USERS: ` ${operator.toUpperCase()} , someone-else`, EDIT_WINDOW_MS: '60000' },
    });
    try {
      const op = await postJson(`${ops.url}/auth/register`, { username: operator, password: 'password123' });
      const plain = await postJson(`${ops.url}/auth/register`, {
        username: uniqueUser('Plain'),
        password: 'password123',
      });
      const opMe = await getJson(`${ops.url}/auth/me`, op.cookie);
      expect(opMe.body).toMatchObject({ success: true, user: { username: operator, admin: true } });
      expect(opMe.body.editWindowMs).toBe(60_000);
      expect((await getJson(`${ops.url}/auth/session`, op.cookie)).body).toMatchObject({
        user: { admin: true },
      });
      expect((await getJson(`${ops.url}/auth/me`, plain.cookie)).body).toMatchObject({
        user: { admin: false },
      });
      // The same user on an instance without that operator list is no operator.
      expect((await getJson(`${a.url}/auth/me`, op.cookie)).body).toMatchObject({
        user: { admin: false },
        editWindowMs: 900_000,
      });
    } finally {
      await ops.close();
    }
  });
});
