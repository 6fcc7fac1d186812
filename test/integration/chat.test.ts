import type { Socket } from 'socket.io-client';
import { io as ioClient } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from '../../src/protocol.js';
import { createKeys } from '../../src/redis/keys.js';
import {
  connect,
  emitAck,
  eventually,
  getJson,
  nextEvent,
  record,
  signUp,
  startApp,
  type TestApp,
} from '../helpers/app.js';

let a: TestApp;
let b: TestApp;
const sockets: Socket[] = [];
let roomCounter = 0;
const roomName = (base = 'Room') => `${base} ${++roomCounter} ${Math.random().toString(36).slice(2, 6)}`;

/** A signed-up user with a socket on `app`. */
async function user(app: TestApp = a) {
  const { username, cookie } = await signUp(app.url);
  const socket = await connect(app.url, cookie);
  sockets.push(socket);
  return { username, cookie, socket };
}

beforeAll(async () => {
  a = await startApp({ name: 'chat', env: { HISTORY_SIZE: '10', HISTORY_ON_JOIN: '5' } });
  b = await startApp({ name: 'chat', prefix: a.prefix, env: { HISTORY_SIZE: '10', HISTORY_ON_JOIN: '5' } });
});
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
});

describe('handshake', () => {
  it('refuses a socket without a session', async () => {
    await expect(connect(a.url, undefined)).rejects.toThrow('unauthorized');
    await expect(connect(a.url, 'chat.sid=s%3Anope.bad')).rejects.toThrow('unauthorized');
  });

  it('refuses a foreign Origin even with a valid session cookie, and allows the same origin', async () => {
    const { cookie } = await signUp(a.url);
    await expect(connect(a.url, cookie, { origin: 'http://evil.example' })).rejects.toThrow();
    const ok = await connect(a.url, cookie, { origin: a.url });
    sockets.push(ok);
    expect(ok.connected).toBe(true);
  });

  it('refuses a foreign Origin on the polling transport too', async () => {
    const { cookie } = await signUp(a.url);
    const res = await fetch(`${a.url}/socket.io/?EIO=4&transport=polling`, {
      headers: { cookie, origin: 'https://evil.example' },
    });
    expect(res.status).toBe(403);
  });

  it('sends the room list and the online count on connect, ignoring a client-claimed username', async () => {
    const { username, cookie } = await signUp(a.url);
    const socket = ioClient(a.url, {
      transports: ['websocket'],
      extraHeaders: { cookie },
      auth: { username: 'mallory' },
      forceNew: true,
    });
    sockets.push(socket);
    const rooms = await nextEvent<unknown[]>(socket, 'update-rooms');
    expect(Array.isArray(rooms)).toBe(true);
    await emitAck(socket, 'create-room', roomName('Id'));
    const who = await emitAck(socket, 'who');
    expect(who.users).toContain(username);
    expect(who.users).not.toContain('mallory');
  });
});

describe('rooms', () => {
  it('creates a room, tells every instance, and refuses a duplicate', async () => {
    const alice = await user(a);
    const bob = await user(b);
    const name = roomName('General');
    const update = nextEvent<{ name: string; createdBy: string; createdAt: string }[]>(
      bob.socket,
      'update-rooms',
      (rooms) => rooms.some((r) => r.name === name),
    );
    const ack = await emitAck(alice.socket, 'create-room', `  ${name}  `);
    expect(ack).toMatchObject({ success: true, room: { name, createdBy: alice.username } });
    const rooms = await update;
    for (const r of rooms) expect(Object.keys(r).sort()).toEqual(['createdAt', 'createdBy', 'name']);
    expect(await emitAck(bob.socket, 'create-room', name)).toMatchObject({
      success: false,
      code: 'room_exists',
    });
  });

  it('lets exactly one of simultaneous creations on two instances win', async () => {
    const alice = await user(a);
    const bob = await user(b);
    const name = roomName('Race');
    const acks = await Promise.all([
      emitAck(alice.socket, 'create-room', name),
      emitAck(bob.socket, 'create-room', name),
    ]);
    expect(acks.filter((x) => x.success)).toHaveLength(1);
    expect(acks.filter((x) => x.code === 'room_exists')).toHaveLength(1);
    const list = await getJson(`${a.url}/api/rooms?q=${encodeURIComponent(name)}`, alice.cookie);
    expect((list.body.rooms as { name: string }[]).filter((r) => r.name === name)).toHaveLength(1);
  });

  it('refuses to join a room that does not exist', async () => {
    const alice = await user();
    expect(await emitAck(alice.socket, 'join-room', 'Nowhere at all')).toMatchObject({
      success: false,
      code: 'room_not_found',
    });
  });
});

describe('messages', () => {
  it('reaches the room on both instances except the sender, whose ack carries the stored message', async () => {
    const alice = await user(a);
    const bob = await user(b);
    const carol = await user(b);
    const outsider = await user(a);
    const name = roomName('Chat');
    await emitAck(alice.socket, 'create-room', name);
    for (const u of [alice, bob, carol])
      expect(await emitAck(u.socket, 'join-room', name)).toMatchObject({ success: true, room: name });
    const toAlice = record<Message>(alice.socket, 'chat-message');
    const toOutsider = record<Message>(outsider.socket, 'chat-message');
    const bobGets = nextEvent<Message>(bob.socket, 'chat-message');
    const carolGets = nextEvent<Message>(carol.socket, 'chat-message');
    const ack = await emitAck(alice.socket, 'message', {
      text: 'hello <img src=x onerror=alert(1)>',
      sender: 'bob',
      clientId: 'c-1',
    });
    expect(ack.success).toBe(true);
    const stored = ack.message as Message;
    expect(stored).toMatchObject({
      seq: 1,
      roomId: name,
      sender: alice.username,
      text: 'hello <img src=x onerror=alert(1)>',
      clientId: 'c-1',
    });
    expect(typeof stored.id).toBe('string');
    expect(Date.parse(stored.timestamp)).not.toBeNaN();
    expect(await bobGets).toEqual(stored);
    expect(await carolGets).toEqual(stored);
    await new Promise((r) => setTimeout(r, 150));
    expect(toAlice).toHaveLength(0);
    expect(toOutsider).toHaveLength(0);
  });

  it('handles join and message emitted right after connecting, in order', async () => {
    const alice = await user(a);
    const name = roomName('Fast');
    await emitAck(alice.socket, 'create-room', name);
    const { cookie } = await signUp(b.url);
    const listener = await user(a);
    await emitAck(listener.socket, 'join-room', name);
    const heard = nextEvent<Message>(listener.socket, 'chat-message');
    const socket = ioClient(b.url, { transports: ['websocket'], extraHeaders: { cookie }, forceNew: true });
    sockets.push(socket);
    // Emitted before the connection is even open: buffered by the client, handled in order.
    const join = emitAck(socket, 'join-room', name);
    const msg = emitAck(socket, 'message', { text: 'first words' });
    expect((await join).success).toBe(true);
    expect(await msg).toMatchObject({ success: true, message: { text: 'first words', roomId: name } });
    expect((await heard).text).toBe('first words');
  });

  it('refuses a message outside a room', async () => {
    const alice = await user();
    expect(await emitAck(alice.socket, 'message', { text: 'hi' })).toMatchObject({
      success: false,
      code: 'not_in_room',
    });
  });

  it('leaves the previous room on join', async () => {
    const alice = await user(a);
    const bob = await user(b);
    const first = roomName('One');
    const second = roomName('Two');
    await emitAck(alice.socket, 'create-room', first);
    await emitAck(alice.socket, 'create-room', second);
    await emitAck(bob.socket, 'join-room', first);
    await emitAck(alice.socket, 'join-room', first);
    await emitAck(alice.socket, 'join-room', second);
    const heard = record<Message>(alice.socket, 'chat-message');
    await emitAck(bob.socket, 'message', { text: 'only in one' });
    await new Promise((r) => setTimeout(r, 150));
    expect(heard).toHaveLength(0);
    await eventually(async () => (await emitAck(bob.socket, 'room-stats')).rooms !== undefined, 'stats');
    const stats = (await emitAck(bob.socket, 'room-stats')).rooms as {
      name: string;
      members: number;
      latestSeq: number;
    }[];
    expect(stats.find((r) => r.name === first)).toEqual({ name: first, members: 1, latestSeq: 1 });
    expect(stats.find((r) => r.name === second)).toEqual({ name: second, members: 1, latestSeq: 0 });
  });

  it('drops a repeated clientId: stored once, acked with the stored message, broadcast once', async () => {
    const alice = await user(a);
    const bob = await user(b);
    const name = roomName('Dedupe');
    await emitAck(alice.socket, 'create-room', name);
    await emitAck(alice.socket, 'join-room', name);
    await emitAck(bob.socket, 'join-room', name);
    const heard = record<Message>(bob.socket, 'chat-message');
    const first = await emitAck(alice.socket, 'message', { text: 'once', clientId: 'same-id' });
    const again = await emitAck(alice.socket, 'message', { text: 'once', clientId: 'same-id' });
    expect(first.duplicate).toBe(false);
    expect(again.duplicate).toBe(true);
    expect(again.message).toEqual(first.message);
    // Another user's identical clientId is a different message.
    const other = await emitAck(bob.socket, 'message', { text: 'mine', clientId: 'same-id' });
    expect(other.duplicate).toBe(false);
    await eventually(() => heard.length >= 1, 'broadcast');
    await new Promise((r) => setTimeout(r, 150));
    expect(heard.map((m) => m.text)).toEqual(['once']);
    const page = await getJson(`${a.url}/api/rooms/${encodeURIComponent(name)}/messages`, alice.cookie);
    expect((page.body.messages as Message[]).map((m) => m.seq)).toEqual([2, 1]);
  });
});

describe('history', () => {
  it('keeps HISTORY_SIZE, sends HISTORY_ON_JOIN newest first on join, and pages back', async () => {
    const alice = await user(a);
    const name = roomName('Hist');
    await emitAck(alice.socket, 'create-room', name);
    await emitAck(alice.socket, 'join-room', name);
    for (let i = 1; i <= 14; i++) await emitAck(alice.socket, 'message', { text: `m${i}` });
    expect(await a.server.redis.data.lLen(createKeys(a.prefix).roomMessages(name))).toBe(10);

    const bob = await user(b);
    const previous = nextEvent<Message[]>(bob.socket, 'previous-messages');
    const ack = await emitAck(bob.socket, 'join-room', name);
    expect(ack).toMatchObject({ success: true, latestSeq: 14, recovered: true });
    expect((await previous).map((m) => m.seq)).toEqual([14, 13, 12, 11, 10]);

    const url = `${b.url}/api/rooms/${encodeURIComponent(name)}/messages`;
    const p1 = await getJson(`${url}?before=10&limit=3`, bob.cookie);
    expect(p1.body).toMatchObject({ success: true, room: name, latestSeq: 14, hasMore: true });
    expect((p1.body.messages as Message[]).map((m) => m.seq)).toEqual([9, 8, 7]);
    const p2 = await getJson(`${url}?before=7&limit=50`, bob.cookie);
    expect((p2.body.messages as Message[]).map((m) => m.seq)).toEqual([6, 5]);
    expect(p2.body.hasMore).toBe(false);
  });

  it('guards the history route', async () => {
    const alice = await user(a);
    const name = roomName('Guard');
    await emitAck(alice.socket, 'create-room', name);
    const url = `${a.url}/api/rooms/${encodeURIComponent(name)}/messages`;
    expect((await getJson(url)).status).toBe(401);
    expect((await getJson(`${url}?limit=0`, alice.cookie)).body).toMatchObject({ code: 'invalid_payload' });
    expect((await getJson(`${url}?before=x`, alice.cookie)).status).toBe(400);
    expect(
      (await getJson(`${a.url}/api/rooms/${encodeURIComponent('a:b')}/messages`, alice.cookie)).status,
    ).toBe(400);
    expect((await getJson(`${a.url}/api/rooms/Missing%20room/messages`, alice.cookie)).body).toMatchObject({
      code: 'room_not_found',
    });
  });

  it('catches up after `since` exactly, or says it could not', async () => {
    const alice = await user(a);
    const bob = await user(b);
    const name = roomName('Catch');
    await emitAck(alice.socket, 'create-room', name);
    await emitAck(alice.socket, 'join-room', name);
    for (let i = 1; i <= 4; i++) await emitAck(alice.socket, 'message', { text: `m${i}` });

    const missed = nextEvent<Message[]>(bob.socket, 'previous-messages');
    const ack = await emitAck(bob.socket, 'join-room', { room: name, since: 2 });
    expect(ack).toMatchObject({ success: true, recovered: true, latestSeq: 4 });
    expect((await missed).map((m) => m.seq)).toEqual([4, 3]);

    const none = nextEvent<Message[]>(bob.socket, 'previous-messages');
    expect(await emitAck(bob.socket, 'join-room', { room: name, since: 4 })).toMatchObject({
      recovered: true,
    });
    expect(await none).toEqual([]);

    for (let i = 5; i <= 20; i++) await emitAck(alice.socket, 'message', { text: `m${i}` });
    const gap = nextEvent<Message[]>(bob.socket, 'previous-messages');
    expect(await emitAck(bob.socket, 'join-room', { room: name, since: 3 })).toMatchObject({
      recovered: false,
      latestSeq: 20,
    });
    expect((await gap).map((m) => m.seq)).toEqual([20, 19, 18, 17, 16]);
  });
});

describe('presence', () => {
  it('counts distinct users across instances (two tabs are one user) and per room', async () => {
    const name = roomName('Count');
    const alice = await user(a);
    await emitAck(alice.socket, 'create-room', name);
    const tab2 = await connect(b.url, alice.cookie);
    sockets.push(tab2);
    const bob = await user(b);
    const who = async () => (await emitAck(bob.socket, 'who')).users as string[];
    await eventually(
      async () => (await who()).includes(alice.username) && (await who()).includes(bob.username),
      'both online',
    );
    expect((await who()).filter((u) => u === alice.username)).toHaveLength(1);

    const counts = record<{ room: string; count: number }>(bob.socket, 'room-users');
    await emitAck(alice.socket, 'join-room', name);
    await emitAck(tab2, 'join-room', name);
    const joined = await emitAck(bob.socket, 'join-room', name);
    expect(joined.count).toBe(2);
    await eventually(() => counts.at(-1)?.count === 2, 'room-users 2');

    tab2.close();
    await new Promise((r) => setTimeout(r, 300));
    expect((await emitAck(bob.socket, 'room-stats')).rooms).toContainEqual({
      name,
      members: 2,
      latestSeq: 0,
    });
    alice.socket.close();
    await eventually(() => counts.at(-1)?.count === 1, 'room-users back to 1');
    await eventually(async () => !(await who()).includes(alice.username), 'alice offline');
    await eventually(async () => {
      const raw = await a.server.redis.data.get(createKeys(a.prefix).user(alice.username.toLowerCase()));
      return (JSON.parse(raw ?? '{}') as { status?: string }).status === 'offline';
    }, 'status offline');
  });

  it('broadcasts onlineUsers to every instance when it changes', async () => {
    // Listening from the start: the count a new socket is sent can arrive with the handshake's reply.
    const seen: number[] = [];
    const { cookie } = await signUp(a.url);
    const watcher = {
      socket: await connect(a.url, cookie, { on: { onlineUsers: (n: number) => seen.push(n) } }),
    };
    sockets.push(watcher.socket);
    // Counts are coalesced and may cross, and users of earlier tests may still be leaving: what must
    // hold is that the broadcast settles on the truth (who, read from Redis) after every change.
    const online = async () => {
      const ack = await emitAck(watcher.socket, 'who');
      return Array.isArray(ack.users) ? (ack.users as string[]) : [];
    };
    const settled = async (holds: (users: string[]) => boolean) => {
      const users = await online();
      return holds(users) && seen.at(-1) === users.length;
    };
    await eventually(() => settled((users) => users.length >= 1), 'count settled', 10_000);
    const newcomer = await user(b);
    await eventually(() => settled((users) => users.includes(newcomer.username)), 'count went up', 10_000);
    newcomer.socket.close();
    await eventually(() => settled((users) => !users.includes(newcomer.username)), 'count went down', 10_000);
  });

  it('logout on one instance disconnects that session everywhere, and only it', async () => {
    const { cookie } = await signUp(a.url);
    const s1 = await connect(a.url, cookie);
    const s2 = await connect(b.url, cookie);
    const other = await user(b);
    sockets.push(s1, s2);
    const gone = Promise.all([nextEvent(s1, 'disconnect'), nextEvent(s2, 'disconnect')]);
    const res = await fetch(`${b.url}/auth/logout`, { method: 'POST', headers: { cookie } });
    expect(res.status).toBe(200);
    expect(await gone).toEqual(['io server disconnect', 'io server disconnect']);
    expect(other.socket.connected).toBe(true);
  });
});
