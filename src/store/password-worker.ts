/**
 * The password hasher's worker thread (run by piscina, see passwords.ts): bcrypt's synchronous
 * calls, at a lowered priority so the event loop's thread always gets a core first. On Linux the
 * nice value is per thread, so `os.setPriority` here lowers only this worker.
 */
import os from 'node:os';
import { workerData } from 'node:worker_threads';
import bcrypt from 'bcrypt';

export type PasswordTask =
  { op: 'hash'; password: string; rounds: number } | { op: 'compare'; password: string; hash: string };

export interface PasswordReply {
  result: string | boolean;
  /** Why this thread could not lower its priority (null: it did); the pool logs it once. */
  priorityError: string | null;
}

const nice = (workerData as { nice?: unknown } | undefined)?.nice;

/** Lowers this thread's priority; the failure is kept and reported, not swallowed. */
function lowerPriority(): string | null {
  if (typeof nice !== 'number') return `no nice value given (${String(nice)})`;
  try {
    os.setPriority(nice);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

const priorityError = lowerPriority();

/** One hash or compare; throws what bcrypt throws (piscina rejects the caller's promise). */
export default function run(task: PasswordTask): PasswordReply {
  const result =
    task.op === 'hash'
      ? bcrypt.hashSync(task.password, task.rounds)
      : bcrypt.compareSync(task.password, task.hash);
  return { result, priorityError };
}
