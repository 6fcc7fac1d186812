import { setTimeout as sleep } from 'node:timers/promises';
import { type BenchCluster } from './cluster.js';
import { clientRoles, RedisMonitor } from './redis-monitor.js';
import { cpuMs, machineBusyMs } from './procfs.js';
import { nowMs, type StepProgress, type StepSent, type StepStats } from './protocol.js';
import { ratio, summarize, type Summary } from './stats.js';
import type { Ctx } from './context.js';
import { commandDeltas, redisWork, roundTrips, type RedisWork, type RoundTrips } from './redis-work.js';

/** One measured load window (offered rate, CPU, Redis work, latencies) and merging windows into a step. */

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
  /** Senders ask for an ack (default true); without, per-message figures count sent messages. */
  acks?: boolean;
}

/** What one measured window collected, before summarising (several windows of a rate can be merged). */
export interface RawStep {
  offeredPerS: number;
  acks: boolean;
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
      acks: opts.acks !== false,
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
    if (received >= expected && (answered >= sent || opts.acks === false)) {
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
    acks: opts.acks !== false,
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
    ...(monitored && roles
      ? { roundTrips: roundTrips(monitored, roles, opts.acks === false ? sent : acked) }
      : {}),
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
  // Without acks nothing is acked: per-message figures count what was sent.
  const acked = first.acks ? sum((r) => r.acked) : sent;
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
