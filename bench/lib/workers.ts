import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command, Reply } from './protocol.js';

const WORKER = fileURLToPath(new URL('../worker.ts', import.meta.url));

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** One forked load generator (bench/worker.ts) and its request/response channel. */
export class Worker {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private exitError: Error | undefined;

  private constructor(
    readonly index: number,
    private readonly child: ChildProcess,
  ) {
    child.on('message', (raw: unknown) => {
      const reply = raw as Reply;
      const p = this.pending.get(reply.reqId);
      if (!p) return;
      this.pending.delete(reply.reqId);
      clearTimeout(p.timer);
      if (reply.ok) p.resolve(reply.result);
      else p.reject(new Error(`worker ${index}: ${reply.error}`));
    });
    // A send to a worker that died (Ctrl-C reaches the whole process group) fails the request, not the run.
    child.on('error', () => undefined);
    child.once('exit', (code, signal) => {
      this.exitError = new Error(`worker ${index} exited (${signal ?? `code ${String(code)}`})`);
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(this.exitError);
      }
      this.pending.clear();
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  static start(index: number): Promise<Worker> {
    const child = fork(WORKER, [], {
      execArgv: ['--import', 'tsx'],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const worker = new Worker(index, child);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${index} did not start`)), 30_000);
      worker.pending.set(0, {
        resolve: () => {
          clearTimeout(timer);
          resolve(worker);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
        timer,
      });
    });
  }

  request<T>(command: Command, timeoutMs: number): Promise<T> {
    if (this.exitError) return Promise.reject(this.exitError);
    if (!this.child.connected) return Promise.reject(new Error(`worker ${this.index}: not connected`));
    const reqId = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(reqId);
        reject(new Error(`worker ${this.index}: ${command.type} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(reqId, { resolve: (v) => resolve(v as T), reject, timer });
      this.child.send({ reqId, command }, (err) => {
        if (!err) return;
        clearTimeout(timer);
        this.pending.delete(reqId);
        reject(new Error(`worker ${this.index}: ${err.message}`));
      });
    });
  }

  /** Closes the IPC channel (the worker exits on it); SIGKILL when it lingers. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  /** Synchronous last resort (process exit). */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** The load generators: 1–2 processes, each holding a share of the clients. */
export class WorkerPool {
  private constructor(readonly workers: Worker[]) {}

  static async start(count: number): Promise<WorkerPool> {
    const workers = await Promise.all(Array.from({ length: count }, (_, i) => Worker.start(i)));
    return new WorkerPool(workers);
  }

  get size(): number {
    return this.workers.length;
  }

  /** Sends one command per worker (by index) and waits for every answer. */
  all<T>(commandFor: (index: number) => Command, timeoutMs: number): Promise<T[]> {
    return Promise.all(this.workers.map((w, i) => w.request<T>(commandFor(i), timeoutMs)));
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop()));
  }

  kill(): void {
    for (const w of this.workers) w.kill();
  }
}
