import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { REPO_ROOT } from './paths.js';

/**
 * One supervised child process (execa underneath): its own process group, output to a log file or
 * a line handler with a tail kept for error messages, an exit promise, and a stop that escalates to
 * SIGKILL of the whole group. Every child dies with the process that started it:
 * - children run detached (own session and group), so a terminal's Ctrl-C or hang-up reaches only
 *   the starter, which stops them in order (instances drain, then nginx, then Redis);
 * - on the starter's normal exit, or a signal nobody else handles, they get SIGTERM;
 * - when the starter is SIGKILLed, the watchdog (watchdog.mjs, on a pipe from the starter) sees the
 *   pipe close and stops them.
 */

/** What every started process offers. */
export interface ManagedProcess {
  readonly pid: number;
  /** Resolves with the exit code, or null when a signal ended the process. */
  readonly exited: Promise<number | null>;
  readonly running: boolean;
  /** The signal that ended it, once it has exited by one. */
  readonly signalCode: NodeJS.Signals | null;
  /** The last lines of its output (for error messages). */
  recentOutput(): string;
}

export type OutputHandler = (line: string, stream: 'stdout' | 'stderr') => void;

export interface SpawnOptions {
  /** Name used in error messages. */
  name: string;
  /** The complete environment (nothing is inherited beyond it). */
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Appends stdout and stderr to this file. */
  logFile?: string;
  /** Receives every output line. */
  onLine?: OutputHandler;
}

const TAIL_LINES = 40;
const tracked = new Set<Supervised>();

export class Supervised implements ManagedProcess {
  readonly pid: number;
  readonly exited: Promise<number | null>;
  private readonly tail: string[] = [];
  private readonly child: ResultPromise;

  constructor(
    command: string,
    args: string[],
    private readonly opts: SpawnOptions,
  ) {
    installExitHooks();
    const record = (line: string, stream: 'stdout' | 'stderr'): void => this.record(line, stream);
    const tap = (stream: 'stdout' | 'stderr') =>
      function* (line: unknown): Generator<string> {
        const text = String(line);
        record(text, stream);
        yield text;
      };
    const target = (stream: 'stdout' | 'stderr') =>
      opts.logFile === undefined
        ? [tap(stream)]
        : [tap(stream), { file: opts.logFile, append: true } as const];
    this.child = execa(command, args, {
      cwd: opts.cwd ?? REPO_ROOT,
      env: opts.env,
      extendEnv: false,
      stdin: 'ignore',
      stdout: target('stdout'),
      stderr: target('stderr'),
      detached: true,
      cleanup: false,
      reject: false,
      buffer: false,
    });
    if (this.child.pid === undefined) {
      void this.child.catch(() => undefined);
      throw new Error(`${opts.name}: cannot start ${command}`);
    }
    this.pid = this.child.pid;
    tracked.add(this);
    watchdog()?.write(`+${this.pid}\n`);
    this.exited = this.child.then((result) => {
      tracked.delete(this);
      watchdog()?.write(`-${this.pid}\n`);
      if (result.failed && result.exitCode === undefined && result.signal === undefined) {
        this.record(`[${opts.name}] ${result.shortMessage}`, 'stderr');
      }
      return result.exitCode ?? null;
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get signalCode(): NodeJS.Signals | null {
    return this.child.signalCode;
  }

  recentOutput(): string {
    if (this.tail.length === 0 && this.opts.logFile !== undefined) return tailOfFile(this.opts.logFile);
    return this.tail.join('\n');
  }

  /** Sends `signal` to the process; after timeoutMs, SIGKILL to its whole group. Resolves on exit. */
  async stop(signal: NodeJS.Signals, timeoutMs: number): Promise<number | null> {
    if (!this.running) return this.exited;
    this.signal(signal);
    const timer = setTimeout(() => this.signal('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * SIGKILL goes to the whole process group, so nginx workers die with their master. Other signals
   * go to the process alone: nginx's master then stops and reaps its workers itself.
   */
  signal(signal: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(signal === 'SIGKILL' ? -this.pid : this.pid, signal);
    } catch {
      // already gone
    }
  }

  /** An error naming `what`, the reason and the recent output; for failed start-up checks. */
  failure(what: string, err: unknown): Error {
    const reason = err instanceof Error ? err.message : String(err);
    const output = this.recentOutput().trim();
    return new Error(
      `${this.opts.name}: ${what}: ${reason}${output === '' ? '' : `\n--- output ---\n${output}`}`,
    );
  }

  /** Resolves once `ready` does; fails (and kills the process) when it exits first or `ready` fails. */
  async readyWhen(what: string, ready: Promise<unknown>): Promise<void> {
    const exitedEarly = this.exited.then((code) => {
      throw new Error(`exited early (code ${String(code)})`);
    });
    try {
      await Promise.race([ready, exitedEarly]);
    } catch (err) {
      await this.stop('SIGKILL', 5000);
      throw this.failure(`not ready (${what})`, err);
    } finally {
      exitedEarly.catch(() => undefined);
    }
  }

  private record(line: string, stream: 'stdout' | 'stderr'): void {
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    this.opts.onLine?.(line, stream);
  }
}

/** The ManagedProcess view of a Supervised (live getters), for the starters to extend. */
export function managedView(proc: Supervised): ManagedProcess {
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

/** The environment of this process with `overrides` merged in (an `undefined` value removes a variable). */
export function mergeEnv(overrides: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

function tailOfFile(file: string): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-TAIL_LINES).join('\n');
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------------
// Dying with the starter

let hooksInstalled = false;

/**
 * On 'exit' every child still running gets SIGTERM (synchronously; Redis still flushes its AOF,
 * instances drain). On a signal nobody else handles, the default (die) is kept, children included;
 * a starter that handles the signal itself (the launcher) stops them in order.
 */
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.once('exit', () => {
    for (const proc of tracked) proc.signal('SIGTERM');
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (process.listenerCount(signal) > 1) return; // the application handles it
      for (const proc of tracked) proc.signal('SIGTERM');
      process.exit(128 + osConstants.signals[signal]);
    });
  }
}

let watchdogPipe: Socket | null | undefined;
const WATCHDOG = fileURLToPath(new URL('./watchdog.mjs', import.meta.url));

/** The pipe to this process's watchdog, started on first use (null when it could not start). */
function watchdog(): Socket | null {
  if (watchdogPipe !== undefined) return watchdogPipe;
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [WATCHDOG], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  } catch {
    return (watchdogPipe = null);
  }
  child.on('error', () => undefined);
  child.unref();
  const pipe = child.stdin as Socket | null;
  if (pipe === null) return (watchdogPipe = null);
  pipe.on('error', () => undefined);
  pipe.unref(); // the pipe must not keep a test worker or the bench alive
  watchdogPipe = pipe;
  return pipe;
}
