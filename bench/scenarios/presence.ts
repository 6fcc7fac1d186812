import path from 'node:path';
import { createClient } from 'redis';
import type { RedisClient } from '../../src/redis/clients.js';
import { createKeys } from '../../src/redis/keys.js';
import { createPresenceStore } from '../../src/store/presence.js';
import { standaloneRedis } from '../../tools/cluster/redis.js';
import type { Ctx } from '../lib/context.js';
import { nowMs } from '../lib/protocol.js';
import { ratio, round } from '../lib/stats.js';
import { fmt, table } from '../lib/report/format.js';
import type { Target } from '../lib/report/targets.js';

/**
 * Presence at size: distinct users online cluster-wide grown to 1,000 / 10,000 / 100,000 (smoke:
 * 100 / 1,000) through the presence store's real code path (src/store/presence.ts: the same scripts,
 * keys and buckets an instance runs) against a real redis-server, without 100,000 sockets: two
 * store instances share the users as two app instances would (every tenth user has a second tab on
 * the other), every user sits in one of 100 rooms. At each size, connects and disconnects of
 * further users, one at a time, each followed by the count read its broadcast does (the flush,
 * which coalesces, reads at most one bucket per connect): wall time per operation, Redis commands
 * per operation (INFO commandstats, script inner commands included) and Redis CPU per operation
 * (INFO cpu, used_cpu_sys + used_cpu_user); also a heartbeat (every bucket's lease) and a `who`
 * page. Flat = largest / smallest size ≤ 1.2×.
 */

/** Flat: the largest size costs at most this many times the smallest. */
export const PRESENCE_FLAT_RATIO = 1.2;
const ROOMS = 100;
/** Writes in flight while growing the population. */
const FILL_CONCURRENCY = 256;

export interface PresenceRow {
  online: number;
  connectUs: number;
  disconnectUs: number;
  connectCommands: number;
  disconnectCommands: number;
  /** Redis CPU per connect + disconnect pair, µs. */
  redisCpuUsPerPair: number;
  heartbeatMs: number;
  whoPageMs: number;
  /** Distinct users the store's own counts say are online (must equal `online`). */
  counted: number;
  fillS: number;
}

export interface PresenceResult {
  redis: string;
  opsPerSize: number;
  rows: PresenceRow[];
  connectRatio: number;
  disconnectRatio: number;
  commandsRatio: number;
  redisCpuRatio: number;
}

type Info = Pick<RedisClient, 'info'>;

async function commandCalls(redis: Info): Promise<number> {
  const text = await redis.info('commandstats');
  let calls = 0;
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) if (m[1] !== 'info') calls += Number(m[2]);
  return calls;
}

/** used_cpu_sys + used_cpu_user of a Redis node (INFO cpu), µs. */
export async function redisCpuUs(redis: Info): Promise<number> {
  const text = await redis.info('cpu');
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(text)?.[1] ?? 0);
  const user = Number(/used_cpu_user:([\d.]+)/.exec(text)?.[1] ?? 0);
  return (sys + user) * 1e6;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

export async function presence(ctx: Ctx): Promise<PresenceResult> {
  const sizes = ctx.smoke ? [100, 1000] : [1000, 10_000, 100_000];
  const ops = ctx.smoke ? 100 : 1000;
  const rounds = ctx.smoke ? 1 : 3;
  const deployment = await standaloneRedis({ appendonly: false }).start(
    path.join(ctx.runDir, 'presence-redis'),
  );
  const client = createClient({ url: deployment.url, name: 'bench-presence' });
  const info = createClient({ url: deployment.url, name: 'bench-info' });
  client.on('error', () => undefined);
  info.on('error', () => undefined);
  try {
    await Promise.all([client.connect(), info.connect()]);
    const redis = client as unknown as RedisClient;
    const keys = createKeys('bench:');
    const make = (id: string) =>
      createPresenceStore(redis, keys, {
        instanceId: id,
        leaseMs: 600_000,
        startedAt: new Date().toISOString(),
      });
    const a = make('presence-a');
    const b = make('presence-b');
    await a.heartbeat({ connections: 0 }, true);
    await b.heartbeat({ connections: 0 }, true);
    const room = (i: number) => `room-${i % ROOMS}`;
    const allBuckets = Array.from({ length: 48 }, (_, i) => i);
    const rows: PresenceRow[] = [];
    // Warm-up (JIT, script cache), not reported: the first size would otherwise pay it alone.
    for (let k = 0; k < ops; k++) {
      await a.connect(`warm${k}`);
      await a.counts([a.bucketOf(`warm${k}`)]);
      await a.disconnect(`warm${k}`, null);
    }
    let online = 0;
    for (const size of sizes) {
      const t0 = nowMs();
      const fresh = Array.from({ length: size - online }, (_, k) => online + k);
      await pool(fresh, FILL_CONCURRENCY, async (i) => {
        const user = `on${i}`;
        await a.connect(user);
        await a.move(user, null, room(i));
        if (i % 10 === 0) await b.connect(user);
      });
      online = size;
      const fillS = (nowMs() - t0) / 1000;

      type Cost = { us: number; commands: number; cpuUs: number };
      const measure = async (
        users: string[],
        op: (user: string, k: number) => Promise<void>,
      ): Promise<Cost> => {
        const calls0 = await commandCalls(info);
        const cpu0 = await redisCpuUs(info);
        const times: number[] = [];
        for (const [k, user] of users.entries()) {
          const s = nowMs();
          await op(user, k);
          times.push((nowMs() - s) * 1000);
        }
        const calls = (await commandCalls(info)) - calls0;
        const cpu = (await redisCpuUs(info)) - cpu0;
        return { us: median(times), commands: calls / users.length, cpuUs: cpu / users.length };
      };
      // Time and CPU: best of `rounds` (others' work on a shared machine only ever adds); commands: the mean.
      const best = (costs: Cost[]): Cost => ({
        us: Math.min(...costs.map((c) => c.us)),
        commands: costs.reduce((n, c) => n + c.commands, 0) / costs.length,
        cpuUs: Math.min(...costs.map((c) => c.cpuUs)),
      });
      const connects: Cost[] = [];
      const disconnects: Cost[] = [];
      for (let round = 0; round < rounds; round++) {
        const users = Array.from({ length: ops }, (_, k) => `probe${size}-${round}-${k}`);
        // A connect: the user's online count, then the broadcast's read of that user's bucket.
        connects.push(
          await measure(users, async (user) => {
            await a.connect(user);
            await a.counts([a.bucketOf(user)]);
          }),
        );
        await pool([...users.entries()], 32, ([k, user]) => a.move(user, null, room(k)));
        // A disconnect from a room: the room's and the user's buckets, then the broadcast's read of both.
        disconnects.push(
          await measure(users, async (user, k) => {
            await a.disconnect(user, room(k));
            await a.counts([a.bucketOf(user)], [room(k)]);
          }),
        );
      }
      const connect = best(connects);
      const disconnect = best(disconnects);
      // Heartbeats and who pages (a page of 100 from the middle of the buckets): the median of 21.
      const timed = async (fn: () => Promise<unknown>) => {
        const times: number[] = [];
        for (let k = 0; k < 21; k++) {
          const t = nowMs();
          await fn();
          times.push(nowMs() - t);
        }
        return median(times);
      };
      const heartbeatMs = await timed(() => a.heartbeat({ connections: size }));
      const whoPageMs = await timed(() => a.page('24:', 100));
      const counts = await a.counts(allBuckets);
      const counted = counts.buckets.reduce((n, c) => n + c.online, 0);
      const row: PresenceRow = {
        online: size,
        connectUs: round(connect.us, 1),
        disconnectUs: round(disconnect.us, 1),
        connectCommands: round(connect.commands, 2),
        disconnectCommands: round(disconnect.commands, 2),
        redisCpuUsPerPair: round(connect.cpuUs + disconnect.cpuUs, 1),
        heartbeatMs: round(heartbeatMs, 2),
        whoPageMs: round(whoPageMs, 2),
        counted,
        fillS: round(fillS, 1),
      };
      rows.push(row);
      ctx.log(
        `    ${size.toLocaleString('en-US')} online (counted ${counted.toLocaleString('en-US')}): connect ${row.connectUs} µs, ` +
          `${row.connectCommands} cmds; disconnect ${row.disconnectUs} µs, ${row.disconnectCommands} cmds; ` +
          `Redis CPU ${row.redisCpuUsPerPair} µs per pair; heartbeat ${row.heartbeatMs} ms; who page ${row.whoPageMs} ms (fill ${row.fillS} s)`,
      );
      if (counted !== size) throw new Error(`presence counted ${counted} online, ${size} connected`);
    }
    const first = rows[0];
    const last = rows.at(-1);
    const r = (pick: (row: PresenceRow) => number) =>
      first && last ? round(ratio(pick(last), pick(first)), 2) : Number.NaN;
    return {
      redis: 'standalone',
      opsPerSize: ops,
      rows,
      connectRatio: r((x) => x.connectUs),
      disconnectRatio: r((x) => x.disconnectUs),
      commandsRatio: r((x) => x.connectCommands + x.disconnectCommands),
      redisCpuRatio: r((x) => x.redisCpuUsPerPair),
    };
  } finally {
    await Promise.allSettled([client.close(), info.close()]);
    await deployment.stop();
  }
}

const x = (v: number) => `${fmt(v, 2)}×`;

/** The report's section for this scenario. */
export function presenceTable(r: PresenceResult): string {
  const rows = r.rows.map((row) => [
    row.online.toLocaleString('en-US'),
    row.counted.toLocaleString('en-US'),
    `**${fmt(row.connectUs, 0)}**`,
    `**${fmt(row.disconnectUs, 0)}**`,
    fmt(row.connectCommands, 2),
    fmt(row.disconnectCommands, 2),
    fmt(row.redisCpuUsPerPair, 0),
    fmt(row.heartbeatMs, 1),
    fmt(row.whoPageMs, 2),
  ]);
  return [
    `### Presence at size: connect and disconnect cost vs users online (store code path, ${r.redis} Redis, no sockets)`,
    '',
    `Headline, largest / smallest size (flat = ≤ ${PRESENCE_FLAT_RATIO}×): connect time **${x(r.connectRatio)}**, ` +
      `disconnect time **${x(r.disconnectRatio)}**, Redis commands per connect + disconnect **${x(r.commandsRatio)}**, ` +
      `Redis CPU per connect + disconnect **${x(r.redisCpuRatio)}**.`,
    '',
    table(
      [
        'online',
        'counted',
        'connect µs (median)',
        'disconnect µs (median)',
        'Redis cmds / connect',
        'Redis cmds / disconnect',
        'Redis CPU µs / pair',
        'heartbeat ms',
        'who page ms',
      ],
      rows,
    ),
    '',
    `Users grown through src/store/presence.ts against redis-server by two store instances (every tenth user with a second ` +
      `tab on the other), each user in one of ${ROOMS} rooms; then ${r.opsPerSize} connects and ${r.opsPerSize} disconnects, ` +
      "one at a time, each with the count read its broadcast does (best of 3 rounds of new users: others' work only adds). Commands include those inside scripts; a heartbeat renews " +
      'the lease in all 48 buckets; heartbeat and who page (100 names) are medians of 21.',
  ].join('\n');
}

/** The targets for presence: connect and disconnect cost flat from the smallest to the largest size. */
export function presenceTargets(r: PresenceResult): Target[] {
  const sizes = r.rows.map((row) => row.online.toLocaleString('en-US')).join(' / ');
  const flat = (id: string, target: string, value: number, note: string): Target => ({
    id,
    target,
    product: value,
    baseline: undefined,
    value,
    limit: `≤ ${PRESENCE_FLAT_RATIO}×`,
    met: Number.isFinite(value) ? value <= PRESENCE_FLAT_RATIO : null,
    note,
  });
  return [
    flat('presence-connect-flat', 'presence: connect time, largest / smallest online', r.connectRatio, sizes),
    flat(
      'presence-disconnect-flat',
      'presence: disconnect time, largest / smallest online',
      r.disconnectRatio,
      sizes,
    ),
    flat(
      'presence-commands-flat',
      'presence: Redis commands per connect + disconnect, largest / smallest online',
      r.commandsRatio,
      sizes,
    ),
  ];
}
