import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BENCH_CLIENT_NAME, startCluster, type BenchCluster, type ClusterOptions } from './cluster.js';
import { clientRoles, RedisMonitor } from './redis-monitor.js';
import { Inspector, inspectorUrl } from './inspector.js';
import { cpuMs, machineBusyMs } from './procfs.js';
import {
  nowMs,
  type ClientSpec,
  type ConnectResult,
  type StepProgress,
  type StepSent,
  type StepStats,
} from './protocol.js';
import { ratio, summarize, type Summary } from './stats.js';
import type { WorkerPool } from './workers.js';

/** What every scenario gets: options, the load generators, a log line writer. */
export interface Ctx {
  smoke: boolean;
  runDir: string;
  cpuProfDir: string | undefined;
  logLevel: string;
  /** A/B a candidate: product entry instead of dist/main.js, and env overrides for product instances. */
  productEntry: string | undefined;
  productEnv: Record<string, string>;
  durationS: number;
  /** Seconds the whole run may still spend waiting for a quiet machine (0: never wait). */
  quietBudget: { remainingS: number };
  /** Fan-out: measurement windows per rate and side. */
  repeat: number;
  steps: number[];
  /** Characters of each chat message's text. */
  textChars: number;
  pool: WorkerPool;
  log(line: string): void;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Others' work (cores) above which the machine is not quiet. */
export const QUIET_CORES = 0.4;
const MAX_QUIET_WAIT_S = 30;

/**
 * Waits (bounded) until the machine is quiet: busy cores from /proc/stat (tick-sampled, so
 * approximate) over 2 s, minus `ownPids`' CPU, below QUIET_CORES. Other engineers' test runs
 * share these 2 cores.
 */
export async function waitQuiet(
  ctx: Pick<Ctx, 'quietBudget' | 'log'>,
  ownPids: readonly number[] = [],
): Promise<{ waitedS: number; busyCores: number }> {
  const log = ctx.log;
  if (ctx.quietBudget.remainingS <= 0) return { waitedS: 0, busyCores: Number.NaN };
  const started = nowMs();
  // Each wait takes at most MAX_QUIET_WAIT_S, and all of them together the run's budget.
  const maxS = Math.min(MAX_QUIET_WAIT_S, ctx.quietBudget.remainingS);
  const own = () => ownPids.reduce((s, pid) => s + cpuMs(pid), 0);
  for (;;) {
    const a = machineBusyMs();
    const o = own();
    await sleep(2000);
    const busy = Math.max(0, (machineBusyMs() - a - (own() - o)) / 2000);
    const waited = (nowMs() - started) / 1000;
    if (busy < QUIET_CORES || waited >= maxS) {
      ctx.quietBudget.remainingS = Math.max(0, ctx.quietBudget.remainingS - waited);
      if (busy >= QUIET_CORES)
        log(
          `  machine still busy (${busy.toFixed(2)} cores of other work) after ${Math.round(waited)} s: figures are disturbed`,
        );
      else if (waited > 3) log(`  waited ${Math.round(waited)} s for the machine to be quiet`);
      return { waitedS: Math.round(waited), busyCores: Math.round(busy * 100) / 100 };
    }
  }
}

/** Work of others on the machine during a window (cores, approximate, ≥ 0). */
export function otherCores(raw: RawStep): number {
  const ours = raw.instanceCpuMs.reduce((s, v) => s + v, 0) + raw.redisCpuMs + raw.loadgenCpuMs;
  return Math.max(0, (raw.machineMs - ours) / raw.windowMs);
}

/** Starts a cluster, runs `fn`, and always disconnects the clients and stops the cluster. */
export async function withCluster<T>(
  ctx: Ctx,
  opts: Omit<ClusterOptions, 'runDir' | 'logLevel' | 'productEntry' | 'productEnv'>,
  fn: (cluster: BenchCluster) => Promise<T>,
): Promise<T> {
  const started = nowMs();
  const cluster = await startCluster({
    ...opts,
    runDir: ctx.runDir,
    logLevel: ctx.logLevel,
    productEntry: ctx.productEntry,
    productEnv: ctx.productEnv,
  });
  ctx.log(
    `  ${opts.label}: ${opts.kind}, ${cluster.instances.length} instances, adapter ${cluster.adapter}, redis ${cluster.redisVersion} (${Math.round(nowMs() - started)} ms to start)`,
  );
  try {
    return await fn(cluster);
  } finally {
    await ctx.pool.all(() => ({ type: 'disconnect' }), 30_000).catch(() => undefined);
    await cluster.stop();
  }
}

/** Inspector sessions to every instance of a cluster started with `inspect: true`. */
export async function inspectAll(cluster: BenchCluster): Promise<Inspector[]> {
  return Promise.all(
    cluster.logFiles.map(async (file, i) => {
      const url = inspectorUrl(file);
      if (!url) throw new Error(`${cluster.label}-${i + 1}: no inspector URL in ${file}`);
      return Inspector.connect(url);
    }),
  );
}

/**
 * With --cpu-prof: starts the V8 profiler in every instance of the cluster (started with
 * `inspect`); the returned function stops them and writes <cpuProfDir>/<label>-<n>.cpuprofile.
 */
export async function startProfiles(ctx: Ctx, cluster: BenchCluster): Promise<() => Promise<void>> {
  const dir = ctx.cpuProfDir;
  if (!dir) return async () => undefined;
  mkdirSync(dir, { recursive: true });
  const sessions = await inspectAll(cluster);
  await Promise.all(sessions.map((s) => s.startProfiling()));
  return async () => {
    await Promise.all(
      sessions.map(async (s, i) => {
        const file = path.join(dir, `${cluster.label}-${i + 1}.cpuprofile`);
        writeFileSync(file, await s.stopProfiling());
        s.close();
      }),
    );
    ctx.log(`    CPU profiles of ${cluster.label} written to ${path.relative(process.cwd(), dir)}`);
  };
}

/** Splits client specs over the workers (spec i → worker i mod W) and connects them all. */
export async function connectClients(
  ctx: Ctx,
  specs: readonly ClientSpec[],
  concurrencyPerWorker: number,
): Promise<ConnectResult & { wallMs: number }> {
  const size = ctx.pool.size;
  const started = nowMs();
  const results = await ctx.pool.all<ConnectResult>(
    (w) => ({
      type: 'connect',
      clients: specs.filter((_, i) => i % size === w),
      concurrency: concurrencyPerWorker,
      timeoutMs: 20_000,
    }),
    180_000,
  );
  const wallMs = nowMs() - started;
  const merged: ConnectResult & { wallMs: number } = {
    connected: 0,
    failed: 0,
    errors: [],
    elapsedMs: 0,
    wallMs,
  };
  for (const r of results) {
    merged.connected += r.connected;
    merged.failed += r.failed;
    merged.errors.push(...r.errors);
    merged.elapsedMs = Math.max(merged.elapsedMs, r.elapsedMs);
  }
  if (merged.failed > 0)
    ctx.log(
      `    ${merged.failed} of ${specs.length} clients failed: ${merged.errors.slice(0, 3).join('; ')}`,
    );
  return merged;
}

/** Usernames and session cookies: the product registers them; the baseline needs neither. */
export function userNames(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

/** Redis commands that are neither persistence nor adapter traffic (the bench's own, connection setup). */
const IGNORED_COMMANDS = new Set([
  'info',
  'ping',
  'client',
  'client|setname',
  'client|setinfo',
  'hello',
  'select',
  'command',
  'subscribe',
  'psubscribe',
  'ssubscribe',
  'unsubscribe',
  'punsubscribe',
  'sunsubscribe',
  'pubsub',
  'pubsub|numsub',
  'pubsub|shardnumsub',
]);
const PUBSUB_COMMANDS = new Set(['publish', 'spublish']);

export interface RedisWork {
  /** Commands other than pub/sub, per message (persistence and everything else the app asks for). */
  dataCmdsPerMsg: number;
  /** PUBLISH/SPUBLISH per message (the adapter's broadcast). */
  pubsubCmdsPerMsg: number;
  /** command → calls per message, largest first. */
  perMsg: Record<string, number>;
}

/** Per-command call deltas between two INFO commandstats readings. */
function commandDeltas(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [cmd, calls] of after) {
    const d = calls - (before.get(cmd) ?? 0);
    if (d > 0) out.set(cmd, d);
  }
  return out;
}

export function redisWork(deltas: Map<string, number>, messages: number): RedisWork {
  let data = 0;
  let pubsub = 0;
  const list: [string, number][] = [];
  for (const [cmd, d] of deltas) {
    if (IGNORED_COMMANDS.has(cmd)) continue;
    if (PUBSUB_COMMANDS.has(cmd)) pubsub += d;
    else data += d;
    list.push([cmd, d]);
  }
  list.sort((a, b) => b[1] - a[1]);
  return {
    dataCmdsPerMsg: ratio(data, messages),
    pubsubCmdsPerMsg: ratio(pubsub, messages),
    perMsg: Object.fromEntries(
      list.slice(0, 8).map(([cmd, d]) => [cmd, Math.round((d / messages) * 1000) / 1000]),
    ),
  };
}

export interface StepResult {
  offeredPerS: number;
  /** Measurement windows merged into this step (alternating with the other cluster's). */
  windows: number;
  sentPerS: number;
  sent: number;
  acked: number;
  ackErrors: number;
  errorCodes: Record<string, number>;
  expected: number;
  received: number;
  /** received / expected (each message to every other member of its room). */
  delivered: number;
  /** Send → receipt on another instance, ms. */
  latency: Summary;
  /** Send → receipt on the sender's own instance, ms. */
  localLatency: Summary;
  ackLatency: Summary;
  deliveriesPerS: number;
  /** utime+stime of the instance processes over the step and its drain, per 1000 acked messages. */
  appCpuMsPer1k: number;
  /** Same per 1000 sent messages (refused ones included: they cost a parse and an ack too). */
  appCpuMsPer1kSent: number;
  /** Same, per instance (index order). */
  instanceCpuMsPer1k: number[];
  /** Busy cores of the instances together over the window. */
  appCores: number;
  /** Busy cores of the load generators over the window. */
  loadgenCores: number;
  /** Busy cores of the whole machine over the window (others' work included; /proc/stat, approximate). */
  machineCores: number;
  /** machineCores minus the bench's own processes: work of others on the machine (approximate, ≥ 0). */
  otherCores: number;
  redisCpuMsPer1k: number;
  redis: RedisWork;
  windowMs: number;
  drainMs: number;
  drained: boolean;
  disconnects: number;
  /** Commands sent to Redis per message (MONITOR; a script counts once), when asked for. */
  roundTrips?: RoundTrips;
}

export interface RoundTrips {
  /** Per connection role (product: data, pub, sub; baseline: unnamed). */
  perMsgByRole: Record<string, number>;
  /** `role command` → per message. */
  perMsgByCommand: Record<string, number>;
}

function roundTrips(
  counts: Map<string, Map<string, number>>,
  roles: Map<string, string>,
  messages: number,
): RoundTrips {
  const byRole: Record<string, number> = {};
  const byCommand: Record<string, number> = {};
  for (const [addr, perCmd] of counts) {
    const role = roles.get(addr) ?? 'gone';
    if (role === BENCH_CLIENT_NAME) continue;
    for (const [cmd, n] of perCmd) {
      byRole[role] = (byRole[role] ?? 0) + n;
      byCommand[`${role} ${cmd}`] = (byCommand[`${role} ${cmd}`] ?? 0) + n;
    }
  }
  const per = (o: Record<string, number>) =>
    Object.fromEntries(
      Object.entries(o)
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => [k, Math.round((n / messages) * 1000) / 1000]),
    );
  return { perMsgByRole: per(byRole), perMsgByCommand: per(byCommand) };
}

export interface StepOptions {
  step: number;
  ratePerS: number;
  durationMs: number;
  /** Members of every room (each message is due to members − 1 clients). */
  roomSize: number;
  /** How long to wait for the last deliveries after sending stopped. */
  maxDrainMs: number;
  /** Runs while the load is being sent (login storm); the step stops sending once it resolves. */
  during?: () => Promise<void>;
  /** Count round trips with MONITOR (slows Redis: not for a measured step). */
  monitor?: boolean;
}

/** What one measured window collected, before summarising (several windows of a rate can be merged). */
export interface RawStep {
  offeredPerS: number;
  sent: number;
  sendMs: number;
  acked: number;
  ackErrors: number;
  errorCodes: Record<string, number>;
  expected: number;
  received: number;
  cross: Float64Array[];
  local: Float64Array[];
  ack: Float64Array[];
  /** CPU ms of each instance over the window. */
  instanceCpuMs: number[];
  redisCpuMs: number;
  loadgenCpuMs: number;
  machineMs: number;
  windowMs: number;
  drainMs: number;
  drained: boolean;
  disconnects: number;
  commands: Map<string, number>;
  roundTrips?: RoundTrips;
}

/** One load window: offered rate for a duration, then drain; CPU and Redis work over the whole window. */
export async function measureStep(ctx: Ctx, cluster: BenchCluster, opts: StepOptions): Promise<RawStep> {
  const pids = cluster.instances.map((i) => i.pid);
  const size = ctx.pool.size;
  const monitor = opts.monitor ? await RedisMonitor.start(cluster.redis.port) : undefined;
  const cmdBefore = await cluster.commandStats();
  const workerPids = ctx.pool.workers.map((w) => w.pid);
  const cpu0 = pids.map(cpuMs);
  const redis0 = cpuMs(cluster.redis.pid);
  const loadgen0 = workerPids.reduce((s, pid) => s + cpuMs(pid), 0);
  const machine0 = machineBusyMs();
  const t0 = nowMs();
  const sending = ctx.pool.all<StepSent>(
    () => ({
      type: 'step',
      group: cluster.label,
      step: opts.step,
      ratePerS: opts.ratePerS / size,
      durationMs: opts.durationMs,
      textChars: ctx.textChars,
    }),
    opts.durationMs * 3 + 60_000,
  );
  if (opts.during) {
    await opts.during();
    await ctx.pool.all(() => ({ type: 'stop' }), 10_000);
  }
  const sentReplies = await sending;
  const sendEnd = nowMs();
  const sent = sentReplies.reduce((s, r) => s + r.sent, 0);
  const sendMs = Math.max(...sentReplies.map((r) => r.sendMs), 1);
  const expected = sent * (opts.roomSize - 1);

  // Drain: until everything arrived and was acked, or nothing moved for 2 s, or maxDrainMs.
  let last = -1;
  let lastChange = nowMs();
  let drained = false;
  while (nowMs() - sendEnd < opts.maxDrainMs) {
    const p = await ctx.pool.all<StepProgress>(() => ({ type: 'progress', step: opts.step }), 10_000);
    const received = p.reduce((s, r) => s + r.received, 0);
    const answered = p.reduce((s, r) => s + r.acked + r.ackErrors, 0);
    if (received >= expected && answered >= sent) {
      drained = true;
      break;
    }
    if (received + answered !== last) {
      last = received + answered;
      lastChange = nowMs();
    } else if (nowMs() - lastChange > 2000) break;
    await sleep(100);
  }
  const t1 = nowMs();
  const cpu1 = pids.map(cpuMs);
  const redis1 = cpuMs(cluster.redis.pid);
  const loadgen1 = workerPids.reduce((s, pid) => s + cpuMs(pid), 0);
  const machine1 = machineBusyMs();
  const cmdAfter = await cluster.commandStats();
  const monitored = monitor?.stop();
  const roles = monitored ? clientRoles(await cluster.clientList()) : undefined;
  const stats = await ctx.pool.all<StepStats>(() => ({ type: 'collect', step: opts.step }), 30_000);
  const acked = stats.reduce((s, r) => s + r.acked, 0);
  const errorCodes: Record<string, number> = {};
  for (const r of stats)
    for (const [code, n] of Object.entries(r.errorCodes)) errorCodes[code] = (errorCodes[code] ?? 0) + n;
  return {
    offeredPerS: opts.ratePerS,
    sent,
    sendMs,
    acked,
    ackErrors: stats.reduce((s, r) => s + r.ackErrors, 0),
    errorCodes,
    expected,
    received: stats.reduce((s, r) => s + r.received, 0),
    cross: stats.map((s) => s.crossLatencies),
    local: stats.map((s) => s.localLatencies),
    ack: stats.map((s) => s.ackLatencies),
    instanceCpuMs: cpu1.map((v, i) => v - (cpu0[i] ?? 0)),
    redisCpuMs: redis1 - redis0,
    loadgenCpuMs: loadgen1 - loadgen0,
    machineMs: machine1 - machine0,
    windowMs: t1 - t0,
    drainMs: t1 - sendEnd,
    drained,
    disconnects: stats.reduce((s, r) => s + r.disconnects, 0),
    commands: commandDeltas(cmdBefore, cmdAfter),
    ...(monitored && roles ? { roundTrips: roundTrips(monitored, roles, acked) } : {}),
  };
}

function concat(parts: Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Merges windows of one rate into one step (sums, latencies pooled). */
export function summarizeSteps(raws: readonly RawStep[]): StepResult {
  const first = raws[0];
  if (!first) throw new Error('no window to summarise');
  const sum = (pick: (r: RawStep) => number) => raws.reduce((s, r) => s + pick(r), 0);
  const sent = sum((r) => r.sent);
  const sendMs = sum((r) => r.sendMs);
  const acked = sum((r) => r.acked);
  const received = sum((r) => r.received);
  const expected = sum((r) => r.expected);
  const windowMs = sum((r) => r.windowMs);
  const instanceCpuMs = first.instanceCpuMs.map((_, i) => sum((r) => r.instanceCpuMs[i] ?? 0));
  const appCpu = instanceCpuMs.reduce((s, v) => s + v, 0);
  const errorCodes: Record<string, number> = {};
  const commands = new Map<string, number>();
  for (const r of raws) {
    for (const [code, n] of Object.entries(r.errorCodes)) errorCodes[code] = (errorCodes[code] ?? 0) + n;
    for (const [cmd, n] of r.commands) commands.set(cmd, (commands.get(cmd) ?? 0) + n);
  }
  const ours = appCpu + sum((r) => r.loadgenCpuMs) + sum((r) => r.redisCpuMs);
  return {
    offeredPerS: first.offeredPerS,
    windows: raws.length,
    sentPerS: (sent * 1000) / sendMs,
    sent,
    acked,
    ackErrors: sum((r) => r.ackErrors),
    errorCodes,
    expected,
    received,
    delivered: ratio(received, expected),
    latency: summarize(concat(raws.flatMap((r) => r.cross))),
    localLatency: summarize(concat(raws.flatMap((r) => r.local))),
    ackLatency: summarize(concat(raws.flatMap((r) => r.ack))),
    deliveriesPerS: (received * 1000) / sendMs,
    appCpuMsPer1k: ratio(appCpu * 1000, acked),
    appCpuMsPer1kSent: ratio(appCpu * 1000, sent),
    instanceCpuMsPer1k: instanceCpuMs.map((v) => ratio(v * 1000, acked)),
    appCores: appCpu / windowMs,
    loadgenCores: sum((r) => r.loadgenCpuMs) / windowMs,
    machineCores: sum((r) => r.machineMs) / windowMs,
    otherCores: Math.max(0, (sum((r) => r.machineMs) - ours) / windowMs),
    redisCpuMsPer1k: ratio(sum((r) => r.redisCpuMs) * 1000, acked),
    redis: redisWork(commands, acked),
    windowMs,
    drainMs: Math.max(...raws.map((r) => r.drainMs)),
    drained: raws.every((r) => r.drained),
    disconnects: Math.max(...raws.map((r) => r.disconnects)),
    ...(first.roundTrips ? { roundTrips: first.roundTrips } : {}),
  };
}

/** One load step in one window. */
export async function runStep(ctx: Ctx, cluster: BenchCluster, opts: StepOptions): Promise<StepResult> {
  return summarizeSteps([await measureStep(ctx, cluster, opts)]);
}
