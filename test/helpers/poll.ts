import { vi } from 'vitest';

/**
 * Polling with a deadline, on vitest's own vi.waitFor. A timeout names what was awaited and, for
 * `until`, the last value seen, so a failure says what the system looked like.
 */

/** Polls `fn` until it returns true, or fails naming `what`. */
export async function eventually(
  fn: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  await vi.waitFor(
    async () => {
      if (!(await fn())) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    },
    { timeout: timeoutMs, interval: 25 },
  );
}

/** Polls `probe` until `ok` accepts its value, and returns that value. */
export async function until<T>(
  probe: () => Promise<T> | T,
  ok: (value: T) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  return vi.waitFor(
    async () => {
      const value = await probe();
      if (!ok(value)) {
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for: ${what}; last seen: ${JSON.stringify(value)}`,
        );
      }
      return value;
    },
    { timeout: timeoutMs, interval: 50 },
  );
}
