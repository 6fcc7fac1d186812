import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from 'redis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Message, RoomSeq } from '../../src/protocol.js';
import { startRedisServer, type RedisProcess } from '../../tools/cluster/redis.js';
import {
  connect,
  emitAck,
  eventually,
  nextEvent,
  serving,
  signUp,
  startApp,
  type TestApp,
} from '../helpers/app.js';
import { ChatClient } from '../helpers/chat-client.js';
import { until } from '../helpers/poll.js';

/**
 * Delivery guarantees against a real redis-server of this file's own: a Redis that lost its last
 * writes gives the room's sequence a new epoch and online clients resync; messages published while
 * an instance's pub/sub subscription was down reach its members without a reconnect.
 */

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});
afterAll(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function ownRedis(): Promise<{ dir: string; data: string; redis: RedisProcess }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'chat-epoch-'));
  const data = path.join(dir, 'data');
  const redis = await startRedisServer({ dir: data, appendonly: true });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, data, redis };
}

async function app(name: string, redisUrl: string, prefix?: string, env: Record<string, string> = {}) {
  const instanceId = `${name}-${Math.random().toString(36).slice(2, 8)}`;
  const started: TestApp = await startApp({
    name,
    ...(prefix === undefined ? {} : { prefix }),
    env: { REDIS_URL: redisUrl, INSTANCE_ID: instanceId, ...env },
  });
  cleanups.push(() => started.close());
  return Object.assign(started, { instanceId });
}

async function client(url: string): Promise<ChatClient> {
  const c = await ChatClient.create(url);
  cleanups.push(() => c.close());
  return c;
}

const ready = async (...apps: TestApp[]) => {
  for (const a of apps) if (!(await serving(a.url))) return false;
  return true;
};

const texts = (c: ChatClient) => [...c.seen.values()].sort((x, y) => x.seq - y.seq).map((m) => m.text);

describe('a Redis that lost its last writes', () => {
  it('starts a new epoch: online clients resync and show the next messages, an old since is not recovered', async () => {
    const { dir, data, redis: first } = await ownRedis();
    let redis = first;
    cleanups.push(() => redis.stop().then(() => undefined));
    const a = await app('epoch-a', redis.url);
    const b = await app('epoch-b', redis.url, a.prefix);
    const alice = await client(a.url);
    const bob = await client(b.url);
    const room = 'Lost writes';
    expect((await alice.emit('create-room', room)).success).toBe(true);
    const joined = await alice.join(room);
    await bob.join(room);
    const firstEpoch = String(joined.epoch);
    for (const text of ['m1', 'm2', 'm3']) expect(await alice.send(text)).toBe(true);
    await eventually(() => bob.seen.size === 3, 'bob has m1..m3');

    // Snapshot the data dir (a clean stop flushes the AOF), then write more on top of it.
    await redis.stop();
    const snapshot = path.join(dir, 'snapshot');
    cpSync(data, snapshot, { recursive: true });
    redis = await startRedisServer({ dir: data, appendonly: true, port: redis.port });
    await eventually(() => ready(a, b), 'instances ready after the clean restart', 15_000);
    for (const text of ['m4', 'm5']) expect(await alice.send(text)).toBe(true);
    await eventually(() => bob.contiguous === 5, 'bob has m4, m5');
    const servedEpoch = bob.epoch;
    expect(bob.resyncs).toBe(0); // a clean restart loses nothing: clients continue
    expect(bob.seen.get(4)?.epoch).toBe(servedEpoch);

    // The crash: m4 and m5 were acked and shown, and Redis comes back without them.
    await redis.kill('SIGKILL');
    rmSync(data, { recursive: true, force: true });
    cpSync(snapshot, data, { recursive: true });
    redis = await startRedisServer({ dir: data, appendonly: true, port: redis.port });
    await eventually(() => ready(a, b), 'instances ready after the crash', 15_000);

    // The notices after the re-subscribe carry the new epoch: both resync to what Redis kept.
    await eventually(() => alice.resyncs === 1 && bob.resyncs === 1, 'both clients resynced', 10_000);
    expect(texts(bob)).toEqual(['m1', 'm2', 'm3']);
    expect(bob.dropped.map((m) => m.text).sort()).toEqual(['m4', 'm5']);

    // The counter restarted at 3: the next messages reuse seq 4 and 5, in a new epoch, and are shown.
    for (const text of ['m6', 'm7']) expect(await alice.send(text)).toBe(true);
    await eventually(() => bob.contiguous === 5, 'bob shows m6, m7');
    expect(texts(bob)).toEqual(['m1', 'm2', 'm3', 'm6', 'm7']);
    expect(texts(alice)).toEqual(['m1', 'm2', 'm3', 'm6', 'm7']);
    const m6 = bob.seen.get(4) as Message;
    expect(m6.epoch).toBeDefined();
    expect([firstEpoch, servedEpoch]).not.toContain(m6.epoch);
    expect(bob.liveDuplicates).toBe(0);
    expect(bob.reconnects).toBe(0);

    // A catch-up from before the crash is not continued, with or without its epoch.
    const carol = await signUp(a.url);
    const socket = await connect(b.url, carol.cookie);
    cleanups.push(() => void socket.close());
    const page = nextEvent<Message[]>(socket, 'previous-messages');
    const ack = await emitAck(socket, 'join-room', { room, since: 5, epoch: servedEpoch });
    expect(ack).toMatchObject({ success: true, recovered: false, latestSeq: 5, epoch: m6.epoch });
    expect((await page).map((m) => m.text)).toEqual(['m7', 'm6', 'm3', 'm2', 'm1']);
    expect(await emitAck(socket, 'join-room', { room, since: 5 })).toMatchObject({ recovered: true });
    expect(await emitAck(socket, 'join-room', { room, since: 7 })).toMatchObject({ recovered: false });
    // A since in the current epoch beyond the counter proves lost writes: another epoch starts.
    const beyond = await emitAck(socket, 'join-room', { room, since: 9, epoch: m6.epoch });
    expect(beyond).toMatchObject({ success: true, recovered: false, latestSeq: 5 });
    expect(beyond.epoch).not.toBe(m6.epoch);
    // ...and a since of the epoch before, within what survived, is continued.
    expect(await emitAck(socket, 'join-room', { room, since: 4, epoch: m6.epoch })).toMatchObject({
      recovered: true,
      epoch: beyond.epoch,
    });
  });

  it('never hands out a seq twice when the counter is lost but the messages are kept', async () => {
    const { redis } = await ownRedis();
    cleanups.push(() => redis.stop().then(() => undefined));
    const a = await app('epoch-counter', redis.url);
    const user = await signUp(a.url);
    const socket = await connect(a.url, user.cookie);
    cleanups.push(() => void socket.close());
    await emitAck(socket, 'create-room', 'Counter room');
    const joined = await emitAck(socket, 'join-room', 'Counter room');
    await emitAck(socket, 'message', { text: 'one' });
    await emitAck(socket, 'message', { text: 'two' });
    const raw = createClient({ url: redis.url });
    await raw.connect();
    cleanups.push(() => raw.close());
    const seqKeys = await raw.keys(`${a.prefix}room:{Counter room}:seq`);
    expect(seqKeys).toHaveLength(1);
    await raw.del(seqKeys);
    const next = await emitAck(socket, 'message', { text: 'three' });
    expect(next).toMatchObject({ success: true, message: { seq: 3 } });
    expect((next.message as Message).epoch).not.toBe(joined.epoch);
  });
});

describe('epochs that changed without losing anything', () => {
  it('continue a client several epochs behind: clean restarts and bogus since values', async () => {
    const { data, redis: first } = await ownRedis();
    let redis = first;
    cleanups.push(() => redis.stop().then(() => undefined));
    const a = await app('epoch-chain', redis.url);
    const user = await signUp(a.url);
    const socket = await connect(a.url, user.cookie);
    cleanups.push(() => void socket.close());
    await emitAck(socket, 'create-room', 'Chain room');
    await emitAck(socket, 'join-room', 'Chain room');
    await emitAck(socket, 'message', { text: 'one' });
    const held = (await emitAck(socket, 'message', { text: 'two' })).message as Message;
    for (let i = 0; i < 2; i++) {
      await redis.stop();
      redis = await startRedisServer({ dir: data, appendonly: true, port: redis.port });
      // A client claiming a seq beyond the counter in the current epoch starts another one.
      const current = await until(
        () => emitAck(socket, 'join-room', 'Chain room'),
        (ack) => ack.success,
        'a join served after a clean restart',
        15_000,
      );
      const bogus = await emitAck(socket, 'join-room', {
        room: 'Chain room',
        since: 99,
        epoch: current.epoch,
      });
      expect(bogus, JSON.stringify(bogus)).toMatchObject({ success: true, recovered: false });
      expect(bogus.epoch).not.toBe(current.epoch);
    }
    const page = nextEvent<Message[]>(socket, 'previous-messages');
    const caughtUp = await emitAck(socket, 'join-room', { room: 'Chain room', since: 1, epoch: held.epoch });
    expect(caughtUp).toMatchObject({ success: true, recovered: true, latestSeq: 2 });
    expect(caughtUp.epoch).not.toBe(held.epoch);
    expect((await page).map((m) => m.text)).toEqual(['two']);
  });
});

describe('pub/sub drops while messages are stored', () => {
  it('members get what they missed without reconnecting, none twice (quiet room: the lost message is the last)', async () => {
    const { redis } = await ownRedis();
    cleanups.push(() => redis.stop().then(() => undefined));
    const a = await app('pubsub-a', redis.url);
    const b = await app('pubsub-b', redis.url, a.prefix);
    const alice = await client(a.url);
    const bob = await client(b.url);
    const room = 'Dropped pubsub';
    await alice.emit('create-room', room);
    await alice.join(room);
    await bob.join(room);
    expect(await alice.send('before')).toBe(true);
    await eventually(() => bob.contiguous === 1, 'bob has the first message');

    // Cut instance b's subscriber off and keep it from reconnecting (no new connections accepted).
    const raw = createClient({ url: redis.url });
    await raw.connect();
    cleanups.push(() => raw.close());
    const list = await raw.clientList();
    const sub = list.find((c) => c.name === `${b.instanceId}-sub`);
    expect(sub, 'instance b subscriber connection').toBeDefined();
    await raw.configSet('maxclients', String(list.length - 1));
    cleanups.push(() => raw.configSet('maxclients', '10000').then(() => undefined));
    await raw.sendCommand(['CLIENT', 'KILL', 'ID', String(sub?.id)]);
    const notices: RoomSeq[] = [];
    bob.socket.on('room-seq', (n: RoomSeq) => notices.push(n));

    const acked: number[] = [];
    for (const text of ['missed 1', 'missed 2', 'missed 3']) {
      const ack = await alice.emit('message', { text, clientId: `c-${text.replace(' ', '-')}` });
      expect(ack.success).toBe(true);
      acked.push((ack.message as Message).seq);
    }
    expect(bob.contiguous).toBe(1); // nothing reached b while its subscriber was away
    await raw.configSet('maxclients', '10000');

    // b re-subscribes, tells its rooms their latest seq, and bob fetches the three on the live socket.
    await eventually(() => acked.every((s) => bob.seen.has(s)), 'bob got the missed messages', 15_000);
    expect(notices.some((n) => n.room === room && n.seq === 4)).toBe(true);
    expect(texts(bob)).toEqual(['before', 'missed 1', 'missed 2', 'missed 3']);
    expect(bob.reconnects).toBe(0);
    expect(bob.liveDuplicates).toBe(0);
    expect(bob.gapFetches).toBeGreaterThanOrEqual(1);

    // Live delivery resumed; nothing arrives twice.
    const live = nextEvent<Message>(bob.socket, 'chat-message', (m) => m.text === 'after');
    expect(await alice.send('after')).toBe(true);
    expect((await live).seq).toBe(5);
    expect(bob.liveDuplicates).toBe(0);
    expect(texts(bob)).toHaveLength(5);
  });

  it('tells members the latest seq and epoch every SEQ_NOTICE_MS', async () => {
    const { redis } = await ownRedis();
    cleanups.push(() => redis.stop().then(() => undefined));
    const a = await app('notice', redis.url, undefined, { SEQ_NOTICE_MS: '500' });
    const alice = await client(a.url);
    await alice.emit('create-room', 'Quiet room');
    const joined = await alice.join('Quiet room');
    await alice.send('hello');
    const notice = await nextEvent<RoomSeq>(alice.socket, 'room-seq', (n) => n.seq === 1, 3000);
    expect(notice).toEqual({ room: 'Quiet room', seq: 1, epoch: joined.epoch });
  });
});
