import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { startInstance, type InstanceProcess } from './instances.js';
import { writeNginxConf } from './nginx-conf.js';
import { startNginx, type NginxProcess } from './nginx.js';
import { freePort, isPortFree } from './ports.js';
import type { OutputHandler } from './process.js';
import type { RedisDeployment, RedisStarter } from './redis.js';

/**
 * The one cluster builder: a Redis topology (from a RedisStarter), N app instances on free loopback
 * ports and, optionally, nginx rendered from the top-level nginx.conf in front. `npm start`
 * (tools/start.ts), every test tier (test/helpers/cluster.ts) and the bench (bench/lib/cluster.ts)
 * build their clusters here. stop() is ordered and idempotent: instances (they drain), then nginx,
 * then Redis (which flushes its AOF).
 */

export interface BuildClusterOptions {
  /** Working directory: logs/, redis/, nginx/ below it. */
  dir: string;
  instances: number;
  redis: RedisStarter;
  /** nginx in front (default: none); `port` defaults to a free one. */
  nginx?: { port?: number };
  /** Environment of instance i over process.env (REDIS_URL, HOST, PORT and INSTANCE_ID are set here). */
  env?: (index: number) => Record<string, string | undefined>;
  /** Instance ids (default app-1, app-2, …). */
  id?: (index: number) => string;
  /** Default dist/main.js. */
  entry?: string;
  /** Instance output always goes to logs/<id>.log; this also hands each line to a handler. */
  onLine?: (id: string, index: number) => OutputHandler;
  readyTimeoutMs?: number;
}

export interface ClusterInstance {
  readonly index: number;
  /** INSTANCE_ID */
  readonly id: string;
  /** Changes only when a restart finds its port taken. */
  readonly port: number;
  /** Direct URL, bypassing nginx: http://127.0.0.1:<port> */
  readonly url: string;
  /** Current pid (changes on restart). */
  readonly pid: number;
  readonly running: boolean;
  /** Resolves when the current process exits (code, or null for a signal). */
  readonly exited: Promise<number | null>;
  readonly signalCode: NodeJS.Signals | null;
  /** Its stdout/stderr, appended across restarts. */
  readonly logFile: string;
  /** Sends `signal` (default SIGTERM: drain) and waits for the exit; resolves with the exit code. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  /** SIGKILL: a crash. */
  kill(): Promise<number | null>;
  /**
   * Stops it when running (SIGTERM) and starts it again with the same id, on the same port unless
   * that was taken meanwhile (then on a new one, and nginx is re-rendered and reloaded).
   */
  restart(): Promise<void>;
}

export interface Cluster {
  readonly dir: string;
  readonly redis: RedisDeployment;
  readonly instances: readonly ClusterInstance[];
  /** nginx, when started with one. */
  readonly nginx: { readonly url: string; readonly port: number; readonly process: NginxProcess } | undefined;
  /** Pids of every process running now (nginx: the master). */
  pids(): number[];
  /** Instances (SIGTERM, or `instanceSignal`), then nginx, then Redis. Idempotent. */
  stop(opts?: { instanceSignal?: NodeJS.Signals; drainTimeoutMs?: number }): Promise<void>;
}

const HOST = '127.0.0.1';

export async function buildCluster(opts: BuildClusterOptions): Promise<Cluster> {
  mkdirSync(path.join(opts.dir, 'logs'), { recursive: true });
  chmodSync(opts.dir, 0o755); // nginx workers (unprivileged when run as root) must reach nginx/temp
  const slots: Slot[] = [];
  let redis: RedisDeployment | undefined;
  let nginx: Cluster['nginx'];
  let stopping: Promise<void> | undefined;

  const stop: Cluster['stop'] = (stopOpts = {}) => {
    stopping ??= (async () => {
      const signal = stopOpts.instanceSignal ?? 'SIGTERM';
      await Promise.allSettled(slots.map((s) => s.proc?.stop(signal, stopOpts.drainTimeoutMs ?? 30_000)));
      await nginx?.process.stop();
      await redis?.stop();
    })();
    return stopping;
  };

  try {
    redis = await opts.redis.start(path.join(opts.dir, 'redis'));
    const redisUrl = redis.url;
    const redisEnv = redis.env ?? {};
    for (let index = 0; index < opts.instances; index++) {
      const id = opts.id?.(index) ?? `app-${index + 1}`;
      slots.push({ index, id, port: await freePort(HOST), proc: undefined });
    }
    const launch = async (slot: Slot): Promise<void> => {
      slot.proc = await startInstance({
        port: slot.port,
        env: { ...redisEnv, ...opts.env?.(slot.index), HOST, REDIS_URL: redisUrl, INSTANCE_ID: slot.id },
        ...(opts.entry === undefined ? {} : { entry: opts.entry }),
        logFile: path.join(opts.dir, 'logs', `${slot.id}.log`),
        ...(opts.onLine === undefined ? {} : { onLine: opts.onLine(slot.id, slot.index) }),
        ...(opts.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: opts.readyTimeoutMs }),
      });
    };
    const started = await Promise.allSettled(slots.map(launch));
    const failed = started.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;

    const nginxDir = path.join(opts.dir, 'nginx');
    const render = (listenPort: number): string =>
      writeNginxConf({
        listen: { host: HOST, port: listenPort },
        upstreams: slots.map((s) => ({ host: HOST, port: s.port })),
        runDir: nginxDir,
      });
    if (opts.nginx !== undefined && stopping === undefined) {
      const port = opts.nginx.port ?? (await freePort(HOST));
      const confPath = render(port);
      const proc = await startNginx({ confPath, prefixDir: nginxDir, listen: { host: HOST, port } });
      nginx = { url: `http://${HOST}:${port}`, port, process: proc };
    }

    const restart = async (slot: Slot): Promise<void> => {
      if (slot.proc?.running === true) await slot.proc.stop('SIGTERM');
      if (!(await isPortFree(slot.port, HOST))) {
        slot.port = await freePort(HOST);
        if (nginx !== undefined) {
          render(nginx.port);
          nginx.process.reload();
        }
      }
      await launch(slot);
    };
    const instances = slots.map((slot) => instanceView(slot, () => restart(slot), opts.dir));
    const deployment = redis;
    return {
      dir: opts.dir,
      redis: deployment,
      instances,
      get nginx() {
        return nginx;
      },
      pids: () => [
        ...deployment.pids(),
        ...(nginx?.process.running === true ? [nginx.process.pid] : []),
        ...slots.flatMap((s) => (s.proc?.running === true ? [s.proc.pid] : [])),
      ],
      stop,
    };
  } catch (err) {
    await stop({ instanceSignal: 'SIGKILL' });
    throw err;
  }
}

interface Slot {
  index: number;
  id: string;
  port: number;
  proc: InstanceProcess | undefined;
}

function instanceView(slot: Slot, restart: () => Promise<void>, dir: string): ClusterInstance {
  const proc = (): InstanceProcess => {
    if (slot.proc === undefined) throw new Error(`${slot.id} has not started`);
    return slot.proc;
  };
  return {
    index: slot.index,
    id: slot.id,
    get port() {
      return slot.port;
    },
    get url() {
      return `http://${HOST}:${slot.port}`;
    },
    get pid() {
      return proc().pid;
    },
    get running() {
      return proc().running;
    },
    get exited() {
      return proc().exited;
    },
    get signalCode() {
      return proc().signalCode;
    },
    logFile: path.join(dir, 'logs', `${slot.id}.log`),
    stop: (signal: NodeJS.Signals = 'SIGTERM', timeoutMs?: number) => proc().stop(signal, timeoutMs),
    kill: () => proc().kill(),
    restart,
  };
}
