import fc from 'fast-check';
import type { Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createKeys } from '../../src/redis/keys.js';
import type { Message } from '../../src/store/messages.js';
import type { Room } from '../../src/store/rooms.js';
import { createRoomStore } from '../../src/store/rooms.js';
import { connect, emitAck, eventually, getJson, signUp, startApp, type TestApp } from '../helpers/app.js';

const sockets: Socket[] = [];
let n = 0;
const unique = (base: string) => `${base} ${++n}${Math.random().toString(36).slice(2, 6)}`;

async function user(app: TestApp) {
  const { username, cookie } = await signUp(app.url);
  const socket = await connect(app.url, cookie);
  sockets.push(socket);
  return { username, cookie, socket };
}

afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

describe.each(['sharded', 'classic'] as const)(
  'names and texts across two instances (%s adapter)',
  (adapter) => {
    let a: TestApp;
    let b: TestApp;
    beforeAll(async () => {
      a = await startApp({ name: `text-${adapter}`, env: { ADAPTER: adapter } });
      b = await startApp({ name: `text-${adapter}`, prefix: a.prefix, env: { ADAPTER: adapter } });
    });
    afterAll(async () => {
      await Promise.all([a?.close(), b?.close()]);
    });

    it('keeps one room per name identity, whatever the case, width or invisible characters', async () => {
      const [x, y] = [await user(a), await user(b)];
      const base = unique('Weekend Hiking');
      expect(await emitAck(x.socket, 'create-room', base)).toMatchObject({ success: true });
      for (const variant of [
        base.toLowerCase(),
        base.toUpperCase(),
        base.replace(' ', '  '),
        base.replace('W', '\uFF37'),
        base.replace('H', '\u200BH'),
        `\u3164${base}`,
      ]) {
        const ack = await emitAck(variant.length % 2 ? x.socket : y.socket, 'create-room', variant);
        expect(ack, JSON.stringify(variant)).toMatchObject({ success: false, code: 'room_exists' });
      }
      const rooms = (await emitAck(y.socket, 'room-stats')).rooms as { name: string }[];
      expect(rooms.filter((r) => r.name.toLowerCase() === base.toLowerCase()).map((r) => r.name)).toEqual([
        base,
      ]);
      // A differently spelled join lands in the room as its creator spelled it.
      const joined = await emitAck(y.socket, 'join-room', base.toUpperCase());
      expect(joined).toMatchObject({ success: true, room: base });
    });

    it('lets exactly one of two instances racing with case variants create the room', async () => {
      const [x, y] = [await user(a), await user(b)];
      const base = unique('Race Room');
      const acks = await Promise.all([
        emitAck(x.socket, 'create-room', base),
        emitAck(y.socket, 'create-room', base.toLowerCase()),
      ]);
      expect(acks.filter((r) => r.success)).toHaveLength(1);
      expect(acks.filter((r) => r.code === 'room_exists')).toHaveLength(1);
    });

    it.each([['\u3164'], ['\u3164\u3164\u3164'], ['\u115F\u1160'], ['\u200B\u200C']])(
      'refuses a room name with nothing visible (%j)',
      async (name) => {
        const x = await user(a);
        expect(await emitAck(x.socket, 'create-room', name)).toMatchObject({
          success: false,
          code: 'invalid_payload',
        });
      },
    );

    it.each([['\u200B'], ['\u200B\u200C\u200D\u2060'], [' \u200B\n\u200B '], ['\u3164']])(
      'refuses a message with nothing visible (%j) like an empty one',
      async (text) => {
        const x = await user(a);
        const room = unique('Blank');
        await emitAck(x.socket, 'create-room', room);
        await emitAck(x.socket, 'join-room', room);
        expect(await emitAck(x.socket, 'message', { text })).toMatchObject({
          success: false,
          code: 'invalid_payload',
        });
      },
    );

    it('gives the ack, live readers on both instances, history and catch-up the same text', async () => {
      const [sender, here, there] = [await user(a), await user(a), await user(b)];
      const room = unique('Texts');
      await emitAck(sender.socket, 'create-room', room);
      for (const s of [sender, here, there]) await emitAck(s.socket, 'join-room', room);
      const texts = [
        'a\uD83Db',
        'cut here \uD83D',
        '\uDE00 lone low',
        'Cafe\u0301',
        '👨‍👩‍👧 family',
        ...fc.sample(fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), { numRuns: 40, seed: 12 }),
      ];
      const liveHere = new Map<number, string>();
      const liveThere = new Map<number, string>();
      here.socket.on('chat-message', (m: Message) => liveHere.set(m.seq, m.text));
      there.socket.on('chat-message', (m: Message) => liveThere.set(m.seq, m.text));
      const acked = new Map<number, string>();
      for (const text of texts) {
        const ack = await emitAck(sender.socket, 'message', { text });
        if (!ack.success) {
          expect(ack.code).toBe('invalid_payload'); // nothing visible
          continue;
        }
        const m = ack.message as Message;
        acked.set(m.seq, m.text);
      }
      expect(acked.size).toBeGreaterThan(20);
      expect([...acked.values()].slice(0, 3)).toEqual(['a\uFFFDb', 'cut here \uFFFD', '\uFFFD lone low']);
      await eventually(() => liveHere.size === acked.size && liveThere.size === acked.size, 'live delivery');
      expect(new Map([...liveHere].sort((p, q) => p[0] - q[0]))).toEqual(acked);
      expect(new Map([...liveThere].sort((p, q) => p[0] - q[0]))).toEqual(acked);

      const history = await getJson(
        `${b.url}/api/rooms/${encodeURIComponent(room)}/messages?limit=100`,
        there.cookie,
      );
      const stored = new Map((history.body.messages as Message[]).map((m) => [m.seq, m.text]));
      for (const [seq, text] of acked) expect(stored.get(seq)).toBe(text);

      const late = await user(b);
      const caught: Message[] = [];
      late.socket.on('previous-messages', (ms: Message[]) => caught.push(...ms));
      await emitAck(late.socket, 'join-room', { room, since: 0 });
      for (const m of caught) if (acked.has(m.seq)) expect(m.text).toBe(acked.get(m.seq));
      expect(caught.length).toBeGreaterThan(0);
    });
  },
);

describe('rooms created before the identity index', () => {
  let a: TestApp;
  beforeAll(async () => {
    a = await startApp({ name: 'text-legacy' });
  });
  afterAll(async () => {
    await a?.close();
  });

  it('are found by identity, keep colliding legacy twins reachable, and block new variants', async () => {
    const keys = createKeys(a.prefix);
    const redis = a.server.redis.data;
    const legacy = (name: string, at: string): [string, string] => [
      name,
      JSON.stringify({ name, createdBy: 'old', createdAt: at } satisfies Room),
    ];
    // Written as the store did before: the rooms hash only, two names people read as one.
    await redis.hSet(
      keys.rooms,
      Object.fromEntries([
        legacy('Old Hiking', '2020-01-01T00:00:00.000Z'),
        legacy('old hiking', '2021-01-01T00:00:00.000Z'),
      ]),
    );
    const x = await user(a);
    expect(await emitAck(x.socket, 'create-room', 'OLD HIKING')).toMatchObject({ code: 'room_exists' });
    expect(await emitAck(x.socket, 'join-room', 'OLD  HIKING')).toMatchObject({ room: 'Old Hiking' });
    expect(await emitAck(x.socket, 'join-room', 'old hiking')).toMatchObject({ room: 'old hiking' });
    // The backfill is idempotent and keeps the older room.
    const store = createRoomStore(redis, keys);
    await store.ensureIndexed();
    await store.ensureIndexed();
    expect(await store.resolve('OLD HIKING')).toBe('Old Hiking');
  });
});
