import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildCluster, type ClusterInstance } from '../../tools/cluster/builder.js';
import { standaloneRedis } from '../../tools/cluster/redis.js';

export { fromAddress, loopbackAgent, request, serving, type SimpleResponse } from './http.js';
export type { ClusterInstance } from '../../tools/cluster/builder.js';

/**
 * The cluster tiers' harness over the one cluster builder (tools/cluster/builder.ts): redis-server
 * (own port, temp dir, AOF on), N app instances (dist/main.js: run `npm run build` first;
 * `npm run test:cluster` does) and nginx rendered from the top-level nginx.conf, all on free
 * loopback ports, all stopped by stop(). To land on chosen instances through nginx, send from
 * chosen loopback addresses (test/helpers/http.ts, test/helpers/routing.ts).
 */

export interface StartClusterOptions {
  /** Default 3. */
  instances?: number;
  /** Put nginx in front (default true). */
  nginx?: boolean;
  /** Extra env for every instance; overrides the harness defaults (`undefined` removes a variable). */
  env?: Record<string, string | undefined>;
  /** Redis AOF (default true), so restartRedis() keeps the data. */
  redisAppendonly?: boolean;
}

export interface TestCluster {
  readonly redis: {
    readonly url: string;
    readonly port: number;
    readonly pid: number;
    readonly running: boolean;
  };
  readonly instances: readonly ClusterInstance[];
  /** http://127.0.0.1:<port> of nginx; throws when started with `nginx: false`. */
  readonly nginxUrl: string;
  /** The temp dir: logs/, redis/, nginx/ (removed by stop()). */
  readonly dir: string;
  readonly sessionSecret: string;
  readonly metricsToken: string;
  /** url(i): instance i's direct URL (0-based); url(): nginx, or instance 0 without nginx. */
  url(i?: number): string;
  /** SIGTERM (AOF flushed) and start again on the same port and dir. */
  restartRedis(): Promise<void>;
  /** SIGTERM by default; SIGKILL to simulate a crash. */
  stopRedis(signal?: NodeJS.Signals): Promise<void>;
  /** Starts Redis again on its port and dir (after stopRedis). */
  startRedis(): Promise<void>;
  /** Sends `signal` (default SIGKILL) to instance i and waits for its exit. */
  killInstance(i: number, signal?: NodeJS.Signals): Promise<number | null>;
  /** Pids of every process the harness currently runs (nginx: the master). */
  pids(): number[];
  /** Kills everything and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

export async function startCluster(opts: StartClusterOptions = {}): Promise<TestCluster> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'chat-cluster-'));
  const sessionSecret = randomBytes(32).toString('hex');
  const metricsToken = randomBytes(24).toString('hex');
  let cluster;
  try {
    cluster = await buildCluster({
      dir,
      instances: opts.instances ?? 3,
      redis: standaloneRedis({ appendonly: opts.redisAppendonly ?? true }),
      ...(opts.nginx === false ? {} : { nginx: {} }),
      env: () => ({
        SESSION_SECRET: sessionSecret,
        METRICS_TOKEN: metricsToken,
        RATE_LIMITS: 'off',
        LOG_LEVEL: 'warn',
        TRUST_PROXY: 'loopback',
        ...opts.env,
      }),
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const built = cluster;
  const redis = built.redis;
  const redisPort = Number(new URL(redis.url).port);
  const instanceAt = (i: number): ClusterInstance => {
    const instance = built.instances[i];
    if (instance === undefined) throw new Error(`no instance ${i} (have ${built.instances.length})`);
    return instance;
  };
  let stopped: Promise<void> | undefined;
  return {
    get redis() {
      return { url: redis.url, port: redisPort, pid: redis.pids()[0] ?? 0, running: redis.running };
    },
    instances: built.instances,
    get nginxUrl() {
      if (built.nginx === undefined) throw new Error('this cluster was started with nginx: false');
      return built.nginx.url;
    },
    dir,
    sessionSecret,
    metricsToken,
    url: (i?: number) => (i === undefined ? (built.nginx?.url ?? instanceAt(0).url) : instanceAt(i).url),
    restartRedis: async () => {
      await redis.stop();
      await redis.start();
    },
    stopRedis: (signal: NodeJS.Signals = 'SIGTERM') =>
      signal === 'SIGTERM' ? redis.stop() : redis.kill(signal),
    startRedis: () => redis.start(),
    killInstance: (i: number, signal: NodeJS.Signals = 'SIGKILL') => instanceAt(i).stop(signal),
    pids: () => built.pids(),
    stop: () => {
      stopped ??= built
        .stop({ instanceSignal: 'SIGKILL' })
        .finally(() => rmSync(dir, { recursive: true, force: true }));
      return stopped;
    },
  };
}
