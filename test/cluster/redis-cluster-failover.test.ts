import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import calculateSlot from 'cluster-key-slot';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from '../../src/protocol.js';
import { createKeys } from '../../src/redis/keys.js';
import { buildCluster, type Cluster } from '../../tools/cluster/builder.js';
import { redisCluster, type RedisClusterDeployment } from '../../tools/cluster/redis-cluster.js';
import { ChatClient } from '../helpers/chat-client.js';
import { eventually } from '../helpers/poll.js';

/**
 * Chat through nginx on three instances over a local Redis Cluster (3 masters + 3 replicas,
 * cluster-node-timeout 2 s) while one master is SIGKILLed: one room per master, a sender and a
 * reader in each, a message every 100 ms per room. Measured per room: time from the kill until the
 * reader again gets live messages within a second of their sending, messages acked vs read, live
 * duplicates. Live chat must resume in every room; what pub/sub dropped during the failover is
 * reported (the reader's gap detection, not this topology work, makes the count whole).
 */

const PREFIX = 'chat:';
const SEND_EVERY_MS = 100;

let dir: string;
let cluster: Cluster;
let redis: RedisClusterDeployment;

interface RoomRun {
  room: string;
  masterPort: number;
  sender: ChatClient;
  reader: ChatClient;
  sentAt: Map<string, number>;
  /** Receive time of live messages with their send time. */
  live: { at: number; sentAt: number }[];
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'chat-redis-cluster-'));
  cluster = await buildCluster({
    dir,
    instances: 3,
    redis: redisCluster({ nodeTimeoutMs: 2000 }),
    nginx: {},
    env: () => ({
      SESSION_SECRET: randomBytes(32).toString('hex'),
      RATE_LIMITS: 'off',
      LOG_LEVEL: 'warn',
      TRUST_PROXY: 'loopback',
      REDIS_PREFIX: PREFIX,
      REDIS_COMMAND_TIMEOUT_MS: '2000',
    }),
  });
  redis = cluster.redis as RedisClusterDeployment;
}, 120_000);

afterAll(async () => {
  await cluster?.stop({ instanceSignal: 'SIGKILL' });
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** One room name per master, from CLUSTER SLOTS. */
async function roomPerMaster(): Promise<{ room: string; masterPort: number }[]> {
  const client = createClient({ url: redis.url });
  await client.connect();
  const ranges = await client.clusterSlots();
  await client.close();
  const keys = createKeys(PREFIX);
  const byMaster = new Map<number, string>();
  for (let i = 0; byMaster.size < ranges.length && i < 10_000; i++) {
    const room = `Failover ${i}`;
    const slot = calculateSlot(keys.roomSeq(room));
    const port = ranges.find((r) => r.from <= slot && slot <= r.to)?.master.port ?? -1;
    if (!byMaster.has(port)) byMaster.set(port, room);
  }
  return [...byMaster].map(([masterPort, room]) => ({ room, masterPort }));
}

describe('Redis Cluster: a master SIGKILLed during steady chat through nginx', () => {
  it('resumes live chat in every room and reports acked vs read', async () => {
    const url = cluster.nginx?.url ?? '';
    const runs: RoomRun[] = [];
    for (const { room, masterPort } of await roomPerMaster()) {
      const sender = await ChatClient.create(url);
      const reader = await ChatClient.create(url);
      expect((await sender.emit('create-room', room)).success).toBe(true);
      await sender.join(room);
      await reader.join(room);
      const run: RoomRun = { room, masterPort, sender, reader, sentAt: new Map(), live: [] };
      reader.socket.on('chat-message', (m: Message) => {
        const sentAt = m.clientId ? run.sentAt.get(m.clientId) : undefined;
        if (sentAt !== undefined) run.live.push({ at: Date.now(), sentAt });
      });
      runs.push(run);
    }
    expect(runs.length).toBe(3);

    let sending = true;
    const loops = runs.map(async (run, r) => {
      for (let n = 0; sending; n++) {
        const text = `r${r} m${n}`;
        const started = Date.now();
        // send() keeps an unacked message pending and retries it after a reconnect.
        const done = run.sender.send(text);
        const clientId = [...run.sender.pending].find(([, t]) => t === text)?.[0];
        if (clientId) run.sentAt.set(clientId, started);
        await done;
        const wait = SEND_EVERY_MS - (Date.now() - started);
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
    });

    // Steady chat first: every room's reader gets live messages.
    await eventually(() => runs.every((r) => r.live.length >= 10), 'steady live chat in every room', 15_000);
    const victim = runs[0];
    if (victim === undefined) throw new Error('no room');
    const node = redis.nodes.find((n) => n.port === victim.masterPort);
    if (node === undefined) throw new Error(`no node :${victim.masterPort}`);
    const killedAt = Date.now();
    await node.kill('SIGKILL');

    // Resumed: a live message sent after the kill arrives within a second of its sending.
    const resumedAfter = (run: RoomRun) =>
      run.live.find((l) => l.sentAt > killedAt && l.at - l.sentAt < 1000)?.at;
    await eventually(
      () => runs.every((r) => resumedAfter(r) !== undefined),
      'live chat resumed in every room',
      30_000,
    );
    const resumeMs = runs.map((r) => (resumedAfter(r) ?? 0) - killedAt);
    // A little more steady chat after the recovery, then stop and let pending sends finish.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    sending = false;
    await Promise.all(loops);
    // Sends refused during the failover stay pending: send them again with their clientId (a
    // message that was stored after all is acked as the stored one, not stored twice).
    const retried = runs.map(() => new Set<number>());
    await eventually(
      async () => {
        for (const [i, r] of runs.entries()) {
          for (const [clientId, text] of [...r.sender.pending]) {
            const ack = await r.sender.emit('message', { text, clientId }).catch(() => undefined);
            if (ack?.success) {
              retried[i]?.add((ack.message as Message).seq);
              r.sender.pending.delete(clientId);
            }
          }
        }
        return runs.every((r) => r.sender.pending.size === 0);
      },
      'every send acked',
      20_000,
    );
    // Reader catch-up that is already under way (a re-join) may still land.
    await eventually(() => runs.every((r) => r.reader.connected), 'readers connected', 20_000);

    // Messages acked last may still be on their way to the reader: give them a moment (not failing).
    const ackedSeqs = (r: RoomRun, i: number) => [
      ...new Set([...r.sender.seen.keys(), ...(retried[i] ?? [])]),
    ];
    await eventually(
      () => runs.every((r, i) => ackedSeqs(r, i).every((seq) => r.reader.seen.has(seq))),
      'readers hold every acked message',
      3_000,
    ).catch(() => undefined);
    const figures = runs.map((r, i) => {
      const acked = ackedSeqs(r, i);
      const missing = acked.filter((seq) => !r.reader.seen.has(seq));
      return {
        room: r.room,
        onKilledMaster: i === 0,
        resumeMs: resumeMs[i],
        acked: acked.length,
        read: acked.length - missing.length,
        missing: missing.length,
        liveDuplicates: r.reader.liveDuplicates,
        readerReconnects: r.reader.reconnects,
      };
    });
    process.stderr.write(`[redis cluster failover] ${JSON.stringify(figures, null, 1)}\n`);
    for (const r of runs) {
      r.sender.close();
      r.reader.close();
    }
    for (const f of figures) {
      expect(f.resumeMs).toBeLessThan(30_000);
      expect(f.liveDuplicates).toBe(0);
      expect(f.acked).toBeGreaterThan(20);
    }
  }, 120_000);
});
