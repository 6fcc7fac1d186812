import { createClient } from 'redis';
import { redisCluster, type RedisClusterDeployment } from '../../tools/cluster/redis-cluster.js';
import type { BenchCluster } from '../lib/cluster.js';
import { sleep, userNames, withCluster, type Ctx } from '../lib/context.js';
import { registerAll } from '../lib/http.js';
import { fmt, table, x } from '../lib/report/format.js';
import type { Target } from '../lib/report/targets.js';
import { seatInRooms } from '../lib/seat-clients.js';
import { ratio, round } from '../lib/stats.js';
import { measureStep, runStep, summarizeSteps, type RawStep, type StepResult } from '../lib/step.js';
import { redisCpuUs } from './presence.js';

/**
 * Spread over a Redis Cluster: the fan-out load (rooms of members on all 3 instances, every
 * message through the sharded adapter) against two product clusters up together, one on a single
 * redis-server and one on a local Redis Cluster of 3 masters (no replicas: replication would be CPU
 * the single Redis does not spend), their windows alternating. Per master of the Redis Cluster: its
 * share of the Redis CPU (INFO cpu, used_cpu_sys + used_cpu_user deltas over the windows); and the
 * app CPU per message on the Redis Cluster against the single Redis in the same run.
 * Targets (issue): busiest master ≤ 45 % of Redis CPU; app CPU per message within 10 %.
 * Rooms are many (48) so the rooms' slots, which decide where appends and broadcasts go, spread
 * over the masters the way a real chat's many rooms do; presence, users and sessions spread by
 * their own keys.
 */

export const SPREAD_BUSIEST_MAX = 0.45;
export const SPREAD_APP_CPU_MAX = 1.1;
const INSTANCES = 3;
const MASTERS = 3;

export interface MasterShare {
  port: number;
  /** Slots it serves (CLUSTER NODES ranges). */
  slots: number;
  cpuMs: number;
  share: number;
}

export interface SpreadResult {
  rooms: number;
  usersPerRoom: number;
  ratePerS: number;
  single: StepResult;
  cluster: StepResult;
  masters: MasterShare[];
  busiestShare: number;
  /** Each master's share of Redis CPU while the clients connected (sessions, users, presence, rooms joined). */
  connectShares: number[];
  /** App CPU per message, Redis Cluster / single Redis. */
  appCpuRatio: number;
  /** Redis CPU per 1000 messages: all masters together, and the single redis-server. */
  clusterRedisCpuMsPer1k: number;
  singleRedisCpuMsPer1k: number;
}

/** The masters of the Redis Cluster behind `cluster`, with their slot counts. */
async function masterNodes(cluster: BenchCluster): Promise<{ port: number; slots: number }[]> {
  const deployment = cluster.deployment as Partial<RedisClusterDeployment>;
  if (typeof deployment.masters !== 'function') throw new Error('spread: not a Redis Cluster');
  const masters = await deployment.masters();
  const client = createClient({ url: masters[0]?.url ?? '', name: 'bench-info' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const nodes = String(await client.sendCommand(['CLUSTER', 'NODES']));
    return masters.map((m) => {
      const line = nodes.split('\n').find((l) => l.includes(`:${m.port}@`)) ?? '';
      let slots = 0;
      for (const range of line.split(' ').slice(8)) {
        const [lo, hi] = range.split('-').map(Number);
        if (lo !== undefined && Number.isFinite(lo)) slots += (hi ?? lo) - lo + 1;
      }
      return { port: m.port, slots };
    });
  } finally {
    await client.close();
  }
}

export async function spread(ctx: Ctx): Promise<SpreadResult> {
  const rooms = ctx.smoke ? 6 : 48;
  const usersPerRoom = ctx.smoke ? 3 : 6;
  const ratePerS = ctx.smoke ? 100 : 2000;
  const env = { BCRYPT_ROUNDS: '10' };
  return withCluster(ctx, { kind: 'product', label: 'spread-single', instances: INSTANCES, env }, (single) =>
    withCluster(
      ctx,
      {
        kind: 'product',
        label: 'spread-cluster',
        instances: INSTANCES,
        env,
        redis: redisCluster({ masters: MASTERS, replicasPerMaster: 0 }),
      },
      async (sharded) => {
        const masters = await masterNodes(sharded);
        const infos = await Promise.all(
          masters.map(async (m) => {
            const c = createClient({ url: `redis://127.0.0.1:${m.port}`, name: 'bench-info' });
            c.on('error', () => undefined);
            await c.connect();
            return c;
          }),
        );
        try {
          const names = userNames('spread', rooms * usersPerRoom);
          const roomNames = Array.from({ length: rooms }, (_, r) => `spread-${r}`);
          let idBase = 0;
          const connectCpu: number[] = [];
          for (const cluster of [single, sharded]) {
            const cookies = await registerAll(cluster.urls, names, 8);
            const before = cluster === sharded ? await Promise.all(infos.map(redisCpuUs)) : [];
            await seatInRooms(ctx, cluster, {
              kind: 'product',
              names,
              cookies,
              roomNames,
              usersPerRoom,
              instances: INSTANCES,
              idBase,
            });
            if (cluster === sharded) {
              const after = await Promise.all(infos.map(redisCpuUs));
              after.forEach((v, i) => connectCpu.push((v - (before[i] ?? 0)) / 1000));
            }
            idBase += 100_000;
          }
          await sleep(ctx.smoke ? 300 : 1000);
          let step = 1;
          for (const cluster of [single, sharded]) {
            await runStep(ctx, cluster, {
              step: step++,
              ratePerS: ctx.smoke ? 50 : 300,
              durationMs: ctx.smoke ? 300 : 1000,
              roomSize: usersPerRoom,
              maxDrainMs: 3000,
            });
          }
          const raws = new Map<BenchCluster, RawStep[]>([
            [single, []],
            [sharded, []],
          ]);
          const cpu = new Array<number>(masters.length).fill(0);
          for (let r = 0; r < ctx.repeat; r++) {
            for (const cluster of r % 2 === 0 ? [single, sharded] : [sharded, single]) {
              const before = cluster === sharded ? await Promise.all(infos.map(redisCpuUs)) : [];
              const raw = await measureStep(ctx, cluster, {
                step: step++,
                ratePerS,
                durationMs: ctx.durationS * 1000,
                roomSize: usersPerRoom,
                maxDrainMs: ctx.smoke ? 5000 : 15_000,
              });
              if (cluster === sharded) {
                const after = await Promise.all(infos.map(redisCpuUs));
                after.forEach((v, i) => (cpu[i] = (cpu[i] ?? 0) + (v - (before[i] ?? 0)) / 1000));
              }
              raws.get(cluster)?.push(raw);
              await sleep(ctx.smoke ? 200 : 1000);
            }
          }
          const s = summarizeSteps(raws.get(single) ?? []);
          const c = summarizeSteps(raws.get(sharded) ?? []);
          const total = cpu.reduce((a, b) => a + b, 0);
          const shares: MasterShare[] = masters.map((m, i) => ({
            port: m.port,
            slots: m.slots,
            cpuMs: round(cpu[i] ?? 0, 1),
            share: round(ratio(cpu[i], total), 3),
          }));
          const connectTotal = connectCpu.reduce((a, b) => a + b, 0);
          const result: SpreadResult = {
            connectShares: connectCpu.map((v) => round(ratio(v, connectTotal), 3)),
            rooms,
            usersPerRoom,
            ratePerS,
            single: s,
            cluster: c,
            masters: shares,
            busiestShare: Math.max(...shares.map((m) => m.share)),
            appCpuRatio: round(ratio(c.appCpuMsPer1k, s.appCpuMsPer1k), 3),
            clusterRedisCpuMsPer1k: round(ratio(total * 1000, c.acked), 1),
            singleRedisCpuMsPer1k: round(s.redisCpuMsPer1k, 1),
          };
          ctx.log(
            `    masters' Redis CPU shares while connecting: ${result.connectShares.map((v) => `${(v * 100).toFixed(1)} %`).join(' / ')}`,
          );
          ctx.log(
            `    masters' Redis CPU shares: ${shares.map((m) => `${(m.share * 100).toFixed(1)} %`).join(' / ')}; ` +
              `app CPU per 1k msgs: single ${s.appCpuMsPer1k.toFixed(0)}, cluster ${c.appCpuMsPer1k.toFixed(0)} (${result.appCpuRatio}×); ` +
              `delivered ${(s.delivered * 100).toFixed(2)} % / ${(c.delivered * 100).toFixed(2)} %`,
          );
          return result;
        } finally {
          await Promise.allSettled(infos.map((c) => c.close()));
        }
      },
    ),
  );
}

export function spreadTable(r: SpreadResult): string {
  const pct = (v: number) => `${fmt(v * 100, 1)} %`;
  return [
    `### Spread over a Redis Cluster of ${r.masters.length} masters (fan-out: ${r.rooms} rooms × ${r.usersPerRoom} users over 3 instances, ${r.ratePerS} msg/s)`,
    '',
    `Busiest master **${pct(r.busiestShare)}** of Redis CPU (target ≤ ${pct(SPREAD_BUSIEST_MAX)}); app CPU per message on the ` +
      `Redis Cluster **${x(r.appCpuRatio)}** the single Redis's in the same run (target ≤ ${x(SPREAD_APP_CPU_MAX)}).`,
    '',
    table(
      ['master (port)', 'slots', 'Redis CPU ms', 'share', 'share while connecting'],
      r.masters.map((m, i) => [
        String(m.port),
        String(m.slots),
        fmt(m.cpuMs, 0),
        `**${pct(m.share)}**`,
        pct(r.connectShares[i] ?? Number.NaN),
      ]),
    ),
    '',
    table(
      ['Redis', 'sent/s', 'delivered %', 'p99 ms', 'app CPU-ms/1k', 'Redis CPU-ms/1k (all nodes)'],
      [
        [
          'single redis-server',
          fmt(r.single.sentPerS, 0),
          pct(r.single.delivered),
          fmt(r.single.latency.p99, 1),
          fmt(r.single.appCpuMsPer1k, 0),
          fmt(r.singleRedisCpuMsPer1k, 1),
        ],
        [
          `Redis Cluster, ${r.masters.length} masters`,
          fmt(r.cluster.sentPerS, 0),
          pct(r.cluster.delivered),
          fmt(r.cluster.latency.p99, 1),
          fmt(r.cluster.appCpuMsPer1k, 0),
          fmt(r.clusterRedisCpuMsPer1k, 1),
        ],
      ],
    ),
    '',
    'Shares from INFO cpu (used_cpu_sys + used_cpu_user) of each master over the measured windows (and, last column, while ' +
      `the ${r.rooms * r.usersPerRoom} clients connected and joined: sessions, users, presence); both product clusters ` +
      'were up together and their windows alternated. The masters hold no replicas.',
  ].join('\n');
}

export function spreadTargets(r: SpreadResult): Target[] {
  return [
    {
      id: 'spread-busiest-master',
      target: `Redis Cluster: busiest of ${r.masters.length} masters' share of Redis CPU under fan-out`,
      product: r.busiestShare,
      baseline: undefined,
      value: r.busiestShare,
      limit: `≤ ${SPREAD_BUSIEST_MAX}`,
      met: Number.isFinite(r.busiestShare) ? r.busiestShare <= SPREAD_BUSIEST_MAX : null,
      note: `shares ${r.masters.map((m) => m.share).join(' / ')}`,
    },
    {
      id: 'spread-app-cpu',
      target: 'Redis Cluster vs single Redis: app CPU per message',
      product: r.cluster.appCpuMsPer1k,
      baseline: r.single.appCpuMsPer1k,
      value: r.appCpuRatio,
      limit: `≤ ${SPREAD_APP_CPU_MAX}×`,
      met: Number.isFinite(r.appCpuRatio) ? r.appCpuRatio <= SPREAD_APP_CPU_MAX : null,
      note: `at ${r.ratePerS} msg/s; "baseline" column = single Redis`,
    },
  ];
}
