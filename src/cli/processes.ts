import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants as fsConstants, mkdirSync, openSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Process helpers shared by the local launcher (src/cli/cluster.ts) and the test harness. */

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** dist/main.js of this checkout (the same path from src/cli and from dist/cli). */
export const APP_ENTRY = path.join(REPO_ROOT, 'dist', 'main.js');

/**
 * V8 flags every instance runs with (launcher, tests, bench; the Dockerfile repeats them). A 32 MB
 * young generation lets the short-lived garbage of each message die young instead of being
 * promoted: fewer old-space collections, whose pauses were the p99 tail under chat load.
 */
export const NODE_FLAGS = ['--max-semi-space-size=32'];

// ---------------------------------------------------------------------------------------------
// Child tracking: every process started here dies with its parent.

const tracked = new Set<ChildProcess>();
let hooksInstalled = false;

/**
 * Children run in their own process group (detached), so a terminal's Ctrl-C reaches only the
 * parent, which then stops them in order. The price is that they would outlive a parent that dies:
 * hence these hooks. On 'exit' they are sent SIGTERM (synchronously; Redis still flushes its AOF,
 * instances drain). On a signal nobody else handles, the default (die) is kept, children included.
 */
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.once('exit', () => killTracked('SIGTERM'));
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (process.listenerCount(signal) > 1) return; // the application handles it (cluster.ts does)
      killTracked('SIGTERM');
      process.exit(128 + osConstants.signals[signal]);
    });
  }
}

function killTracked(signal: NodeJS.Signals): void {
  for (const child of tracked) sendSignal(child, signal);
}

/**
 * SIGKILL goes to the child's whole process group, so nginx workers die with their master. Other
 * signals go to the child alone: nginx's master then stops its workers and reaps them itself (killed
 * together, orphaned workers become zombies wherever PID 1 does not reap).
 */
function sendSignal(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    if (signal === 'SIGKILL') process.kill(-child.pid, signal);
    else child.kill(signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Small utilities

export interface WaitForOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Names the condition in the timeout error: "Timed out after 5000 ms waiting for <what>". */
  what: string;
  /** Stops waiting early (e.g. the process being waited for has exited). */
  signal?: AbortSignal;
}

/**
 * Polls `fn` until it returns a value other than false/null/undefined (throwing counts as "not
 * yet") and resolves with that value; rejects after the deadline, naming `what` and the last error.
 */
export async function waitFor<T>(
  fn: () => T | false | null | undefined | Promise<T | false | null | undefined>,
  opts: WaitForOptions,
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  const intervalMs = opts.intervalMs ?? 100;
  let lastError: unknown;
  for (;;) {
    if (opts.signal?.aborted === true) throw abortError(opts);
    try {
      const value = await fn();
      if (value !== false && value !== null && value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`Timed out after ${opts.timeoutMs} ms waiting for ${opts.what}${cause}`);
    }
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())), opts.signal);
  }
}

function abortError(opts: WaitForOptions): Error {
  const reason: unknown = opts.signal?.reason;
  const detail = reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : 'aborted';
  return new Error(`Stopped waiting for ${opts.what}: ${detail}`);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}

/** A TCP port that was free a moment ago (the OS picks it; bind it soon). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

/** Whether `port` can be bound on `host` right now. */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Absolute path of an executable on PATH (plus the sbin directories, where nginx lives), or undefined. */
export function findBinary(name: string): string | undefined {
  const candidates = name.includes('/')
    ? [name]
    : [
        ...(process.env.PATH ?? '').split(path.delimiter).filter((d) => d !== ''),
        '/usr/local/sbin',
        '/usr/sbin',
        '/sbin',
      ].map((dir) => path.join(dir, name));
  return candidates.find((file) => {
    try {
      accessSync(file, fsConstants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Status code of a GET (no body kept), or throws on a connection error or timeout. */
export function httpStatus(url: string, timeoutMs = 2000): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.once('error', reject);
  });
}

/** Whether something accepts TCP connections on host:port. */
export function canConnect(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.setTimeout(timeoutMs);
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => finish(true));
    socket.once('timeout', () => finish(false));
    socket.once('error', () => finish(false));
  });
}

/** True when Redis answers PING with PONG (a loading Redis answers -LOADING: not ready yet). */
export function redisPing(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    let reply = '';
    socket.setTimeout(timeoutMs);
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
    socket.once('timeout', () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('close', () => finish(false));
  });
}

// ---------------------------------------------------------------------------------------------
// Managed processes

/** What every started process offers. */
export interface ManagedProcess {
  readonly pid: number;
  /** Resolves with the exit code, or null when a signal ended the process. */
  readonly exited: Promise<number | null>;
  /** Still running? */
  readonly running: boolean;
  /** The signal that ended it, once it has exited by one. */
  readonly signalCode: NodeJS.Signals | null;
  /** The last lines of its output (for error messages). */
  recentOutput(): string;
}

export type OutputHandler = (line: string, stream: 'stdout' | 'stderr') => void;

interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Appends stdout and stderr to this file. */
  logFile?: string;
  /** Receives every output line (ignored when logFile is set). */
  onLine?: OutputHandler;
  /** Name used in error messages. */
  name: string;
}

const TAIL_LINES = 40;

class Proc implements ManagedProcess {
  readonly pid: number;
  readonly exited: Promise<number | null>;
  private readonly tail: string[] = [];

  constructor(
    readonly child: ChildProcess,
    private readonly opts: SpawnOptions,
  ) {
    if (child.pid === undefined) throw new Error(`${opts.name}: spawn failed`);
    this.pid = child.pid;
    child.on('error', (err) => this.pushLine(`[${opts.name}] ${err.message}`, 'stderr'));
    this.exited = new Promise((resolve) => {
      child.once('exit', (code) => {
        tracked.delete(child);
        resolve(code);
      });
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      const readable = child[stream];
      if (readable === null) continue;
      let partial = '';
      readable.setEncoding('utf8');
      readable.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) this.pushLine(line, stream);
      });
      readable.once('end', () => {
        if (partial !== '') this.pushLine(partial, stream);
      });
    }
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get signalCode(): NodeJS.Signals | null {
    return this.child.signalCode;
  }

  recentOutput(): string {
    if (this.opts.logFile !== undefined) return tailOfFile(this.opts.logFile, TAIL_LINES);
    return this.tail.join('\n');
  }

  /** Sends `signal` and waits up to timeoutMs for the exit; then SIGKILLs the process group. */
  async stop(signal: NodeJS.Signals, timeoutMs: number): Promise<number | null> {
    if (!this.running) return this.exited;
    sendSignal(this.child, signal);
    const timer = setTimeout(() => sendSignal(this.child, 'SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  private pushLine(line: string, stream: 'stdout' | 'stderr'): void {
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    this.opts.onLine?.(line, stream);
  }

  /** An error naming `what`, the reason and the recent output; for failed start-up checks. */
  failure(what: string, err: unknown): Error {
    const reason = err instanceof Error ? err.message : String(err);
    const output = this.recentOutput().trim();
    return new Error(
      `${this.opts.name}: ${what}: ${reason}${output === '' ? '' : `\n--- output ---\n${output}`}`,
    );
  }
}

function spawnTracked(command: string, args: string[], opts: SpawnOptions): Proc {
  let fd: number | undefined;
  if (opts.logFile !== undefined) {
    mkdirSync(path.dirname(opts.logFile), { recursive: true });
    fd = openSync(opts.logFile, 'a');
  }
  installExitHooks();
  try {
    const child = spawn(command, args, {
      cwd: opts.cwd ?? REPO_ROOT,
      env: opts.env ?? process.env,
      stdio: ['ignore', fd ?? 'pipe', fd ?? 'pipe'],
      detached: true,
    });
    if (child.pid === undefined) {
      child.once('error', () => undefined); // reported below, not as an unhandled 'error' event
      throw new Error(`${opts.name}: cannot start ${command}`);
    }
    tracked.add(child);
    return new Proc(child, opts);
  } finally {
    if (fd !== undefined) closeSync(fd); // the child holds its own copy
  }
}

function tailOfFile(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Waits for `check`, giving up early when the process exits; on failure the process is killed. */
async function startedWhen(proc: Proc, what: string, timeoutMs: number, check: () => Promise<boolean>) {
  const exitedEarly = new AbortController();
  void proc.exited.then((code) => exitedEarly.abort(`exited early (code ${String(code)})`));
  try {
    await waitFor(check, { timeoutMs, intervalMs: 100, what, signal: exitedEarly.signal });
  } catch (err) {
    await proc.stop('SIGKILL', 5000);
    throw proc.failure(`not ready`, err);
  }
}

/** The ManagedProcess view of a spawned process (live getters), for the wrappers to extend. */
function managed(proc: Proc): ManagedProcess {
  return {
    pid: proc.pid,
    exited: proc.exited,
    get running() {
      return proc.running;
    },
    get signalCode() {
      return proc.signalCode;
    },
    recentOutput: () => proc.recentOutput(),
  };
}

// ---------------------------------------------------------------------------------------------
// Redis

export interface StartRedisOptions {
  /** Default: a free port. */
  port?: number;
  /** Working directory (AOF files). Created when missing. */
  dir: string;
  /** AOF persistence (`--appendonly yes`). Default true. */
  appendonly?: boolean;
  /** Default 127.0.0.1. */
  bind?: string;
  /** Redis's own log file (`--logfile`); otherwise its output is only kept for error messages. */
  logFile?: string;
  /** Default: redis-server from PATH. */
  binary?: string;
  timeoutMs?: number;
}

export interface RedisProcess extends ManagedProcess {
  readonly port: number;
  readonly url: string;
  /** SIGTERM (Redis flushes the AOF and exits, like SHUTDOWN); SIGKILL after timeoutMs. */
  stop(timeoutMs?: number): Promise<number | null>;
  /** Sends a signal (default SIGKILL: a crash, nothing flushed) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startRedis(opts: StartRedisOptions): Promise<RedisProcess> {
  const binary = opts.binary ?? findBinary('redis-server');
  if (binary === undefined) throw new Error('redis-server not found on PATH');
  const port = opts.port ?? (await freePort());
  const bind = opts.bind ?? '127.0.0.1';
  mkdirSync(opts.dir, { recursive: true });
  // prettier-ignore
  const args = [
    '--port', String(port),
    '--bind', bind,
    '--dir', opts.dir,
    '--appendonly', opts.appendonly === false ? 'no' : 'yes',
    '--save', '',
    '--daemonize', 'no',
    ...(opts.logFile === undefined ? [] : ['--logfile', opts.logFile]),
  ];
  if (opts.logFile !== undefined) mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const proc = spawnTracked(binary, args, { name: `redis-server :${port}` });
  const host = bind === '0.0.0.0' ? '127.0.0.1' : bind;
  await startedWhen(proc, `redis on ${host}:${port} to answer PING`, opts.timeoutMs ?? 15_000, () =>
    redisPing(port, host),
  );
  return Object.assign(managed(proc), {
    port,
    url: `redis://${host}:${port}`,
    stop: (timeoutMs = 10_000) => proc.stop('SIGTERM', timeoutMs),
    kill: (signal: NodeJS.Signals = 'SIGKILL') => proc.stop(signal, 10_000),
  });
}

// ---------------------------------------------------------------------------------------------
// App instances

export interface StartInstanceOptions {
  port: number;
  /** Merged over process.env (an `undefined` value removes a variable); PORT is set from `port`. */
  env: Record<string, string | undefined>;
  /** Appends the instance's stdout/stderr (pino JSON lines) to this file. */
  logFile?: string;
  /** Receives each output line instead (when no logFile). */
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

/** Spawns `node dist/main.js` and resolves once GET /readyz answers 200. */
export async function startInstance(opts: StartInstanceOptions): Promise<InstanceProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [key, value] of Object.entries(opts.env)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  env.PORT = String(opts.port);
  const bindHost = env.HOST;
  const host =
    bindHost === undefined || bindHost === '' || bindHost === '0.0.0.0' || bindHost === '::'
      ? '127.0.0.1'
      : bindHost;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${opts.port}`;
  const name = env.INSTANCE_ID ?? `instance :${opts.port}`;
  const proc = spawnTracked(process.execPath, [...NODE_FLAGS, opts.entry ?? APP_ENTRY], {
    name,
    env,
    ...(opts.logFile === undefined ? {} : { logFile: opts.logFile }),
    ...(opts.onLine === undefined ? {} : { onLine: opts.onLine }),
  });
  await startedWhen(proc, `GET ${url}/readyz to answer 200`, opts.readyTimeoutMs ?? 30_000, async () => {
    return (await httpStatus(`${url}/readyz`)) === 200;
  });
  return Object.assign(managed(proc), {
    port: opts.port,
    url,
    stop: (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000) => proc.stop(signal, timeoutMs),
    kill: () => proc.stop('SIGKILL', 10_000),
  });
}

// ---------------------------------------------------------------------------------------------
// nginx

export interface StartNginxOptions {
  confPath: string;
  /** nginx's prefix (`-p`): relative paths in the config resolve against it. */
  prefixDir: string;
  /** When given, start resolves once this address accepts connections. */
  listen?: { host: string; port: number };
  /** Default: nginx from PATH or /usr/sbin. */
  binary?: string;
  timeoutMs?: number;
}

export interface NginxProcess extends ManagedProcess {
  /** Fast shutdown (SIGTERM to master and workers); SIGKILL after timeoutMs. */
  stop(timeoutMs?: number): Promise<number | null>;
  /** SIGKILL the master and its workers. */
  kill(): Promise<number | null>;
  /** Re-reads the config (SIGHUP), e.g. after re-rendering it with new upstreams. */
  reload(): void;
}

export async function startNginx(opts: StartNginxOptions): Promise<NginxProcess> {
  const binary = opts.binary ?? findBinary('nginx');
  if (binary === undefined) throw new Error('nginx not found on PATH or in /usr/sbin');
  mkdirSync(opts.prefixDir, { recursive: true });
  const proc = spawnTracked(binary, ['-c', opts.confPath, '-p', opts.prefixDir, '-g', 'daemon off;'], {
    name: 'nginx',
  });
  const listen = opts.listen;
  const timeoutMs = opts.timeoutMs ?? 15_000;
  if (listen !== undefined) {
    await startedWhen(proc, `nginx to listen on ${listen.host}:${listen.port}`, timeoutMs, () =>
      canConnect(listen.port, listen.host),
    );
  }
  return Object.assign(managed(proc), {
    stop: (stopTimeoutMs = 10_000) => proc.stop('SIGTERM', stopTimeoutMs),
    kill: () => proc.stop('SIGKILL', 10_000),
    reload: () => {
      if (proc.running) proc.child.kill('SIGHUP');
    },
  });
}
