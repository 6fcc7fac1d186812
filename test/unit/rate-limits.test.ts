import { describe, expect, it } from 'vitest';
import { accountDelayS } from '../../src/rate-limits.js';

describe('account-wide sign-in delay', () => {
  it('is free up to the per-address allowance, then doubles up to its cap', () => {
    expect([10, 11, 12, 13, 14].map((n) => accountDelayS(n, 10, 60))).toEqual([0, 1, 2, 4, 8]);
    expect(accountDelayS(17, 10, 60)).toBe(60);
    expect(accountDelayS(1_000_000, 10, 60)).toBe(60);
  });
});
