import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { findBinary } from './paths.js';
import { freePort } from './ports.js';
import { managedView, mergeEnv, Supervised, type ManagedProcess } from './process.js';

/**
 * Redis for a cluster. The builder asks a RedisStarter for a RedisDeployment and only ever uses the
 * deployment's URL and lifecycle, so another topology (Sentinel, Redis Cluster) is another starter
 * behind the same interface: `standaloneRedis()` (one redis-server), `externalRedis(url)`, and in
 * redis-cluster.ts / redis-sentinel.ts `redisCluster()` and `redisSentinel()`.
 */

/** A running Redis topology, as the cluster sees it. */
export interface RedisDeployment {
  readonly kind: string;
  /** What the app instances get as REDIS_URL (on a cluster: one of its nodes; sentinel: the first primary). */
  readonly url: string;
  /** More REDIS_* settings the app instances get (REDIS_MODE and its nodes); none for standalone. */
  readonly env?: Readonly<Record<string, string>>;
  /** Pids of the processes it runs (none for an external Redis). */
  pids(): number[];
  readonly running: boolean;
  /** Resolves when the running topology stops serving by itself or is stopped (never, for an external Redis). */
  exited(): Promise<void>;
  /** Graceful stop (SIGTERM: data flushed). Idempotent. */
  stop(): Promise<void>;
  /** A crash (default SIGKILL: nothing flushed). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again where it was (same ports, same data dir) after stop/kill. */
  start(): Promise<void>;
}

/** One process of a multi-node topology (a cluster node, a sentinel's primary/replica or a sentinel), for tests that kill or pause it. */
export interface RedisNode {
  readonly port: number;
  readonly url: string;
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Sends a signal (default SIGKILL) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again where it was (same port and data). */
  start(): Promise<void>;
}

/**
 * The RedisNode view of the process in `procs[i]` (a restart puts a new one there), with `extra`
 * fields; `boot` starts it again.
 */
export function nodeView<E extends object>(
  procs: readonly (RedisProcess | undefined)[],
  i: number,
  port: number,
  boot: () => Promise<void>,
  extra: E,
): RedisNode & E {
  return {
    ...extra,
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return procs[i]?.pid;
    },
    get running() {
      return procs[i]?.running ?? false;
    },
    kill: async (signal: NodeJS.Signals = 'SIGKILL') => {
      await procs[i]?.kill(signal);
    },
    start: async () => {
      if (!procs[i]?.running) await boot();
    },
  };
}

export interface RedisStarter {
  readonly kind: string;
  /** Starts the topology; `dir` holds its data and logs. */
  start(dir: string): Promise<RedisDeployment>;
}

// ---------------------------------------------------------------------------------------------
// One redis-server

export interface StartRedisOptions {
  /** Default: a free port. */
  port?: number;
  /** Working directory (AOF files). Created when missing. */
  dir: string;
  /** AOF persistence (`--appendonly yes`). Default true. */
  appendonly?: boolean;
  /** Default 127.0.0.1. */
  bind?: string;
  /** Appends Redis's output here; otherwise it is only kept for error messages. */
  logFile?: string;
  /** Default: redis-server from PATH. */
  binary?: string;
  timeoutMs?: number;
  /** A config file given first (a sentinel needs a writable one). */
  configFile?: string;
  /** More arguments after the defaults (e.g. `--cluster-enabled yes`, `--sentinel`). */
  extraArgs?: string[];
  /** The output line that says it is ready (default: "Ready to accept connections"). */
  readyLine?: RegExp;
  /** Name in error messages (default `redis-server :<port>`). */
  name?: string;
}

export interface RedisProcess extends ManagedProcess {
  readonly port: number;
  readonly url: string;
  /** SIGTERM (Redis flushes the AOF and exits, like SHUTDOWN); SIGKILL after timeoutMs. */
  stop(timeoutMs?: number): Promise<number | null>;
  /** Sends a signal (default SIGKILL: a crash, nothing flushed) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Redis logs this once it has loaded its data and accepts commands (7.x; older: "...connections"). */
const READY_LINE = /Ready to accept connections/;

/** Starts redis-server and resolves once it says it is ready (data loaded), from its own output. */
export async function startRedisServer(opts: StartRedisOptions): Promise<RedisProcess> {
  const binary = opts.binary ?? findBinary('redis-server');
  if (binary === undefined) throw new Error('redis-server not found on PATH');
  const bind = opts.bind ?? '127.0.0.1';
  const port = opts.port ?? (await freePort(bind === '0.0.0.0' ? '127.0.0.1' : bind));
  mkdirSync(opts.dir, { recursive: true });
  if (opts.logFile !== undefined) mkdirSync(path.dirname(opts.logFile), { recursive: true });
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  // prettier-ignore
  const args = [
    ...(opts.configFile === undefined ? [] : [opts.configFile]),
    '--port', String(port),
    '--bind', bind,
    '--dir', opts.dir,
    '--appendonly', opts.appendonly === false ? 'no' : 'yes',
    '--save', '',
    '--daemonize', 'no',
    ...(opts.extraArgs ?? []),
  ];
  const readyLine = opts.readyLine ?? READY_LINE;
  const proc = new Supervised(binary, args, {
    name: opts.name ?? `redis-server :${port}`,
    env: mergeEnv({}),
    ...(opts.logFile === undefined ? {} : { logFile: opts.logFile }),
    onLine: (line) => {
      if (readyLine.test(line)) markReady();
    },
  });
  const timeoutMs = opts.timeoutMs ?? 15_000;
  await proc.readyWhen(`"Ready to accept connections" within ${timeoutMs} ms`, withTimeout(ready, timeoutMs));
  const host = bind === '0.0.0.0' ? '127.0.0.1' : bind;
  return Object.assign(managedView(proc), {
    port,
    url: `redis://${host}:${port}`,
    stop: (stopTimeoutMs = 10_000) => proc.stop('SIGTERM', stopTimeoutMs),
    kill: (signal: NodeJS.Signals = 'SIGKILL') => proc.stop(signal, 10_000),
  });
}

export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------
// Starters

export interface StandaloneOptions {
  /** Default: a free port (kept across restarts). */
  port?: number;
  /** AOF on (default true), so a restart keeps the data. */
  appendonly?: boolean;
  /** Data directory (AOF). Default `<dir>/data`. */
  dataDir?: string;
  /** Appends Redis's output here (default `<dir>/redis.log`; false: kept for error messages only). */
  logFile?: string | false;
}

/** One redis-server on loopback, data in `<dir>/data` unless told otherwise. */
export function standaloneRedis(opts: StandaloneOptions = {}): RedisStarter {
  return {
    kind: 'standalone',
    async start(dir: string): Promise<RedisDeployment> {
      const port = opts.port ?? (await freePort());
      const boot = (): Promise<RedisProcess> =>
        startRedisServer({
          port,
          dir: opts.dataDir ?? path.join(dir, 'data'),
          appendonly: opts.appendonly ?? true,
          ...(opts.logFile === false ? {} : { logFile: opts.logFile ?? path.join(dir, 'redis.log') }),
        });
      let current = await boot();
      return {
        kind: 'standalone',
        url: current.url,
        pids: () => (current.running ? [current.pid] : []),
        get running() {
          return current.running;
        },
        exited: () => current.exited.then(() => undefined),
        stop: async () => {
          await current.stop();
        },
        kill: async (signal: NodeJS.Signals = 'SIGKILL') => {
          await current.kill(signal);
        },
        start: async () => {
          if (current.running) return;
          current = await boot();
        },
      };
    },
  };
}

/** A Redis someone else runs (REDIS_URL): nothing to start or stop. */
export function externalRedis(url: string): RedisStarter {
  const unsupported = (what: string) => () =>
    Promise.reject(new Error(`cannot ${what} an external Redis (${url})`));
  return {
    kind: 'external',
    start: () =>
      Promise.resolve({
        kind: 'external',
        url,
        pids: () => [],
        running: true,
        exited: () => new Promise<void>(() => undefined),
        stop: () => Promise.resolve(),
        kill: unsupported('kill'),
        start: () => Promise.resolve(),
      }),
  };
}
