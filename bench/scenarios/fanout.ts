import type { BenchCluster } from '../lib/cluster.js';
import { registerAll } from '../lib/http.js';
import { sleep, startProfiles, userNames, withCluster, type Ctx } from '../lib/context.js';
import { otherCores, QUIET_CORES, waitQuiet } from '../lib/quiet.js';
import { measureStep, runStep, summarizeSteps, type RawStep, type StepResult } from '../lib/step.js';
import type { ServerKind } from '../lib/protocol.js';
import { seatInRooms } from '../lib/seat-clients.js';

/**
 * Scenario 1, fan-out: R rooms × U users spread over 3 instances (every room has members on every
 * instance); stepped offered load. Three clusters are up together: the product, the baseline (the
 * relay in the adapter's documented default setup: classic adapter, plain clients) and the matched
 * baseline (the relay with the product's adapter and client settings, the second column). Their
 * windows rotate (P B M, then B M P at the next rate, …), so load from elsewhere on the machine hits
 * all alike. The sustained rate is the highest step with ≥ 99.9 % delivered and p99 (send → receipt
 * on another instance) ≤ 200 ms.
 */

export const SUSTAINED_MIN_DELIVERED = 0.999;
export const SUSTAINED_MAX_P99_MS = 200;

export interface FanoutRun {
  kind: ServerKind;
  rooms: number;
  usersPerRoom: number;
  instances: number;
  adapter: string;
  durationS: number;
  /** Windows per rate and side. */
  repeat: number;
  connectFailures: number;
  /** Unreported warm-up step; carries the Redis round-trip count (MONITOR). */
  warmup: StepResult;
  steps: StepResult[];
  /** Highest offered step that met both conditions (0 when none). */
  sustainedPerS: number;
}

export interface FanoutResult {
  /** Whether senders asked for acks (`--acks off`: CPU is per 1000 sent messages). */
  acks: boolean;
  product: FanoutRun;
  /** The relay in the adapter's documented default setup (the targets' baseline). */
  baseline: FanoutRun;
  /** The relay with the product's adapter and Redis client settings (second column). */
  matched: FanoutRun;
}

export function sustained(steps: readonly StepResult[]): number {
  let best = 0;
  for (const s of steps) {
    if (s.delivered >= SUSTAINED_MIN_DELIVERED && s.latency.p99 <= SUSTAINED_MAX_P99_MS)
      best = Math.max(best, s.offeredPerS);
  }
  return best;
}

interface Side {
  kind: ServerKind;
  cluster: BenchCluster;
  connectFailures: number;
  warmup?: StepResult;
  steps: StepResult[];
}

const INSTANCES = 3;
/** A window during which others used more than QUIET_CORES is measured again, at most this often… */
const RETRIES_PER_WINDOW = 2;
/** …and this often in the whole scenario (bounds the run time). */
const RETRY_BUDGET = 6;

/** Registers (product), creates the rooms (product) and connects this side's clients. */
async function prepare(
  ctx: Ctx,
  kind: ServerKind,
  cluster: BenchCluster,
  rooms: number,
  usersPerRoom: number,
  idBase: number,
): Promise<Side> {
  const names = userNames('fan', rooms * usersPerRoom);
  const roomNames = Array.from({ length: rooms }, (_, r) => `fanout-${r}`);
  const cookies = kind === 'product' ? await registerAll(cluster.urls, names, 8) : [];
  const connected = await seatInRooms(ctx, cluster, {
    kind,
    names,
    cookies,
    roomNames,
    usersPerRoom,
    instances: INSTANCES,
    idBase,
  });
  return { kind, cluster, connectFailures: connected.failed, steps: [] };
}

function summary(ctx: Ctx, side: Side, rooms: number, usersPerRoom: number): FanoutRun {
  if (!side.warmup) throw new Error('no warm-up');
  return {
    kind: side.kind,
    rooms,
    usersPerRoom,
    instances: INSTANCES,
    adapter: side.cluster.adapter,
    durationS: ctx.durationS,
    repeat: ctx.repeat,
    connectFailures: side.connectFailures,
    warmup: side.warmup,
    steps: side.steps,
    sustainedPerS: sustained(side.steps),
  };
}

export async function fanout(ctx: Ctx): Promise<FanoutResult> {
  const rooms = ctx.smoke ? 2 : 10;
  const usersPerRoom = ctx.smoke ? 3 : 12;
  const env = { BCRYPT_ROUNDS: '10' };
  const inspect = ctx.cpuProfDir !== undefined;
  return withCluster(
    ctx,
    { kind: 'product', label: 'fanout-product', instances: INSTANCES, env, inspect },
    (productCluster) =>
      withCluster(
        ctx,
        {
          kind: 'baseline',
          label: 'fanout-baseline',
          instances: INSTANCES,
          env: { ...env, SETUP: 'default' },
          inspect,
        },
        (baselineCluster) =>
          withCluster(
            ctx,
            {
              kind: 'baseline',
              label: 'fanout-matched',
              instances: INSTANCES,
              env: { ...env, SETUP: 'matched' },
              inspect,
            },
            (matchedCluster) =>
              measureAll(ctx, [productCluster, baselineCluster, matchedCluster], rooms, usersPerRoom),
          ),
      ),
  );
}

/** The three sides' preparation, warm-ups and rotating windows (see the module comment). */
async function measureAll(
  ctx: Ctx,
  clusters: [BenchCluster, BenchCluster, BenchCluster],
  rooms: number,
  usersPerRoom: number,
): Promise<FanoutResult> {
  const [productCluster, baselineCluster, matchedCluster] = clusters;
  const product = await prepare(ctx, 'product', productCluster, rooms, usersPerRoom, 0);
  const baseline = await prepare(ctx, 'baseline', baselineCluster, rooms, usersPerRoom, 100_000);
  const matched = await prepare(ctx, 'baseline', matchedCluster, rooms, usersPerRoom, 200_000);
  const sides = [product, baseline, matched];
  const name = (side: Side) => side.cluster.label.replace('fanout-', '');
  await sleep(ctx.smoke ? 300 : 1000);
  let stepId = 1;
  for (const side of sides) {
    // Warm-up (JIT, script cache, connection pools), then a second one with Redis MONITOR
    // counting round trips: neither is reported.
    await runStep(ctx, side.cluster, {
      step: stepId++,
      ratePerS: ctx.smoke ? 50 : 300,
      durationMs: ctx.smoke ? 300 : 1000,
      roomSize: usersPerRoom,
      maxDrainMs: 3000,
      acks: ctx.acks,
    });
    side.warmup = await runStep(ctx, side.cluster, {
      step: stepId++,
      ratePerS: ctx.smoke ? 50 : 300,
      durationMs: ctx.smoke ? 500 : 2000,
      roomSize: usersPerRoom,
      maxDrainMs: 3000,
      monitor: true,
      acks: ctx.acks,
    });
    ctx.log(
      `    ${name(side)} Redis commands per message (MONITOR): ${JSON.stringify(side.warmup.roundTrips?.perMsgByCommand ?? {})}`,
    );
  }
  const stopProfiles = [];
  for (const c of clusters) stopProfiles.push(await startProfiles(ctx, c));
  let retryBudget = ctx.smoke ? 0 : RETRY_BUDGET;
  const ownPids = () => [
    ...ctx.pool.workers.map((w) => w.pid),
    ...clusters.flatMap((c) => [...c.instances.map((i) => i.pid), c.redis.pid]),
  ];
  for (const [i, rate] of ctx.steps.entries()) {
    await waitQuiet(ctx, ownPids());
    // Windows of this rate alternate between the sides (P B B P …) and are merged per side.
    const raws = new Map<Side, RawStep[]>(sides.map((side) => [side, []]));
    for (let r = 0; r < ctx.repeat; r++) {
      const first = (i + r) % sides.length;
      const order = [...sides.slice(first), ...sides.slice(0, first)];
      for (const side of order) {
        const measure = () =>
          measureStep(ctx, side.cluster, {
            step: stepId++,
            ratePerS: rate,
            durationMs: ctx.durationS * 1000,
            roomSize: usersPerRoom,
            maxDrainMs: ctx.smoke ? 5000 : 15_000,
            acks: ctx.acks,
          });
        let raw = await measure();
        // A window others disturbed is measured again (bounded per window and per scenario).
        for (
          let retry = 0;
          retry < RETRIES_PER_WINDOW && retryBudget > 0 && otherCores(raw) > QUIET_CORES;
          retry++
        ) {
          retryBudget--;
          ctx.log(
            `    ${name(side)} ${rate}/s: others used ~${otherCores(raw).toFixed(2)} cores in the window: measuring it again`,
          );
          await waitQuiet(ctx, ownPids());
          raw = await measure();
        }
        raws.get(side)?.push(raw);
        await sleep(ctx.smoke ? 200 : 1000);
      }
    }
    for (const side of sides) {
      const result = summarizeSteps(raws.get(side) ?? []);
      side.steps.push(result);
      ctx.log(
        `    ${name(side).padEnd(8)} ${rate}/s: sent ${Math.round(result.sentPerS)}/s, delivered ${(result.delivered * 100).toFixed(2)} %, ` +
          `p50 ${result.latency.p50.toFixed(1)} p99 ${result.latency.p99.toFixed(1)} ms, app ${result.appCpuMsPer1k.toFixed(0)} CPU-ms/1k msgs; ` +
          `cores: app ${result.appCores.toFixed(2)}, load gen ${result.loadgenCores.toFixed(2)}, others ~${result.otherCores.toFixed(2)}`,
      );
    }
  }
  for (const stop of stopProfiles) await stop();
  return {
    acks: ctx.acks,
    product: summary(ctx, product, rooms, usersPerRoom),
    baseline: summary(ctx, baseline, rooms, usersPerRoom),
    matched: summary(ctx, matched, rooms, usersPerRoom),
  };
}
