import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startCluster, type BenchCluster, type ClusterOptions } from './cluster.js';
import { Inspector, inspectorUrl } from './inspector.js';
import { nowMs, type ClientSpec, type ConnectResult } from './protocol.js';
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
  /** Fan-out senders ask for acks (`--acks off`: per-message figures count sent messages). */
  acks: boolean;
  /** Characters of each chat message's text. */
  textChars: number;
  pool: WorkerPool;
  log(line: string): void;
}

export { setTimeout as sleep } from 'node:timers/promises';

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

/**
 * One sending client per name, name g on instance g mod `instances` (the first `instances` of the
 * cluster) and in room floor(g / usersPerRoom); ids from `idBase`.
 */
export function roomClients(
  cluster: BenchCluster,
  names: readonly string[],
  opts: {
    cookies: readonly (string | undefined)[];
    rooms: readonly string[];
    usersPerRoom: number;
    instances: number;
    idBase?: number;
  },
): ClientSpec[] {
  return names.map((username, g) => ({
    id: (opts.idBase ?? 0) + g,
    url: cluster.urls[g % opts.instances] ?? '',
    instance: g % opts.instances,
    cookie: opts.cookies[g],
    username,
    room: opts.rooms[Math.floor(g / opts.usersPerRoom)],
    sender: true,
    group: cluster.label,
  }));
}
