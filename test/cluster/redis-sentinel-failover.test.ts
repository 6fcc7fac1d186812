import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from '../../src/protocol.js';
import { buildCluster, type Cluster } from '../../tools/cluster/builder.js';
import { redisSentinel, type RedisSentinelDeployment } from '../../tools/cluster/redis-sentinel.js';
import { ChatClient } from '../helpers/chat-client.js';
import { eventually } from '../helpers/poll.js';

/**
 * Chat through nginx on three instances over Sentinel (primary + replica + 3 sentinels,
 * down-after 2 s) while the primary is SIGKILLed: two rooms, a sender and a reader in each, a
 * message every 100 ms per room. Measured: time from the kill until the reader again gets live
 * messages within a second of their sending, messages acked vs read, live duplicates.
 */

const SEND_EVERY_MS = 100;

let dir: string;
let cluster: Cluster;
let redis: RedisSentinelDeployment;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'chat-redis-sentinel-'));
  cluster = await buildCluster({
    dir,
    instances: 3,
    redis: redisSentinel({ downAfterMs: 2000 }),
    nginx: {},
    env: () => ({
      SESSION_SECRET: randomBytes(32).toString('hex'),
      RATE_LIMITS: 'off',
      LOG_LEVEL: 'warn',
      TRUST_PROXY: 'loopback',
      REDIS_COMMAND_TIMEOUT_MS: '2000',
    }),
  });
  redis = cluster.redis as RedisSentinelDeployment;
}, 120_000);

afterAll(async () => {
  await cluster?.stop({ instanceSignal: 'SIGKILL' });
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Sentinel: the primary SIGKILLed during steady chat through nginx', () => {
  it('resumes live chat after the failover and reports acked vs read', async () => {
    const url = cluster.nginx?.url ?? '';
    const runs: {
      sender: ChatClient;
      reader: ChatClient;
      sentAt: Map<string, number>;
      live: { at: number; sentAt: number }[];
    }[] = [];
    for (const room of ['Sentinel north', 'Sentinel south']) {
      const sender = await ChatClient.create(url);
      const reader = await ChatClient.create(url);
      expect((await sender.emit('create-room', room)).success).toBe(true);
      await sender.join(room);
      await reader.join(room);
      const run = {
        sender,
        reader,
        sentAt: new Map<string, number>(),
        live: [] as { at: number; sentAt: number }[],
      };
      reader.socket.on('chat-message', (m: Message) => {
        const sentAt = m.clientId ? run.sentAt.get(m.clientId) : undefined;
        if (sentAt !== undefined) run.live.push({ at: Date.now(), sentAt });
      });
      runs.push(run);
    }

    let sending = true;
    const loops = runs.map(async (run, r) => {
      for (let n = 0; sending; n++) {
        const text = `r${r} m${n}`;
        const started = Date.now();
        const done = run.sender.send(text);
        const clientId = [...run.sender.pending].find(([, t]) => t === text)?.[0];
        if (clientId) run.sentAt.set(clientId, started);
        await done;
        const wait = SEND_EVERY_MS - (Date.now() - started);
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
    });

    await eventually(() => runs.every((r) => r.live.length >= 10), 'steady live chat', 15_000);
    const primary = await redis.primary();
    if (primary === undefined) throw new Error('the sentinels name no primary');
    const killedAt = Date.now();
    await primary.kill('SIGKILL');
    const resumedAfter = (run: (typeof runs)[number]) =>
      run.live.find((l) => l.sentAt > killedAt && l.at - l.sentAt < 1000)?.at;
    await eventually(() => runs.every((r) => resumedAfter(r) !== undefined), 'live chat resumed', 45_000);
    const resumeMs = runs.map((r) => (resumedAfter(r) ?? 0) - killedAt);
    const newPrimary = await redis.primary();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    sending = false;
    await Promise.all(loops);

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
    const ackedSeqs = (i: number) => [
      ...new Set([...(runs[i]?.sender.seen.keys() ?? []), ...(retried[i] ?? [])]),
    ];
    await eventually(
      () => runs.every((r, i) => ackedSeqs(i).every((seq) => r.reader.seen.has(seq))),
      'readers hold every acked message',
      3_000,
    ).catch(() => undefined);
    const figures = runs.map((r, i) => {
      const acked = ackedSeqs(i);
      const missing = acked.filter((seq) => !r.reader.seen.has(seq));
      return {
        resumeMs: resumeMs[i],
        acked: acked.length,
        read: acked.length - missing.length,
        missing: missing.length,
        liveDuplicates: r.reader.liveDuplicates,
        readerReconnects: r.reader.reconnects,
      };
    });
    process.stderr.write(
      `[redis sentinel failover] primary :${primary.port} -> :${newPrimary?.port} ${JSON.stringify(figures, null, 1)}\n`,
    );
    for (const r of runs) {
      r.sender.close();
      r.reader.close();
    }
    expect(newPrimary?.port).not.toBe(primary.port);
    for (const f of figures) {
      expect(f.resumeMs).toBeLessThan(45_000);
      expect(f.liveDuplicates).toBe(0);
      expect(f.acked).toBeGreaterThan(20);
    }
  }, 150_000);
});
