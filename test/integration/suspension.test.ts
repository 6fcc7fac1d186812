import type { Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createKeys } from '../../src/redis/keys.js';
import {
  connect,
  emitAck,
  getJson,
  nextEvent,
  postJson,
  signUp,
  startApp,
  uniqueUser,
  type TestApp,
} from '../helpers/app.js';

/**
 * Issue 14, moderation: an operator (ADMIN_USERS) suspends a user; every session of theirs ends and
 * every socket on every instance is told `suspended` and disconnected; sign-in answers 403
 * `suspended` until the operator lifts it.
 */

let a: TestApp;
let b: TestApp;
const operatorName = uniqueUser('op');
const PASSWORD = 'password123';
const sockets: Socket[] = [];

async function login(app: TestApp, username: string, password = PASSWORD) {
  return postJson(`${app.url}/auth/login`, { username, password });
}

async function socketOf(app: TestApp, cookie: string): Promise<Socket> {
  const socket = await connect(app.url, cookie);
  sockets.push(socket);
  return socket;
}

async function operatorSocket(): Promise<Socket> {
  const res = await login(a, operatorName);
  expect(res.status).toBe(200);
  return socketOf(a, res.cookie ?? '');
}

beforeAll(async () => {
  const env = { ADMIN_USERS: `someone_else, ${operatorName.toUpperCase()}` };
  a = await startApp({ name: 'suspend', env });
  b = await startApp({ name: 'suspend', prefix: a.prefix, env });
  await signUp(a.url, operatorName);
});
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
});

describe('suspend-user', () => {
  it('ends every session and socket of the user on every instance, and refuses sign-in until lifted', async () => {
    const op = await operatorSocket();
    const { username, cookie: first } = await signUp(a.url);
    const second = (await login(b, username)).cookie ?? '';
    const onA = await socketOf(a, first);
    const onB = await socketOf(b, second);
    const alsoB = await socketOf(b, first);
    const told = [onA, onB, alsoB].map((s) => nextEvent(s, 'suspended'));
    const gone = [onA, onB, alsoB].map(
      (s) => new Promise<string>((resolve) => s.once('disconnect', (reason) => resolve(reason))),
    );

    expect(await emitAck(op, 'suspend-user', { user: username.toUpperCase(), suspended: true })).toEqual({
      success: true,
      user: username,
      suspended: true,
    });
    expect(await Promise.all(told)).toEqual([{}, {}, {}]);
    expect(await Promise.all(gone)).toEqual([
      'io server disconnect',
      'io server disconnect',
      'io server disconnect',
    ]);

    // Both sessions are gone from the store: HTTP and new sockets are refused.
    for (const [app, cookie] of [
      [a, first],
      [b, second],
    ] as const) {
      expect((await getJson(`${app.url}/auth/me`, cookie)).status).toBe(401);
      await expect(connect(app.url, cookie)).rejects.toThrow('unauthorized');
    }
    // Sign-in: 403 suspended with the right password; the wrong one learns nothing more.
    const refused = await login(b, username);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({
      success: false,
      code: 'suspended',
      error: 'This account is suspended.',
    });
    expect(refused.cookie).toBeUndefined();
    expect((await login(a, username, 'wrong-password')).body).toMatchObject({ code: 'invalid_credentials' });

    // Lifted: sign-in works again, and the new session chats.
    expect(await emitAck(op, 'suspend-user', { user: username, suspended: false })).toEqual({
      success: true,
      user: username,
      suspended: false,
    });
    const back = await login(a, username);
    expect(back.status).toBe(200);
    const socket = await socketOf(b, back.cookie ?? '');
    expect(await emitAck(socket, 'who')).toMatchObject({ success: true });
  });

  it('refuses a socket for a session that outlived the suspension (a sign-in racing it)', async () => {
    const { username, cookie } = await signUp(a.url);
    // The flag alone, as when a sign-in recorded its session after the suspension ended the others.
    await a.server.redis.data.set(createKeys(a.prefix).userSuspended(username), '1');
    await expect(connect(b.url, cookie)).rejects.toThrow('suspended');
  });

  it('refuses the history route to a session that outlived the suspension', async () => {
    const { username, cookie } = await signUp(a.url);
    const socket = await socketOf(a, cookie);
    const room = `Outlived ${Math.random().toString(36).slice(2, 8)}`;
    expect((await emitAck(socket, 'create-room', room)).success).toBe(true);
    const path = `/api/rooms/${encodeURIComponent(room)}/messages`;
    expect((await getJson(`${b.url}${path}`, cookie)).status).toBe(200);
    // The flag alone, as for a session the per-user record missed (signed in before it existed).
    await a.server.redis.data.set(createKeys(a.prefix).userSuspended(username), '1');
    const res = await getJson(`${b.url}${path}`, cookie);
    expect(res).toMatchObject({ status: 403, body: { success: false, code: 'suspended' } });
  });

  it('leaves other users alone', async () => {
    const op = await operatorSocket();
    const target = await signUp(a.url);
    const bystander = await signUp(a.url);
    const watching = await socketOf(b, bystander.cookie);
    let disconnected = false;
    watching.on('disconnect', () => (disconnected = true));
    await emitAck(op, 'suspend-user', { user: target.username, suspended: true });
    await new Promise((r) => setTimeout(r, 300));
    expect(disconnected).toBe(false);
    expect((await getJson(`${a.url}/auth/me`, bystander.cookie)).status).toBe(200);
  });

  it('is for operators only, and names existing users only', async () => {
    const op = await operatorSocket();
    const mallory = await signUp(a.url);
    const victim = await signUp(a.url);
    const socket = await socketOf(a, mallory.cookie);
    expect(await emitAck(socket, 'suspend-user', { user: victim.username, suspended: true })).toMatchObject({
      success: false,
      code: 'forbidden',
    });
    expect((await login(a, victim.username)).status).toBe(200);
    expect(await emitAck(op, 'suspend-user', { user: 'nobody_by_that_name', suspended: true })).toMatchObject(
      {
        success: false,
        code: 'not_found',
      },
    );
    expect(await emitAck(op, 'suspend-user', { user: victim.username })).toMatchObject({
      success: false,
      code: 'invalid_payload',
    });
  });
});
