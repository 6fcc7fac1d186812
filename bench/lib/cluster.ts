import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { buildCluster, type ClusterInstance } from '../../tools/cluster/builder.js';
import { standaloneRedis, type RedisDeployment, type RedisStarter } from '../../tools/cluster/redis.js';
import type { ServerKind } from './protocol.js';

/**
 * The bench's clusters, from the one cluster builder: redis-server (no AOF) + N instances of the
 * product (dist/main.js) or of the baseline relay, no nginx (load generators pick instances).
 */

export const BASELINE_ENTRY = fileURLToPath(new URL('../baseline/server.mjs', import.meta.url));
/** The bench's own Redis connection (INFO, CLIENT LIST): left out of the counts. */
export const BENCH_CLIENT_NAME = 'bench-info';

export interface ClusterOptions {
  kind: ServerKind;
  label: string;
  instances: number;
  /** Extra env for every instance (e.g. ADAPTER, BCRYPT_ROUNDS). */
  env?: Record<string, string | undefined>;
  /** Logs (and profiles) go below it. */
  runDir: string;
  /** Start instances with an inspector on a free loopback port (forced GC, CPU profiles). */
  inspect?: boolean;
  /** nginx (the repository's nginx.conf) in front of the instances (reconnect storm). */
  nginx?: boolean;
  logLevel: string;
  /** Product only: another entry than dist/main.js (a candidate build), and env overrides. */
  productEntry?: string;
  productEnv?: Record<string, string>;
  /** Redis topology (default: one redis-server without persistence). */
  redis?: RedisStarter;
}

export interface BenchCluster {
  kind: ServerKind;
  label: string;
  /** The (first) Redis node: figures of a multi-node topology read its nodes from `deployment`. */
  redis: { readonly url: string; readonly port: number; readonly pid: number };
  deployment: RedisDeployment;
  instances: readonly ClusterInstance[];
  urls: string[];
  /** nginx in front, when asked for: its URL and its access log. */
  nginx?: { url: string; accessLog: string };
  /** Each instance's log file (stdout and stderr). */
  logFiles: string[];
  metricsToken: string;
  /** Adapter the instances report (product: from its log; baseline: from /readyz). */
  adapter: string;
  redisVersion: string;
  /** INFO commandstats: command → calls (a script's inner commands included). */
  commandStats(): Promise<Map<string, number>>;
  /** CLIENT LIST as Redis prints it. */
  clientList(): Promise<string>;
  stop(): Promise<void>;
}

const live = new Set<BenchCluster>();
let versionSeen = 'unknown';

/** redis-server version of the last cluster started (for the report). */
export function redisVersionSeen(): string {
  return versionSeen;
}

/** Stops every cluster still running (on error or signal). */
export async function stopAllClusters(): Promise<void> {
  await Promise.allSettled([...live].map((c) => c.stop()));
}

export async function startCluster(opts: ClusterOptions): Promise<BenchCluster> {
  const dir = path.join(opts.runDir, opts.label);
  mkdirSync(dir, { recursive: true });
  const metricsToken = randomBytes(16).toString('hex');
  const sessionSecret = randomBytes(24).toString('hex');
  // --cpu-prof is not allowed in NODE_OPTIONS; --inspect is, and the bench drives the profiler itself.
  const nodeOptions = opts.inspect ? '--inspect=127.0.0.1:0' : undefined;
  const built = await buildCluster({
    dir,
    instances: opts.instances,
    redis: opts.redis ?? standaloneRedis({ appendonly: false }),
    ...(opts.nginx === true ? { nginx: {} } : {}),
    id: (i) => `${opts.label}-${i + 1}`,
    ...(opts.kind === 'baseline'
      ? { entry: BASELINE_ENTRY }
      : opts.productEntry === undefined
        ? {}
        : { entry: opts.productEntry }),
    env: () => ({
      NODE_ENV: 'production',
      REDIS_PREFIX: 'bench:',
      SESSION_SECRET: sessionSecret,
      LOG_LEVEL: opts.logLevel,
      RATE_LIMITS: 'off',
      METRICS_TOKEN: metricsToken,
      DRAIN_WINDOW_MS: '0',
      NODE_OPTIONS: nodeOptions,
      ...opts.env,
      ...(opts.kind === 'product' ? opts.productEnv : {}),
    }),
  });
  const info = createClient({ url: built.redis.url, name: BENCH_CLIENT_NAME });
  info.on('error', () => undefined);
  let stopped: Promise<void> | undefined;
  const cluster: BenchCluster = {
    kind: opts.kind,
    label: opts.label,
    redis: {
      url: built.redis.url,
      port: Number(new URL(built.redis.url).port),
      get pid() {
        return built.redis.pids()[0] ?? 0;
      },
    },
    deployment: built.redis,
    instances: built.instances,
    urls: built.instances.map((i) => i.url),
    ...(built.nginx
      ? { nginx: { url: built.nginx.url, accessLog: path.join(dir, 'nginx', 'logs', 'access.log') } }
      : {}),
    logFiles: built.instances.map((i) => i.logFile),
    metricsToken,
    adapter: 'unknown',
    redisVersion: 'unknown',
    async commandStats() {
      const text = await info.info('commandstats');
      const stats = new Map<string, number>();
      for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
        if (m[1] !== undefined && m[2] !== undefined) stats.set(m[1], Number(m[2]));
      }
      return stats;
    },
    async clientList() {
      return String(await info.sendCommand(['CLIENT', 'LIST']));
    },
    stop() {
      stopped ??= (async () => {
        if (info.isOpen) await info.close().catch(() => undefined);
        await built.stop({ drainTimeoutMs: 15_000 });
        live.delete(cluster);
      })();
      return stopped;
    },
  };
  live.add(cluster);
  try {
    await info.connect();
    cluster.redisVersion = /redis_version:(\S+)/.exec(await info.info('server'))?.[1] ?? 'unknown';
    versionSeen = cluster.redisVersion;
    cluster.adapter = await detectAdapter(cluster);
    return cluster;
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

/** Which Socket.IO adapter the instances run: the sharded one shows up as SSUBSCRIBE'd shard channels. */
async function detectAdapter(cluster: BenchCluster): Promise<string> {
  const stats = await cluster.commandStats();
  if ((stats.get('ssubscribe') ?? 0) > 0) return 'sharded';
  if ((stats.get('psubscribe') ?? 0) > 0 || (stats.get('subscribe') ?? 0) > 0) return 'classic';
  return 'unknown';
}
