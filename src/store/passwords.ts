import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * bcrypt off the event loop and out of its way. bcrypt's own async API runs on libuv's shared
 * thread pool at normal priority: a login storm then puts four hashing threads per instance on
 * the CPU beside the event loop, which waits for a core (event-loop lag in the hundreds of ms on
 * two cores). Here hashing runs in dedicated worker threads that lower their own priority (on
 * Linux the nice value is per thread), so the event loop always gets the core first; logins queue
 * for a worker instead of competing with chat traffic.
 */

const BCRYPT_PATH = createRequire(import.meta.url).resolve('bcrypt');

/** The worker: CommonJS evaluated from this string, so it runs the same from src/ (tests) and dist/. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const os = require('node:os');
const bcrypt = require(workerData.bcryptPath);
try { os.setPriority(workerData.nice); } catch {}
parentPort.on('message', ({ id, op, a, b }) => {
  try {
    const result = op === 'hash' ? bcrypt.hashSync(a, b) : bcrypt.compareSync(a, b);
    parentPort.postMessage({ id, result });
  } catch (err) {
    parentPort.postMessage({ id, error: String(err && err.message || err) });
  }
});
`;

interface Job {
  id: number;
  op: 'hash' | 'compare';
  a: string;
  b: string | number;
  resolve(value: string | boolean): void;
  reject(err: Error): void;
}

interface Reply {
  id: number;
  result?: string | boolean;
  error?: string;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  compare(password: string, hash: string): Promise<boolean>;
  /** Stops the workers; idempotent. */
  close(): Promise<void>;
}

export function createPasswordHasher(opts: {
  rounds: number;
  workers?: number;
  nice?: number;
}): PasswordHasher {
  const queue: Job[] = [];
  const idle: Worker[] = [];
  const busy = new Map<Worker, Job>();
  let nextId = 1;
  let closed = false;

  const spawn = () => {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { bcryptPath: BCRYPT_PATH, nice: opts.nice ?? 19 },
    });
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const job = busy.get(worker);
      busy.delete(worker);
      if (job && reply.id === job.id) {
        if (reply.error !== undefined) job.reject(new Error(reply.error));
        else job.resolve(reply.result ?? false);
      }
      idle.push(worker);
      pump();
    });
    worker.on('error', (err) => {
      const job = busy.get(worker);
      busy.delete(worker);
      job?.reject(err);
      if (!closed) spawn();
      pump();
    });
    idle.push(worker);
  };

  const pump = () => {
    while (idle.length > 0 && queue.length > 0) {
      const worker = idle.pop();
      const job = queue.shift();
      if (!worker || !job) return;
      busy.set(worker, job);
      worker.postMessage({ id: job.id, op: job.op, a: job.a, b: job.b });
    }
  };

  for (let i = 0; i < (opts.workers ?? 1); i++) spawn();

  const run = <T extends string | boolean>(op: Job['op'], a: string, b: string | number) =>
    new Promise<T>((resolve, reject) => {
      if (closed) return reject(new Error('password hasher is closed'));
      queue.push({ id: nextId++, op, a, b, resolve: resolve as (v: string | boolean) => void, reject });
      pump();
    });

  let closing: Promise<void> | undefined;
  return {
    hash: (password) => run<string>('hash', password, opts.rounds),
    compare: (password, hash) => run<boolean>('compare', password, hash),
    close() {
      closed = true;
      closing ??= Promise.all([...idle, ...busy.keys()].map((w) => w.terminate())).then(() => undefined);
      return closing;
    },
  };
}
