import { io as ioClient, type Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { seedRooms, seededRoomName } from '../../bench/lib/seed-rooms.js';
import {
  LEGACY_ROOMS_MAX,
  MY_ROOMS_MAX,
  ROOM_PAGE_DEFAULT,
  type Room,
  type RoomPage,
  type RoomsHome,
} from '../../src/protocol.js';
import { createKeys } from '../../src/redis/keys.js';
import { nameIdentity } from '../../src/text-rules.js';
import { emitAck, getJson, nextEvent, signUp, startApp, type TestApp } from '../helpers/app.js';

/** Rooms seeded before the tests: the old code sent all of them (~160 KB) on every connect. */
const SEEDED = 2000;
/** The targets of the room directory (issue: connect ≤ 16 KB, ≤ 1 KB per socket per creation). */
const CONNECT_MAX_BYTES = 16 * 1024;
const CREATION_MAX_BYTES = 1024;

let a: TestApp;
let b: TestApp;
const sockets: Socket[] = [];

/** Counts the bytes of the Socket.IO event packets (type 2) a socket receives, as they are on the wire. */
function meter(socket: Socket): { bytes: number } {
  const m = { bytes: 0 };
  socket.io.engine.on('packet', (packet: { type: string; data?: unknown }) => {
    if (packet.type === 'message' && typeof packet.data === 'string' && packet.data.startsWith('2'))
      m.bytes += Buffer.byteLength(packet.data) + 1;
  });
  return m;
}

/** A socket of a new user (or of `cookie`'s); `directory` speaks the room directory. Resolves once the connect push arrived. */
async function open<T>(app: TestApp, directory: boolean, cookie?: string) {
  const session = cookie ? { cookie } : await signUp(app.url);
  const socket = ioClient(app.url, {
    transports: ['websocket'],
    extraHeaders: { cookie: session.cookie },
    reconnection: false,
    forceNew: true,
    ...(directory ? { auth: { directory: true } } : {}),
  });
  sockets.push(socket);
  const first = nextEvent<T>(socket, directory ? 'rooms-home' : 'update-rooms');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  const m = meter(socket);
  return { socket, cookie: session.cookie, first: await first, meter: m };
}

const user = (app: TestApp, cookie?: string) => open<RoomsHome>(app, true, cookie);
const legacyUser = (app: TestApp) => open<Room[]>(app, false);

/** One more round trip: every packet the server sent before its answer has arrived. */
const flush = (socket: Socket) => emitAck(socket, 'leave-room');

beforeAll(async () => {
  a = await startApp({ name: 'directory' });
  b = await startApp({ name: 'directory', prefix: a.prefix });
  await seedRooms(a.server.redis.data, createKeys(a.prefix), SEEDED);
}, 60_000);
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
});

describe(`room directory with ${SEEDED} rooms`, () => {
  it('sends a directory client its rooms and one small page on connect, not the whole list', async () => {
    const session = await signUp(a.url);
    const socket = ioClient(a.url, {
      transports: ['websocket'],
      extraHeaders: { cookie: session.cookie },
      reconnection: false,
      forceNew: true,
      auth: { directory: true },
    });
    sockets.push(socket);
    // Metered from the first packet on: the whole connect push.
    const m = meter(socket);
    const home = await nextEvent<RoomsHome>(socket, 'rooms-home');
    await flush(socket);
    expect(home.mine).toEqual([]);
    expect(home.directory.rooms).toHaveLength(ROOM_PAGE_DEFAULT);
    expect(home.directory.next).not.toBeNull();
    expect(m.bytes).toBeGreaterThan(0);
    expect(m.bytes).toBeLessThanOrEqual(CONNECT_MAX_BYTES);
  });

  it('sends every directory socket one small room-created per creation, on every instance', async () => {
    const creator = await user(a);
    const watchers = [await user(a), await user(b), await user(b)];
    // b's snapshot is loaded now; the creation below must drop it (serverSideEmit).
    await Promise.all(watchers.map((w) => flush(w.socket)));
    for (const w of watchers) w.meter.bytes = 0;
    const name = `000 First ${Math.random().toString(36).slice(2, 8)}`;
    const seen = watchers.map((w) => nextEvent<Room>(w.socket, 'room-created', (r) => r.name === name));
    expect(await emitAck(creator.socket, 'create-room', name)).toMatchObject({ success: true });
    for (const room of await Promise.all(seen))
      expect(room).toMatchObject({ name, createdBy: expect.any(String) });
    await Promise.all(watchers.map((w) => flush(w.socket)));
    for (const w of watchers) expect(w.meter.bytes).toBeLessThanOrEqual(CREATION_MAX_BYTES);
    // A later connect on the other instance sees the room on the first page (it sorts first).
    const late = await user(b);
    expect(late.first.directory.rooms[0]?.name).toBe(name);
    // The creator's own rooms hold it.
    const again = await user(a, creator.cookie);
    expect(again.first.mine.map((r) => r.name)).toContain(name);
  });

  it('keeps update-rooms for clients of the original protocol, bounded to the newest rooms', async () => {
    const old = await legacyUser(a);
    expect(old.first).toHaveLength(LEGACY_ROOMS_MAX);
    const names = old.first.map((r) => r.name);
    expect(names).toContain(seededRoomName(SEEDED - 1));
    expect(names).not.toContain(seededRoomName(0));
    const name = `Legacy ${Math.random().toString(36).slice(2, 8)}`;
    const update = nextEvent<Room[]>(old.socket, 'update-rooms', (rooms) =>
      rooms.some((r) => r.name === name),
    );
    await emitAck(old.socket, 'create-room', name);
    const rooms = await update;
    expect(rooms).toHaveLength(LEGACY_ROOMS_MAX);
    expect(rooms.at(-1)?.name).toBe(name);
  });

  it('pages through every room once, in identity order, over the socket and HTTP', async () => {
    const { socket, cookie } = await user(a);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const ack = await emitAck(socket, 'list-rooms', { limit: 100, ...(cursor ? { cursor } : {}) });
      const page = ack as unknown as RoomPage;
      seen.push(...page.rooms.map((r) => r.name));
      cursor = page.next;
    } while (cursor !== null);
    const seeded = seen.filter((n) => n.startsWith('Seeded room'));
    expect(seeded).toHaveLength(SEEDED);
    expect(new Set(seen).size).toBe(seen.length);
    const ids = seen.map(nameIdentity);
    expect(ids).toEqual([...ids].sort((x, y) => (Buffer.from(x) < Buffer.from(y) ? -1 : 1)));

    const http = await getJson(
      `${b.url}/api/rooms?q=${encodeURIComponent('SEEDED ROOM 0019')}&limit=7`,
      cookie,
    );
    expect(http.status).toBe(200);
    const first = http.body as unknown as RoomPage;
    expect(first.rooms.map((r) => r.name)).toEqual(
      Array.from({ length: 7 }, (_, i) => seededRoomName(1900 + i)),
    );
    const rest = await getJson(
      `${b.url}/api/rooms?q=seeded%20room%200019&limit=7&cursor=${encodeURIComponent(first.next ?? '')}`,
      cookie,
    );
    expect((rest.body as unknown as RoomPage).rooms[0]?.name).toBe(seededRoomName(1907));
    const none = await emitAck(socket, 'list-rooms', { q: 'no such room at all' });
    expect(none).toMatchObject({ success: true, rooms: [], next: null });
    expect(await emitAck(socket, 'list-rooms', { limit: 1000 })).toMatchObject({ code: 'invalid_payload' });
    expect((await getJson(`${a.url}/api/rooms?limit=0`, cookie)).status).toBe(400);
  });

  it('remembers the rooms a user joined, newest first, capped', async () => {
    const me = await user(a);
    const joined = Array.from({ length: MY_ROOMS_MAX + 2 }, (_, i) => seededRoomName(i * 7));
    for (const room of joined)
      expect(await emitAck(me.socket, 'join-room', room)).toMatchObject({ success: true });
    const again = await user(a, me.cookie);
    expect(again.first.mine.map((r) => r.name)).toEqual(joined.slice(-MY_ROOMS_MAX).reverse());
  });

  it('answers room-stats for the rooms asked, and for the newest rooms otherwise', async () => {
    const { socket } = await user(a);
    const asked = [seededRoomName(3), seededRoomName(5), 'No such room'];
    const stats = (await emitAck(socket, 'room-stats', { rooms: asked })).rooms as { name: string }[];
    expect(stats.map((s) => s.name)).toEqual(asked.slice(0, 2));
    const newest = (await emitAck(socket, 'room-stats')).rooms as { name: string }[];
    expect(newest).toHaveLength(LEGACY_ROOMS_MAX);
  });
});

describe('rooms stored before the directory', () => {
  let old: TestApp;
  beforeAll(async () => {
    old = await startApp({ name: 'directory-backfill' });
  });
  afterAll(async () => {
    await old?.close();
  });

  it('are indexed before the first page: listed, searchable, and newest-first for the original protocol', async () => {
    const keys = createKeys(old.prefix);
    const stored = (name: string, at: string): [string, string] => [
      name,
      JSON.stringify({ name, createdBy: 'old', createdAt: at } satisfies Room),
    ];
    // Written as the store did before the directory: the rooms hash only.
    await old.server.redis.data.hSet(
      keys.rooms,
      Object.fromEntries([
        stored('Zebra talk', '2020-01-01T00:00:00.000Z'),
        stored('Apple pie', '2021-01-01T00:00:00.000Z'),
        stored('Mango lovers', '2022-01-01T00:00:00.000Z'),
      ]),
    );
    const me = await user(old);
    expect(me.first.directory.rooms.map((r) => r.name)).toEqual(['Apple pie', 'Mango lovers', 'Zebra talk']);
    expect(await emitAck(me.socket, 'list-rooms', { q: 'MAN' })).toMatchObject({
      rooms: [{ name: 'Mango lovers' }],
      next: null,
    });
    const legacy = await legacyUser(old);
    expect(legacy.first.map((r) => r.name)).toEqual(['Zebra talk', 'Apple pie', 'Mango lovers']);
  });
});
