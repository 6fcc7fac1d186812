import { APP_ENTRY, NODE_FLAGS } from './paths.js';
import { httpReady } from './ready.js';
import { managedView, mergeEnv, Supervised, type ManagedProcess, type OutputHandler } from './process.js';

/** One app instance: `node dist/main.js` (or another entry, e.g. the bench's baseline relay). */

export interface StartInstanceOptions {
  port: number;
  /** Merged over process.env (an `undefined` value removes a variable); PORT is set from `port`. */
  env: Record<string, string | undefined>;
  /** Appends the instance's stdout/stderr (pino JSON lines) to this file. */
  logFile?: string;
  /** Receives each output line. */
  onLine?: OutputHandler;
  /** Default: dist/main.js of this checkout. */
  entry?: string;
  /** How long to wait for GET /readyz → 200. Default 30 s. */
  readyTimeoutMs?: number;
}

export interface InstanceProcess extends ManagedProcess {
  readonly port: number;
  /** http://127.0.0.1:<port> (or the HOST it binds, when specific). */
  readonly url: string;
  /** Sends `signal` (default SIGTERM: the app drains) and waits; SIGKILL after timeoutMs (default 30 s). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  /** SIGKILL (a crash: no drain, no cleanup) and wait for the exit. */
  kill(): Promise<number | null>;
}

/** Spawns the instance and resolves once GET /readyz answers 200. */
export async function startInstance(opts: StartInstanceOptions): Promise<InstanceProcess> {
  const env = mergeEnv({ ...opts.env, PORT: String(opts.port) });
  const bindHost = env.HOST;
  const host =
    bindHost === undefined || bindHost === '' || bindHost === '0.0.0.0' || bindHost === '::'
      ? '127.0.0.1'
      : bindHost;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${opts.port}`;
  const proc = new Supervised(process.execPath, [...NODE_FLAGS, opts.entry ?? APP_ENTRY], {
    name: env.INSTANCE_ID ?? `instance :${opts.port}`,
    env,
    ...(opts.logFile === undefined ? {} : { logFile: opts.logFile }),
    ...(opts.onLine === undefined ? {} : { onLine: opts.onLine }),
  });
  const timeoutMs = opts.readyTimeoutMs ?? 30_000;
  await proc.readyWhen(`GET ${url}/readyz → 200`, httpReady(`${url}/readyz`, timeoutMs));
  return Object.assign(managedView(proc), {
    port: opts.port,
    url,
    stop: (signal: NodeJS.Signals = 'SIGTERM', stopTimeoutMs = 30_000) => proc.stop(signal, stopTimeoutMs),
    kill: () => proc.stop('SIGKILL', 10_000),
  });
}
