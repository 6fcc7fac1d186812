import { describe, expect, it } from 'vitest';
import { redisCli } from '../../tools/cluster/redis-cluster.js';
import { redisSentinel, type RedisSentinelDeployment } from '../../tools/cluster/redis-sentinel.js';
import { ChatClient } from '../helpers/chat-client.js';
import {
  chatThrough,
  expectNothingLost,
  useFailoverCluster,
  type RoomFigures,
} from '../helpers/failover-chat.js';
import { eventually } from '../helpers/poll.js';

/**
 * Chat through nginx on three instances over Sentinel (primary + replica + 3 sentinels,
 * down-after 2 s) while the primary is SIGKILLed, then during a SENTINEL FAILOVER. Live chat
 * must resume with nothing acked lost and nothing twice; the figures are reported.
 */

// The periodic room-seq notice out of the way: only a re-subscribe can explain one.
const suite = useFailoverCluster<RedisSentinelDeployment>(
  'redis-sentinel',
  redisSentinel({ downAfterMs: 2000 }),
  { SEQ_NOTICE_MS: '600000' },
);

/**
 * Every member read every acked message, none twice, and every acked message is still in the
 * room's history: an append is acked only once the replica holds it (REDIS_ACK_REPLICAS, `auto`
 * is 1 here), so neither a killed primary nor a SENTINEL FAILOVER (whose old primary keeps
 * answering for ~1 s before the clients follow the new one, then discards those writes) loses an
 * acked message. Without it a SENTINEL FAILOVER lost 10-11 acked messages per room.
 */
function report(what: string, figures: RoomFigures[]): void {
  expectNothingLost(`redis sentinel: ${what}`, figures);
}

describe('Sentinel failovers during steady chat through nginx', () => {
  it('the primary SIGKILLed: live chat resumes after the failover', async () => {
    const primary = await suite.redis.primary();
    if (primary === undefined) throw new Error('the sentinels name no primary');
    // A member of a quiet room: told the room's seq once the instances follow the new primary.
    const quiet = await ChatClient.create(suite.cluster.nginx?.url ?? '');
    const noticedAt: number[] = [];
    let killedAt = 0;
    let figures: RoomFigures[] = [];
    try {
      expect((await quiet.emit('create-room', 'Sentinel quiet')).success).toBe(true);
      expect((await quiet.join('Sentinel quiet')).success).toBe(true);
      quiet.socket.on('room-seq', () => noticedAt.push(Date.now()));
      figures = await chatThrough(
        suite.cluster.nginx?.url ?? '',
        ['Sentinel north', 'Sentinel south'],
        () => {
          killedAt = Date.now();
          return primary.kill('SIGKILL');
        },
      );
      await eventually(() => noticedAt.some((t) => t > killedAt), 'a room-seq notice after the kill', 30_000);
    } finally {
      quiet.close();
    }
    const noticeMs = (noticedAt.find((t) => t > killedAt) ?? 0) - killedAt;
    process.stderr.write(`[redis sentinel: primary SIGKILL] quiet room's room-seq after ${noticeMs} ms\n`);
    const promoted = await suite.redis.primary();
    report(`primary :${primary.port} SIGKILL -> :${promoted?.port}`, figures);
    expect(promoted?.port).not.toBe(primary.port);
    for (const f of figures) expect(f.resumeMs).toBeLessThan(45_000);
    // The old primary comes back as a replica, so the next case has one to promote.
    await primary.start();
    await eventually(
      async () => /master_link_status:up/.test(await redisCli(primary.port, ['info', 'replication'])),
      'the old primary replicates the new one',
      30_000,
    );
  }, 150_000);

  it('SENTINEL FAILOVER: live chat resumes after the handover', async () => {
    const before = await suite.redis.primary();
    const sentinel = suite.redis.sentinels[0];
    if (before === undefined || sentinel === undefined) throw new Error('no primary or sentinel');
    const figures = await chatThrough(
      suite.cluster.nginx?.url ?? '',
      ['Handover north', 'Handover south'],
      async () => {
        await redisCli(sentinel.port, ['sentinel', 'failover', suite.redis.master]);
        await eventually(
          async () => (await suite.redis.primary())?.port !== before.port,
          'a new primary',
          30_000,
        );
      },
    );
    report(`SENTINEL FAILOVER :${before.port} -> :${(await suite.redis.primary())?.port}`, figures);
    for (const f of figures) expect(f.resumeMs).toBeLessThan(30_000);
  }, 150_000);
});
