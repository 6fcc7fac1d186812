import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CommandDeadline, RedisTimeoutError, withDeadline } from '../../src/redis/clients.js';

/** The shared coarse timer: never sooner than the deadline, at most one tick later, none per command. */
describe('CommandDeadline', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('fails a command unanswered after the deadline (within one tick), never before', async () => {
    const deadline = new CommandDeadline(800); // ticks of 100 ms
    await vi.advanceTimersByTimeAsync(50); // start mid-tick
    const started = Date.now();
    let failedAt: number | undefined;
    const hung = deadline.race(new Promise<never>(() => undefined)).catch((err: unknown) => {
      failedAt = Date.now();
      return err;
    });
    await vi.advanceTimersByTimeAsync(799);
    expect(failedAt).toBeUndefined();
    await vi.advanceTimersByTimeAsync(200);
    const err = await hung;
    expect(err).toBeInstanceOf(RedisTimeoutError);
    expect((err as RedisTimeoutError).code).toBe('unavailable');
    expect((failedAt ?? 0) - started).toBeGreaterThanOrEqual(800);
    expect((failedAt ?? 0) - started).toBeLessThanOrEqual(900);
    deadline.stop();
  });

  it('passes answers and errors through, and arms no timer per command', async () => {
    const deadline = new CommandDeadline(1000);
    const timers = vi.getTimerCount();
    const answers = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => deadline.race(Promise.resolve(i))),
    );
    expect(answers[999]).toBe(999);
    await expect(deadline.race(Promise.reject(new Error('WRONGTYPE')))).rejects.toThrow('WRONGTYPE');
    expect(vi.getTimerCount()).toBe(timers);
    // Cohorts whose commands all answered reject unobserved without an unhandled rejection.
    await vi.advanceTimersByTimeAsync(3000);
    deadline.stop();
  });

  it('wraps only promise-returning methods and keeps the rest of the object', async () => {
    const deadline = new CommandDeadline(100);
    const target = {
      isReady: true,
      get: (k: string) => Promise.resolve(`v:${k}`),
      hang: () => new Promise<never>(() => undefined),
      sync: () => 42,
    };
    const wrapped = withDeadline(target, deadline);
    expect(wrapped.isReady).toBe(true);
    expect(wrapped.sync()).toBe(42);
    expect(await wrapped.get('a')).toBe('v:a');
    const hung = wrapped.hang().catch((err: unknown) => err);
    await vi.advanceTimersByTimeAsync(200);
    expect(await hung).toBeInstanceOf(RedisTimeoutError);
    expect(withDeadline(target, undefined)).toBe(target);
    deadline.stop();
  });
});
