import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Message } from '../../src/protocol.js';
import { createKeys } from '../../src/redis/keys.js';
import { redisCli } from '../../tools/cluster/redis-cluster.js';
import { startRedisServer, type RedisProcess } from '../../tools/cluster/redis.js';
import { connect, emitAck, eventually, nextEvent, signUp, startApp, type TestApp } from '../helpers/app.js';

/**
 * REDIS_ACK_REPLICAS: a message is acknowledged only once a replica holds it (WAIT after the
 * append), so an acked message survives a failover. Against a primary and a replica of this file's
 * own (standalone mode with REDIS_ACK_REPLICAS=1; cluster and sentinel modes do the same per shard
 * or primary, see test/cluster/redis-*-failover.test.ts): with the replica frozen (SIGSTOP) a send
 * is answered `unavailable` instead of being acked unreplicated, the rest of the chat still
 * answers, and the sender's retry with its clientId is stored once (standalone project only). In
 * the cluster and sentinel projects: `auto` finds the replicas and appends wait for one.
 */

const standalone = Object.keys(inject('redisEnv')).length === 0;
const ACK_TIMEOUT_MS = 300;

let dir: string;
let primary: RedisProcess;
let replica: RedisProcess;
const apps: TestApp[] = [];

beforeAll(async () => {
  if (!standalone) return;
  dir = mkdtempSync(path.join(tmpdir(), 'chat-replica-ack-'));
  primary = await startRedisServer({
    dir: path.join(dir, 'primary'),
    appendonly: false,
    extraArgs: ['--repl-diskless-sync-delay', '0'],
  });
  replica = await startReplica();
  await eventually(
    async () => /master_link_status:up/.test(await redisCli(replica.port, ['info', 'replication'])),
    'the replica is in sync',
    10_000,
  );
}, 30_000);

afterAll(async () => {
  if (replica?.running) process.kill(replica.pid, 'SIGCONT');
  for (const app of apps) await app.close();
  await replica?.stop();
  await primary?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The replica of `primary` (on `port` when it comes back). */
const startReplica = (port?: number) =>
  startRedisServer({
    dir: path.join(dir, 'replica'),
    appendonly: false,
    ...(port === undefined ? {} : { port }),
    extraArgs: ['--replicaof', '127.0.0.1', String(primary.port)],
  });

async function member(replicas: string, room: string, env: Record<string, string> = {}) {
  const app = await startApp({
    name: `ack${replicas}`,
    env: {
      REDIS_URL: primary.url,
      REDIS_ACK_REPLICAS: replicas,
      REDIS_ACK_TIMEOUT_MS: String(ACK_TIMEOUT_MS),
      REDIS_COMMAND_TIMEOUT_MS: '2000',
      ...env,
    },
  });
  apps.push(app);
  const { cookie } = await signUp(app.url);
  const socket = await connect(app.url, cookie);
  const created = await emitAck(socket, 'create-room', room);
  expect(created.success || created.code === 'room_exists').toBe(true);
  expect((await emitAck(socket, 'join-room', room)).success).toBe(true);
  return { app, socket, cookie };
}

/** Runs `fn` with the replica frozen: it takes no replication stream and answers no WAIT. */
async function replicaFrozen<T>(fn: () => Promise<T>): Promise<T> {
  process.kill(replica.pid, 'SIGSTOP');
  try {
    return await fn();
  } finally {
    process.kill(replica.pid, 'SIGCONT');
  }
}

describe.skipIf(!standalone)('REDIS_ACK_REPLICAS', () => {
  it('acks a message only once a replica holds it; a retry by clientId is stored once', async () => {
    const { app, socket } = await member('1', 'Replicated room');
    // Another member: one socket's events are handled in order, so it would wait for the append.
    const other = await connect(app.url, (await signUp(app.url)).cookie);
    // The replica's link may still be coming up on a loaded machine (a primary without a replica
    // refuses for REDIS_ACK_GRACE_MS): retry with the same clientId, as a client does.
    const firstId = randomUUID();
    await eventually(
      async () => (await emitAck(socket, 'message', { text: 'first', clientId: firstId })).success === true,
      'the first message acked once the replica is linked',
      15_000,
    );

    const clientId = randomUUID();
    await replicaFrozen(async () => {
      const started = performance.now();
      // The join answers while the append waits for the replica (WAIT holds its own connection).
      const [refused, join] = await Promise.all([
        emitAck(socket, 'message', { text: 'second', clientId }),
        (async () => {
          await new Promise((resolve) => setTimeout(resolve, 50));
          const t = performance.now();
          const ack = await emitAck(other, 'join-room', 'Replicated room');
          return { ack, ms: performance.now() - t };
        })(),
      ]);
      const elapsed = performance.now() - started;
      expect(refused).toMatchObject({ success: false, code: 'unavailable' });
      expect(elapsed).toBeGreaterThanOrEqual(ACK_TIMEOUT_MS - 5);
      expect(join.ack.success).toBe(true);
      expect(join.ms).toBeLessThan(ACK_TIMEOUT_MS / 2);
    });

    // The sender retries: the message the first attempt stored is confirmed and acked, once.
    const retried = await emitAck(socket, 'message', { text: 'second', clientId });
    expect(retried).toMatchObject({ success: true, duplicate: true });
    const page = nextEvent<Message[]>(socket, 'previous-messages');
    await emitAck(socket, 'join-room', { room: 'Replicated room', since: 0 });
    const texts = (await page).map((m) => m.text).reverse();
    expect(texts).toEqual(['first', 'second']);
    other.close();
    // And the replica holds both.
    const key = createKeys(app.prefix).roomMessages('Replicated room');
    expect(await redisCli(replica.port, ['llen', key])).toBe('2');
  });

  it('a primary left without its replica refuses for REDIS_ACK_GRACE_MS, then acks unconfirmed until the replica is back', async () => {
    const GRACE_MS = 1500;
    const { socket } = await member('1', 'Lonely room', { REDIS_ACK_GRACE_MS: String(GRACE_MS) });
    const send = (text: string) => emitAck(socket, 'message', { text, clientId: randomUUID() });
    expect((await send('replicated')).success).toBe(true);
    await replica.stop();
    const refusedAt = performance.now();
    expect(await send('alone at first')).toMatchObject({ success: false, code: 'unavailable' });
    // Refused until the grace has passed (a handover looks like this for a moment), then acked.
    let acked = await send('alone');
    while (!acked.success) acked = await send('alone');
    expect(performance.now() - refusedAt).toBeGreaterThanOrEqual(GRACE_MS - ACK_TIMEOUT_MS);
    // Acked without waiting for a replica now.
    const t = performance.now();
    expect((await send('unconfirmed')).success).toBe(true);
    expect(performance.now() - t).toBeLessThan(ACK_TIMEOUT_MS);
    // The replica returns (a failed primary restarted as a replica): WAIT is back within a recheck.
    replica = await startReplica(replica.port);
    await eventually(
      async () => /master_link_status:up/.test(await redisCli(replica.port, ['info', 'replication'])),
      'the replica is in sync again',
      10_000,
    );
    await eventually(
      async () => /connected_slaves:1/.test(await redisCli(primary.port, ['info', 'replication'])),
      'the primary sees its replica',
      10_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect((await send('replicated again')).success).toBe(true);
    const frozen = await replicaFrozen(() => send('waits again'));
    expect(frozen).toMatchObject({ success: false, code: 'unavailable' });
  });

  it('REDIS_ACK_REPLICAS=0 acks unreplicated (what the WAIT prevents)', async () => {
    const { socket } = await member('0', 'Unreplicated room');
    const acked = await replicaFrozen(() =>
      emitAck(socket, 'message', { text: 'unconfirmed', clientId: randomUUID() }),
    );
    expect(acked.success).toBe(true);
  });
});

describe.skipIf(standalone)('REDIS_ACK_REPLICAS=auto on a replicated topology', () => {
  it('waits for one replica per append', async () => {
    const app = await startApp({ name: 'ackauto' });
    apps.push(app);
    expect(app.server.redis.durable.replicas).toBe(1);
    const { cookie } = await signUp(app.url);
    const socket = await connect(app.url, cookie);
    expect((await emitAck(socket, 'create-room', 'Auto replicated')).success).toBe(true);
    expect((await emitAck(socket, 'join-room', 'Auto replicated')).success).toBe(true);
    const sent = await emitAck(socket, 'message', { text: 'confirmed', clientId: randomUUID() });
    expect(sent).toMatchObject({ success: true, duplicate: false });
    socket.close();
  });
});
