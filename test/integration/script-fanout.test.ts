import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import calculateSlot from 'cluster-key-slot';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Message } from '../../src/protocol.js';
import { startRedisServer, type RedisProcess } from '../../tools/cluster/redis.js';
import { socketRoom } from '../../src/realtime/events.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { ChatClient } from '../helpers/chat-client.js';
import { eventually } from '../helpers/poll.js';

/**
 * Fan-out from the append script (src/realtime/script-fanout.ts), against a redis-server of this
 * file's own (one primary, no replica: the topology where it is used): a new message is stored and
 * published to the other instances by one script, in one round trip; its readers on every instance
 * get the same message as the ack; a repeat, a refusal or a text that may mention someone publish
 * as before (nothing, nothing, the adapter after the append).
 */

let dir: string;
let redis: RedisProcess;
let a: TestApp;
let b: TestApp;
let alice: ChatClient;
let carol: ChatClient;
let bob: ChatClient;
const room = 'Fan-out room';

/**
 * Commands Redis ran while `fn` ran that name `mark` (a key, a channel or an argument holding it),
 * as `name` (sent by a client) or `lua:name` (run by a script). Others' background commands
 * (presence heartbeats) are left out by the mark.
 */
async function commandsDuring(mark: string, fn: () => Promise<void>): Promise<string[]> {
  const monitor = createClient({ url: redis.url });
  await monitor.connect();
  const seen: string[] = [];
  await monitor.monitor((line: string) => {
    const m = /\[\d+ (\S+)\] "([^"]+)"/.exec(line);
    if (m?.[2] && line.includes(mark))
      seen.push(m[1] === 'lua' ? `lua:${m[2].toLowerCase()}` : m[2].toLowerCase());
  });
  try {
    await fn();
    // MONITOR lines trail the replies a little.
    await new Promise((resolve) => setTimeout(resolve, 200));
  } finally {
    monitor.destroy();
  }
  return seen;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'chat-fanout-'));
  redis = await startRedisServer({ dir, appendonly: false });
  a = await startApp({ name: 'fanout', env: { REDIS_URL: redis.url } });
  b = await startApp({ name: 'fanout', prefix: a.prefix, env: { REDIS_URL: redis.url } });
  alice = await ChatClient.create(a.url);
  carol = await ChatClient.create(a.url);
  bob = await ChatClient.create(b.url);
  await alice.emit('create-room', room);
  for (const c of [alice, carol, bob]) await c.join(room);
  // Loads the append script into this fresh Redis (EVALSHA, NOSCRIPT, then EVAL) before counting.
  expect(await alice.send('warm-up')).toBe(true);
});

afterAll(async () => {
  for (const c of [alice, carol, bob]) c?.close();
  await Promise.all([a?.close(), b?.close()]);
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('fan-out from the append script', () => {
  it('stores and publishes a new message in one round trip; readers on both instances get the ack', async () => {
    let ack: Message | undefined;
    const commands = await commandsDuring('one trip', async () => {
      const reply = await alice.emit('message', { text: 'one trip', clientId: 'fanout-1' });
      expect(reply.success).toBe(true);
      ack = reply.message as Message;
      await eventually(() => bob.seen.has(ack?.seq ?? -1) && carol.seen.has(ack?.seq ?? -1), 'both read it');
    });
    expect(commands.filter((c) => c === 'evalsha' || c === 'eval')).toHaveLength(1);
    expect(commands.filter((c) => c === 'lua:spublish')).toHaveLength(1);
    expect(commands.filter((c) => c === 'spublish' || c === 'publish')).toEqual([]);
    expect(bob.seen.get(ack?.seq ?? -1)).toEqual(ack);
    expect(carol.seen.get(ack?.seq ?? -1)).toEqual(ack);
    expect(alice.seen.has(ack?.seq ?? -1)).toBe(false);
  });

  it('publishes nothing for a repeat of a stored clientId', async () => {
    const first = await alice.emit('message', { text: 'once', clientId: 'fanout-2' });
    const seq = (first.message as Message).seq;
    await eventually(() => bob.seen.has(seq), 'bob read the first');
    const commands = await commandsDuring('fanout-2', async () => {
      const again = await alice.emit('message', { text: 'once', clientId: 'fanout-2' });
      expect(again).toMatchObject({ success: true, duplicate: true });
    });
    expect(commands.filter((c) => c.endsWith('publish'))).toEqual([]);
  });

  it('lets a text that may mention someone be published by the adapter, after its mentions', async () => {
    const commands = await commandsDuring('hello @', async () => {
      const reply = await alice.emit('message', { text: `hello @${bob.username}`, clientId: 'fanout-3' });
      const seq = (reply.message as Message).seq;
      await eventually(() => bob.seen.has(seq) && carol.seen.has(seq), 'both read the mention');
    });
    expect(commands.filter((c) => c === 'lua:spublish')).toEqual([]);
    expect(commands.filter((c) => c === 'spublish')).toHaveLength(1);
  });

  it('keeps every reader gap-free, none twice, under interleaved senders on both instances', async () => {
    const before = Math.max(0, ...bob.seen.keys());
    await Promise.all(
      [alice, bob, carol].map(async (c, i) => {
        for (let n = 0; n < 20; n++) expect(await c.send(`burst ${i}-${n}`)).toBe(true);
      }),
    );
    const last = before + 60;
    for (const c of [alice, bob, carol]) {
      await eventually(() => c.contiguous >= last, `${c.username} holds every seq up to ${last}`);
      expect(c.liveDuplicates).toBe(0);
    }
  });
});

/**
 * On a Redis Cluster (the integration-cluster project), with replica acks off so the fan-out is
 * used: every room's channel carries the room's hash tag, so the script publishes in the room's
 * own slot on whichever master holds it; where the adapter's channel is in another slot, the
 * adapter publishes. Counted with MONITOR on every master.
 */
describe.runIf((inject('redisEnv').REDIS_MODE ?? 'standalone') === 'cluster')('on a Redis Cluster', () => {
  it('publishes from the script in the slot of every room, on every master (else by the adapter)', async () => {
    const env = { REDIS_ACK_REPLICAS: '0' };
    const c1 = await startApp({ name: 'fanout-cluster', env });
    const c2 = await startApp({ name: 'fanout-cluster', prefix: c1.prefix, env });
    const seed = createClient({ url: inject('redisUrl') });
    await seed.connect();
    const masters = String(await seed.sendCommand(['CLUSTER', 'NODES']))
      .split('\n')
      .filter((l) => l.includes('master') && !l.includes('fail'))
      .map((l) => (l.split(' ')[1] ?? '').split('@')[0] ?? '');
    seed.destroy();
    const lines: string[] = [];
    const monitors = await Promise.all(
      masters.map(async (addr) => {
        const m = createClient({ url: `redis://${addr}` });
        await m.connect();
        await m.monitor((line: string) => void lines.push(line));
        return m;
      }),
    );
    const x = await ChatClient.create(c1.url);
    const y = await ChatClient.create(c2.url);
    try {
      const rooms = [
        'Cluster north',
        'Cluster south',
        'Cluster east',
        'Cluster west',
        'Cluster centre',
        'Cluster up',
      ];
      for (const r of rooms) {
        expect((await x.emit('create-room', r)).success, r).toBe(true);
        await x.join(r);
        await y.join(r);
        expect(await x.send(`hello ${r}`), r).toBe(true);
        const seq = x.acked.at(-1)?.seq ?? -1;
        await eventually(() => y.seen.has(seq), `${r}: the other instance's reader has it`);
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      const published = (text: string, lua: boolean) =>
        lines.filter(
          (l) => l.includes(`hello ${text}`) && /"spublish"/i.test(l) && l.includes(' lua]') === lua,
        ).length;
      for (const r of rooms) {
        // The sharded adapter takes a 20-character room for a socket id and publishes it on its main
        // channel, in another slot ('Cluster north', 'Cluster south'): there the adapter publishes, after the append.
        const fromScript = socketRoom(r).length !== 20;
        expect(published(r, true), r).toBe(fromScript ? 1 : 0);
        expect(published(r, false), r).toBe(fromScript ? 0 : 1);
      }
      expect(rooms.filter((r) => socketRoom(r).length === 20)).toEqual(['Cluster north', 'Cluster south']);
      // The rooms really are spread: their slots sit on at least two masters.
      const slots = new Set(rooms.map((r) => calculateSlot(r)));
      expect(slots.size).toBe(rooms.length);
    } finally {
      x.close();
      y.close();
      for (const m of monitors) m.destroy();
      await Promise.all([c1.close(), c2.close()]);
    }
  });
});
