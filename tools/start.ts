import path from 'node:path';
import { parseArgs } from 'node:util';
import { prettyFactory } from 'pino-pretty';
import { buildCluster, type Cluster, type ClusterInstance } from './cluster/builder.js';
import { REPO_ROOT } from './cluster/paths.js';
import { preferredPort } from './cluster/ports.js';
import { externalRedis, standaloneRedis, type RedisStarter } from './cluster/redis.js';
import { redisCluster } from './cluster/redis-cluster.js';
import { redisSentinel } from './cluster/redis-sentinel.js';
import { LauncherState, LockError } from './launcher-state.js';

/**
 * The local cluster (`npm start`): Redis (REDIS_URL, or redis-server with AOF in .data/redis),
 * N app instances on free loopback ports, and nginx rendered from the top-level nginx.conf in front,
 * all from the one cluster builder (tools/cluster/builder.ts). It stops in order (instances drain,
 * then nginx, then Redis flushes its AOF) on SIGINT, SIGTERM, SIGHUP, and when its parent (npm)
 * dies; a crashed instance is restarted with backoff.
 */

const PREFERRED_REDIS_PORT = 6380;
const DEFAULT_PORT = 8080;
const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;
const STABLE_AFTER_MS = 60_000;

const USAGE = `Usage: npm start -- [--instances N] [--port P] [--logs stdout|files] [--dir DIR]
                 [--redis standalone|cluster|sentinel]

  --instances N   app instances behind nginx (default: INSTANCES or 3)
  --port P        nginx port on 127.0.0.1 (default: PORT or ${DEFAULT_PORT}, else the next free one)
  --logs MODE     stdout: instance logs streamed here, prefixed app-N (default)
                  files:  instance logs in .run/logs/app-N.log only
  --dir DIR       where .data/ and .run/ go (default: this checkout)
  --redis TOPO    standalone: one redis-server, AOF in .data/redis (default)
                  cluster:    a Redis Cluster, 3 masters + 3 replicas (fresh each start, in .run/redis)
                  sentinel:   1 primary + 1 replica + 3 sentinels (fresh each start, in .run/redis)

Environment: REDIS_URL (use that Redis instead of starting redis-server); any app setting
(LOG_LEVEL, RATE_LIMITS, ...) is passed to every instance.
`;

interface Options {
  dir: string;
  instances: number;
  port: number | undefined;
  logs: 'stdout' | 'files';
  redis: 'standalone' | 'cluster' | 'sentinel';
}

class CliError extends Error {}

const out = (text: string): void => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
const err = (text: string): void => void process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      instances: { type: 'string', short: 'n' },
      port: { type: 'string', short: 'p' },
      logs: { type: 'string' },
      dir: { type: 'string' },
      redis: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) return undefined;
  const rawInstances = values.instances ?? process.env.INSTANCES ?? '3';
  const instances = Number(rawInstances);
  if (!Number.isInteger(instances) || instances < 1 || instances > 32) {
    throw new CliError(`--instances must be an integer from 1 to 32, got "${rawInstances}"`);
  }
  const rawPort = values.port ?? process.env.PORT;
  const port = rawPort === undefined || rawPort === '' ? undefined : Number(rawPort);
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    throw new CliError(`--port must be a TCP port, got "${rawPort}"`);
  }
  const logs = values.logs ?? 'stdout';
  if (logs !== 'stdout' && logs !== 'files')
    throw new CliError(`--logs must be stdout or files, got "${logs}"`);
  const redis = values.redis ?? 'standalone';
  if (redis !== 'standalone' && redis !== 'cluster' && redis !== 'sentinel') {
    throw new CliError(`--redis must be standalone, cluster or sentinel, got "${redis}"`);
  }
  return { dir: path.resolve(values.dir ?? REPO_ROOT), instances, port, logs, redis };
}

/** REDIS_URL without its password, for the banner. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return 'REDIS_URL';
  }
}

/** `app-2 12:00:01.234 INFO: joined room {room, user}` from each pino line, through pino-pretty. */
function prettyOutput(id: string): (line: string) => void {
  const pretty = prettyFactory({
    colorize: process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,instance',
    singleLine: true,
  });
  return (line) => {
    const text = line.startsWith('{') ? pretty(line).trimEnd() : line;
    out(`${id} ${text}`);
  };
}

// ---------------------------------------------------------------------------------------------
// The launcher

class Launcher {
  private cluster: Cluster | undefined;
  private stopping: Promise<number> | undefined;
  private firstSignalAt = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private resolveFinished: (code: number) => void = () => undefined;
  /** Resolves with the exit code once a stop (signal, critical exit) has completed. */
  readonly finished = new Promise<number>((resolve) => (this.resolveFinished = resolve));

  private readonly state: LauncherState;

  constructor(private readonly opts: Options) {
    this.state = new LauncherState(opts.dir);
  }

  async start(): Promise<void> {
    const externalUrl = process.env.REDIS_URL ?? '';
    this.state.takeLock();
    const sessionSecret = process.env.SESSION_SECRET ?? this.state.secret('session-secret', 32);
    const metricsToken = process.env.METRICS_TOKEN ?? this.state.secret('metrics-token', 24);
    if (externalUrl !== '' && this.opts.redis !== 'standalone') {
      throw new CliError('REDIS_URL names a Redis to use: leave out --redis, or unset REDIS_URL');
    }
    let redis: RedisStarter;
    if (externalUrl !== '') redis = externalRedis(externalUrl);
    else if (this.opts.redis === 'cluster') redis = redisCluster();
    else if (this.opts.redis === 'sentinel') redis = redisSentinel();
    else {
      redis = standaloneRedis({
        port: await preferredPort(PREFERRED_REDIS_PORT),
        dataDir: path.join(this.state.dataDir, 'redis'),
        logFile: path.join(this.state.runDir, 'logs', 'redis.log'),
      });
    }
    this.cluster = await buildCluster({
      dir: this.state.runDir,
      instances: this.opts.instances,
      redis,
      nginx: { port: await this.nginxPort() },
      env: () => ({
        NODE_ENV: process.env.NODE_ENV ?? 'production',
        SESSION_SECRET: sessionSecret,
        METRICS_TOKEN: metricsToken,
        TRUST_PROXY: process.env.TRUST_PROXY ?? 'loopback',
        COOKIE_SECURE: process.env.COOKIE_SECURE ?? 'auto',
        INSTANCES: undefined,
        PORT: undefined,
      }),
      ...(this.opts.logs === 'files' ? {} : { onLine: (id: string) => prettyOutput(id) }),
    });
    if (this.stopping !== undefined) return; // a signal arrived during start-up
    this.watchCritical(this.cluster);
    for (const instance of this.cluster.instances) this.supervise(instance, FIRST_BACKOFF_MS);

    const url = `http://localhost:${this.cluster.nginx?.port ?? 0}`;
    const redisLabel =
      externalUrl !== ''
        ? `redis ${redactUrl(externalUrl)}`
        : this.opts.redis === 'standalone'
          ? `${this.cluster.redis.url}, AOF in .data/redis`
          : `redis ${this.opts.redis} ${this.cluster.redis.env?.REDIS_CLUSTER_NODES ?? this.cluster.redis.env?.REDIS_SENTINELS ?? ''}`;
    out(`Chat running at ${url} (${this.opts.instances} instances, ${redisLabel})`);
    out(
      `  metrics: curl -H "Authorization: Bearer ${metricsToken}" ${url}/metrics   (token in .data/metrics-token)`,
    );
    out(
      this.opts.logs === 'files'
        ? '  logs: .run/logs/app-N.log, .run/logs/redis.log, .run/nginx/logs/'
        : '  logs: instance logs below, prefixed app-N, and in .run/logs/app-N.log (--logs files: there only)',
    );
    out('  Ctrl-C stops everything.');
  }

  private async nginxPort(): Promise<number> {
    const wanted = this.opts.port ?? DEFAULT_PORT;
    const port = await preferredPort(wanted, '127.0.0.1', this.opts.port === undefined ? 20 : 0);
    if (port !== wanted && this.opts.port !== undefined && process.env.PORT === undefined) {
      throw new CliError(`Port ${wanted} is in use on 127.0.0.1; choose another with --port.`);
    }
    return port;
  }

  /** Restarts a crashed instance with exponential backoff (reset once it stayed up a minute). */
  private supervise(instance: ClusterInstance, backoffMs: number): void {
    const startedAt = Date.now();
    void instance.exited.then((code) => {
      if (this.stopping !== undefined) return;
      const delay = Date.now() - startedAt > STABLE_AFTER_MS ? FIRST_BACKOFF_MS : backoffMs;
      const how =
        code === null ? `was killed by ${instance.signalCode ?? 'a signal'}` : `exited with code ${code}`;
      this.restartLater(instance, delay, how);
    });
  }

  private restartLater(instance: ClusterInstance, delayMs: number, why: string): void {
    err(`${instance.id} ${why}; restarting in ${delayMs / 1000} s`);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.stopping !== undefined) return;
      const next = Math.min(delayMs * 2, MAX_BACKOFF_MS);
      instance.restart().then(
        () => {
          if (this.stopping !== undefined) return void instance.kill();
          err(`${instance.id} restarted (pid ${instance.pid}, port ${instance.port})`);
          this.supervise(instance, next);
        },
        (e: unknown) => {
          if (this.stopping !== undefined) return;
          this.restartLater(
            instance,
            next,
            `failed to start (${e instanceof Error ? e.message : String(e)})`,
          );
        },
      );
    }, delayMs);
    this.timers.add(timer);
  }

  /** Redis or nginx dying takes the whole cluster down: without them nothing works. */
  private watchCritical(cluster: Cluster): void {
    const exits: [string, Promise<unknown>][] = [['redis', cluster.redis.exited()]];
    if (cluster.nginx !== undefined) exits.push(['nginx', cluster.nginx.process.exited]);
    for (const [what, exited] of exits) {
      void exited.then(() => {
        if (this.stopping !== undefined) return;
        err(`${what} exited unexpectedly; stopping the cluster`);
        void this.stop(1);
      });
    }
  }

  onSignal(signal: string): void {
    const now = Date.now();
    if (this.stopping === undefined) {
      this.firstSignalAt = now;
      err(`\n${signal}: stopping instances (they drain), then nginx, then redis…`);
      void this.stop(0);
      return;
    }
    // The same Ctrl-C often arrives twice (from the terminal and forwarded by npm): only a later one forces.
    if (now - this.firstSignalAt < 1000) return;
    err('Forced stop.');
    void this.cluster?.stop({ instanceSignal: 'SIGKILL' });
    this.state.releaseLock();
    process.exit(1);
  }

  stop(code: number): Promise<number> {
    this.stopping ??= (async () => {
      for (const timer of this.timers) clearTimeout(timer);
      const drainTimeoutMs = Number(process.env.SHUTDOWN_TIMEOUT_MS ?? 10_000) + 5000;
      await this.cluster?.stop({ drainTimeoutMs });
      this.state.releaseLock();
      if (this.cluster !== undefined) out('Stopped.');
      this.resolveFinished(code);
      return code;
    })();
    return this.stopping;
  }
}

/**
 * npm runs this through `sh -c`, which dies of a SIGTERM sent to npm without passing it on; the
 * launcher then notices its parent is gone (it is re-parented) and stops as if hung up.
 */
function watchParent(onGone: () => void): void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone();
  }, 250);
  timer.unref();
}

export async function main(argv: string[]): Promise<number> {
  let opts: Options | undefined;
  try {
    opts = parseOptions(argv);
  } catch (e) {
    err(e instanceof Error ? e.message : String(e));
    err(USAGE);
    return 1;
  }
  if (opts === undefined) {
    out(USAGE);
    return 0;
  }
  const launcher = new Launcher(opts);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => launcher.onSignal(signal));
  }
  watchParent(() => launcher.onSignal('parent process gone'));
  try {
    await launcher.start();
    return await launcher.finished; // runs until a signal or a critical exit
  } catch (e) {
    err(
      e instanceof CliError || e instanceof LockError
        ? e.message
        : e instanceof Error
          ? (e.stack ?? e.message)
          : String(e),
    );
    await launcher.stop(1);
    return 1;
  }
}
