import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { Logger } from '../logger.js';
import type { PasswordReply, PasswordTask } from './password-worker.js';

/**
 * bcrypt off the event loop and out of its way. bcrypt's own async API runs on libuv's shared
 * thread pool at normal priority: a login storm then puts four hashing threads per instance on
 * the CPU beside the event loop, which waits for a core (event-loop lag in the hundreds of ms on
 * two cores). Here hashing runs in a fixed pool of worker threads (piscina) that lower their own
 * priority (on Linux the nice value is per thread), so the event loop always gets the core first;
 * logins queue for a worker instead of competing with chat traffic.
 */

/**
 * The worker module next to this one: `password-worker.js` in dist/ (compiled by tsc), the `.ts`
 * source when this module itself runs from src/ (tests, `npm run dev`), loaded through tsx.
 */
const WORKER_FILE = fileURLToPath(
  new URL(`./password-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
);
const WORKER_EXEC_ARGV = WORKER_FILE.endsWith('.ts') ? ['--import', 'tsx'] : [];

export interface PasswordHasher {
  /** bcrypt hash of `password` at the configured cost. */
  hash(password: string): Promise<string>;
  compare(password: string, hash: string): Promise<boolean>;
  /** Stops the workers; idempotent. Work asked for afterwards is refused. */
  close(): Promise<void>;
}

/**
 * A pool of `workers` threads (BCRYPT_WORKERS, default 1) hashing at cost `rounds` (BCRYPT_ROUNDS)
 * with nice value `nice` (default 19). A worker that could not lower its priority is reported
 * once, as a warning with the reason: hashing still works, but competes with the event loop.
 */
export function createPasswordHasher(opts: {
  rounds: number;
  workers?: number;
  nice?: number;
  log: Logger;
}): PasswordHasher {
  const threads = opts.workers ?? 1;
  const pool = new Piscina<PasswordTask, PasswordReply>({
    filename: WORKER_FILE,
    execArgv: WORKER_EXEC_ARGV,
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: Infinity,
    workerData: { nice: opts.nice ?? 19 },
  });
  let closed = false;
  let priorityReported = false;

  async function run(task: PasswordTask): Promise<string | boolean> {
    if (closed) throw new Error('password hasher is closed');
    const reply = await pool.run(task);
    if (reply.priorityError !== null && !priorityReported) {
      priorityReported = true;
      opts.log.warn(
        { reason: reply.priorityError, nice: opts.nice ?? 19 },
        'password worker could not lower its priority; hashing competes with the event loop',
      );
    }
    return reply.result;
  }

  let closing: Promise<void> | undefined;
  return {
    hash: async (password) => String(await run({ op: 'hash', password, rounds: opts.rounds })),
    compare: async (password, hash) => (await run({ op: 'compare', password, hash })) === true,
    close() {
      closed = true;
      closing ??= pool.destroy();
      return closing;
    },
  };
}
