import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { ManagerOptions, SocketOptions } from 'socket.io-client';
import { writeNginxConf } from '../../src/cli/nginx.js';
import {
  freePort,
  startInstance,
  startNginx,
  startRedis,
  type InstanceProcess,
  type NginxProcess,
  type RedisProcess,
} from '../../src/cli/processes.js';

/**
 * The cluster test harness: redis-server (own port, temp dir, AOF on), N app instances
 * (dist/main.js: run `npm run build` first; `npm run test:cluster` does) and nginx rendered from the
 * top-level nginx.conf, all on free loopback ports, all killed by stop().
 *
 * Sticky routing is by client address (`hash $remote_addr`), so to land on different instances
 * through nginx a test connects from different loopback addresses: all of 127.0.0.0/8 is local on
 * Linux, and binding 127.0.0.2, 127.0.0.3… as the source needs no setup. Node's http.Agent takes
 * `localAddress` (`loopbackAgent(ip)` below); socket.io-client has no such option for long-polling
 * (its `localAddress` only reaches the WebSocket transport) but hands its `agent` option to both
 * transports (xmlhttprequest-ssl and ws), so pass `...fromAddress(ip)` in the io() options.
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

export interface ClusterInstance {
  /** INSTANCE_ID: app-1, app-2, … */
  readonly id: string;
  readonly port: number;
  /** Direct URL, bypassing nginx: http://127.0.0.1:<port> */
  readonly url: string;
  /** Current pid (changes on restart). */
  readonly pid: number;
  readonly running: boolean;
  /** Its stdout/stderr (pino JSON lines), appended across restarts. */
  readonly logFile: string;
  /** Sends `signal` (default SIGTERM: drain) and waits for the exit; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** SIGKILL: a crash. */
  kill(): Promise<number | null>;
  /** Stops it when running (SIGTERM) and starts it again on the same port with the same id. */
  restart(): Promise<void>;
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
  const count = opts.instances ?? 3;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'chat-cluster-'));
  chmodSync(dir, 0o755); // nginx workers (unprivileged when run as root) must reach nginx/temp
  const logDir = path.join(dir, 'logs');
  mkdirSync(logDir);
  const redisDir = path.join(dir, 'redis');
  const appendonly = opts.redisAppendonly ?? true;
  const sessionSecret = randomBytes(32).toString('hex');
  const metricsToken = randomBytes(24).toString('hex');

  let redis: RedisProcess | undefined;
  let nginx: NginxProcess | undefined;
  let nginxUrl: string | undefined;
  const procs: (InstanceProcess | undefined)[] = [];
  let stopped: Promise<void> | undefined;

  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await Promise.all([...procs.map((p) => p?.kill()), nginx?.stop(5000)]);
      await redis?.kill();
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };

  try {
    const redisPort = await freePort();
    const bootRedis = async (): Promise<RedisProcess> =>
      startRedis({ port: redisPort, dir: redisDir, appendonly, logFile: path.join(logDir, 'redis.log') });
    redis = await bootRedis();
    const redisUrl = redis.url;

    const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
    const envFor = (i: number): Record<string, string | undefined> => ({
      HOST: '127.0.0.1',
      REDIS_URL: redisUrl,
      INSTANCE_ID: `app-${i + 1}`,
      SESSION_SECRET: sessionSecret,
      METRICS_TOKEN: metricsToken,
      RATE_LIMITS: 'off',
      LOG_LEVEL: 'warn',
      TRUST_PROXY: 'loopback',
      ...opts.env,
    });
    const logFileOf = (i: number): string => path.join(logDir, `app-${i + 1}.log`);
    const boot = (i: number): Promise<InstanceProcess> =>
      startInstance({ port: ports[i] ?? 0, env: envFor(i), logFile: logFileOf(i) });

    const started = await Promise.allSettled(ports.map((_, i) => boot(i)));
    started.forEach((r, i) => (procs[i] = r.status === 'fulfilled' ? r.value : undefined));
    const failed = started.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;

    if (opts.nginx ?? true) {
      const listen = { host: '127.0.0.1', port: await freePort() };
      const runDir = path.join(dir, 'nginx');
      const confPath = writeNginxConf({
        listen,
        upstreams: ports.map((port) => ({ host: '127.0.0.1', port })),
        runDir,
      });
      nginx = await startNginx({ confPath, prefixDir: runDir, listen });
      nginxUrl = `http://127.0.0.1:${listen.port}`;
    }

    const instanceAt = (i: number): InstanceProcess => {
      const p = procs[i];
      if (p === undefined) throw new Error(`no instance ${i} (have ${count})`);
      return p;
    };
    const instances: ClusterInstance[] = ports.map((port, i) => ({
      id: `app-${i + 1}`,
      port,
      url: `http://127.0.0.1:${port}`,
      logFile: logFileOf(i),
      get pid() {
        return instanceAt(i).pid;
      },
      get running() {
        return instanceAt(i).running;
      },
      stop: (signal?: NodeJS.Signals) => instanceAt(i).stop(signal),
      kill: () => instanceAt(i).kill(),
      restart: async () => {
        const current = instanceAt(i);
        if (current.running) await current.stop('SIGTERM');
        procs[i] = await boot(i);
      },
    }));

    const currentRedis = (): RedisProcess => {
      if (redis === undefined) throw new Error('redis is not running');
      return redis;
    };

    return {
      get redis() {
        const r = currentRedis();
        return { url: redisUrl, port: redisPort, pid: r.pid, running: r.running };
      },
      instances,
      get nginxUrl() {
        if (nginxUrl === undefined) throw new Error('this cluster was started with nginx: false');
        return nginxUrl;
      },
      dir,
      sessionSecret,
      metricsToken,
      url: (i?: number) => (i === undefined ? (nginxUrl ?? instanceAt(0).url) : instanceAt(i).url),
      restartRedis: async () => {
        await currentRedis().stop();
        redis = await bootRedis();
      },
      stopRedis: async (signal: NodeJS.Signals = 'SIGTERM') => {
        const r = currentRedis();
        await (signal === 'SIGTERM' ? r.stop() : r.kill(signal));
      },
      startRedis: async () => {
        if (redis?.running === true) return;
        redis = await bootRedis();
      },
      killInstance: (i: number, signal: NodeJS.Signals = 'SIGKILL') => instanceAt(i).stop(signal),
      pids: () => [redis, nginx, ...procs].flatMap((p) => (p !== undefined && p.running ? [p.pid] : [])),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** An http.Agent whose connections leave from `ip` (e.g. 127.0.0.2): a distinct client to nginx. */
export function loopbackAgent(ip: string): http.Agent {
  return new http.Agent({ localAddress: ip, keepAlive: false });
}

/**
 * socket.io-client options that make both transports connect from `ip`. engine.io-client types
 * `agent` as string | boolean but passes it on to Node's http and ws, which take an http.Agent.
 */
export function fromAddress(ip: string): Pick<Partial<ManagerOptions & SocketOptions>, 'agent'> {
  return { agent: loopbackAgent(ip) as unknown as string };
}

export interface SimpleResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A small HTTP client for tests: GET by default, optionally from a given loopback source address. */
export function request(
  url: string,
  opts: { from?: string; method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: opts.method ?? 'GET',
        headers: opts.headers,
        agent: opts.from === undefined ? false : loopbackAgent(opts.from),
        timeout: 10_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.once('timeout', () => req.destroy(new Error(`${opts.method ?? 'GET'} ${url} timed out`)));
    req.once('error', reject);
    req.end(opts.body);
  });
}
