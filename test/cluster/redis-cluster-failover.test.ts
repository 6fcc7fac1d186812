import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import calculateSlot from 'cluster-key-slot';
import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import { socketRoom } from '../../src/realtime/events.js';
import { createKeys } from '../../src/redis/keys.js';
import { redisCli, redisCluster, type RedisClusterDeployment } from '../../tools/cluster/redis-cluster.js';
import { ChatClient } from '../helpers/chat-client.js';
import {
  chatThrough,
  expectNothingLost,
  useFailoverCluster,
  type RoomFigures,
} from '../helpers/failover-chat.js';
import { eventually } from '../helpers/poll.js';

/**
 * Chat through nginx on three instances over a local Redis Cluster (3 masters + 3 replicas,
 * cluster-node-timeout 2 s), one room per master, while a master is SIGKILLed, then while a
 * replica takes over with a graceful CLUSTER FAILOVER. Live chat must resume in every room with
 * nothing acked lost and nothing twice (pub/sub is at-most-once: what it dropped during the
 * failover is for the client's gap detection on `seq` to fetch); the figures are reported.
 */

const PREFIX = 'chat:';

// The periodic room-seq notice out of the way: only a re-subscribe can explain one.
const suite = useFailoverCluster<RedisClusterDeployment>(
  'redis-cluster',
  redisCluster({ nodeTimeoutMs: 2000 }),
  { REDIS_PREFIX: PREFIX, SEQ_NOTICE_MS: '600000' },
);

/** One room name per master (from CLUSTER SLOTS), the first on the master at `firstOn` when given. */
async function roomPerMaster(tag: string): Promise<{ room: string; masterPort: number }[]> {
  const seed = suite.redis.nodes.find((n) => n.running);
  const client = createClient({ url: seed?.url ?? suite.redis.url });
  await client.connect();
  const ranges = await client.clusterSlots();
  await client.close();
  const keys = createKeys(PREFIX);
  const byMaster = new Map<number, string>();
  for (let i = 0; byMaster.size < ranges.length && i < 10_000; i++) {
    const room = `${tag} ${i}`;
    const slot = calculateSlot(keys.roomSeq(room));
    const port = ranges.find((r) => r.from <= slot && slot <= r.to)?.master.port ?? -1;
    if (!byMaster.has(port)) byMaster.set(port, room);
  }
  return [...byMaster].map(([masterPort, room]) => ({ room, masterPort }));
}

/**
 * Every member read every acked message, none twice, and every acked message is still in the
 * room's history with its seq never handed out again: an append is acked only once a replica of
 * its master holds it (REDIS_ACK_REPLICAS, `auto` is 1 here), so the replica promoted after a
 * SIGKILL has it, and a graceful CLUSTER FAILOVER waits for the replica to catch up anyway.
 */
function report(what: string, figures: RoomFigures[]): void {
  expectNothingLost(`redis cluster: ${what}`, figures);
}

describe('Redis Cluster failovers during steady chat through nginx', () => {
  it("starts only once every replica holds its master's data", async () => {
    // A replica still waiting for its first sync holds nothing: killing its master then promoted
    // an empty replica (cluster-replica-validity-factor 0) and lost every acked write of its rooms.
    const replicas = suite.redis.nodes.length - (await suite.redis.masters()).length;
    expect(replicas).toBe(3);
    for (const n of suite.redis.nodes) {
      const info = await redisCli(n.port, ['info', 'replication']);
      if (/role:slave/.test(info)) expect(info).toMatch(/master_link_status:up/);
    }
  });

  it('a master SIGKILLed: live chat resumes in every room', async () => {
    const rooms = await roomPerMaster('Killed');
    expect(rooms.length).toBe(3);
    const victim = suite.redis.nodes.find((n) => n.port === rooms[0]?.masterPort);
    if (victim === undefined) throw new Error('no node for the first room');
    const figures = await chatThrough(
      suite.cluster.nginx?.url ?? '',
      rooms.map((r) => r.room),
      () => victim.kill('SIGKILL'),
    );
    report(`master :${victim.port} SIGKILL`, figures);
    for (const f of figures) expect(f.resumeMs).toBeLessThan(30_000);
    // The instances logged the lost node (per-node events of the cluster client).
    const logs = readdirSync(path.join(suite.cluster.dir, 'logs'))
      .filter((f) => f.startsWith('app-'))
      .map((f) => readFileSync(path.join(suite.cluster.dir, 'logs', f), 'utf8'))
      .join('\n');
    expect(logs).toMatch(/redis cluster node (error|disconnected)/);
    // Back to full strength for the next case: the killed node rejoins as a replica.
    await victim.start();
    await suite.redis.waitReady();
  }, 150_000);

  it('a graceful CLUSTER FAILOVER: live chat resumes in every room', async () => {
    const rooms = await roomPerMaster('Handover');
    const masterPort = rooms[0]?.masterPort ?? -1;
    // The replica of that master, from CLUSTER NODES.
    const nodesText = await redisCli(masterPort, ['cluster', 'nodes']);
    const masterId = nodesText
      .split('\n')
      .find((l) => l.includes(`:${masterPort}@`))
      ?.split(' ')[0];
    const replicaPort = Number(
      /:(\d+)@/.exec(
        nodesText.split('\n').find((l) => masterId && l.includes(`slave ${masterId}`)) ?? '',
      )?.[1],
    );
    expect(replicaPort).toBeGreaterThan(0);
    const figures = await chatThrough(
      suite.cluster.nginx?.url ?? '',
      rooms.map((r) => r.room),
      async () => {
        await redisCli(replicaPort, ['cluster', 'failover']);
        await eventually(
          async () => /role:master/.test(await redisCli(replicaPort, ['info', 'replication'])),
          'the replica took over',
          15_000,
        );
      },
    );
    report(`CLUSTER FAILOVER :${masterPort} -> :${replicaPort}`, figures);
    for (const f of figures) expect(f.resumeMs).toBeLessThan(15_000);
  }, 150_000);

  it("the master holding a room's channel SIGKILLed: members get a room-seq notice long before SEQ_NOTICE_MS", async () => {
    // The room's sharded pub/sub channel (the adapter's per-room channel) and where it lives.
    const keys = createKeys(PREFIX);
    const masters = await suite.redis.masters();
    const seed = createClient({ url: masters[0]?.url ?? suite.redis.url });
    await seed.connect();
    const ranges = await seed.clusterSlots();
    await seed.close();
    const room = 'Quiet channel';
    const channel = `${keys.adapterChannel}#/#${socketRoom(room)}#`;
    const slot = calculateSlot(channel);
    const port = ranges.find((r) => r.from <= slot && slot <= r.to)?.master.port;
    const victim = suite.redis.nodes.find((n) => n.port === port);
    if (victim === undefined) throw new Error('no node for the channel');
    const url = suite.cluster.nginx?.url ?? '';
    const member = await ChatClient.create(url);
    try {
      const created = await member.emit('create-room', room);
      expect(created.success || created.code === 'room_exists').toBe(true);
      expect((await member.join(room)).success).toBe(true);
      const noticedAt: number[] = [];
      member.socket.on('room-seq', () => noticedAt.push(Date.now()));
      const killedAt = Date.now();
      await victim.kill('SIGKILL');
      await eventually(() => noticedAt.length > 0, 'a room-seq notice after the kill', 30_000);
      const after = (noticedAt[0] ?? 0) - killedAt;
      process.stderr.write(
        `[redis cluster: channel master :${victim.port} SIGKILL] room-seq after ${after} ms\n`,
      );
      expect(after).toBeLessThan(30_000);
    } finally {
      member.close();
      await victim.start();
      await suite.redis.waitReady();
    }
  }, 150_000);
});
