import bcrypt from 'bcrypt';
import { afterAll, describe, expect, it } from 'vitest';
import { createPasswordHasher } from '../../src/store/passwords.js';

const hasher = createPasswordHasher({ rounds: 10, workers: 2 });
afterAll(() => hasher.close());

describe('password hasher (worker threads)', () => {
  it('hashes with the configured cost and verifies', async () => {
    const hash = await hasher.hash('correct horse');
    expect(hash).toMatch(/^\$2b\$10\$/);
    expect(await bcrypt.compare('correct horse', hash)).toBe(true);
    expect(await hasher.compare('correct horse', hash)).toBe(true);
    expect(await hasher.compare('wrong horse', hash)).toBe(false);
  });

  it('serves many requests at once through a bounded pool, in any order', async () => {
    const passwords = Array.from({ length: 8 }, (_, i) => `password-${i}`);
    const hashes = await Promise.all(passwords.map((p) => hasher.hash(p)));
    const checks = await Promise.all(passwords.map((p, i) => hasher.compare(p, hashes[(i + 1) % 8]!)));
    expect(checks.every((ok) => !ok)).toBe(true);
    expect(await Promise.all(passwords.map((p, i) => hasher.compare(p, hashes[i]!)))).toEqual(
      passwords.map(() => true),
    );
  });

  it('rejects a failing job without losing the worker', async () => {
    await expect(hasher.hash(undefined as unknown as string)).rejects.toThrow();
    expect(await hasher.compare('x', await hasher.hash('x'))).toBe(true);
  });

  it('refuses work after close, and closes once', async () => {
    const other = createPasswordHasher({ rounds: 10 });
    const first = other.close();
    expect(other.close()).toBe(first);
    await first;
    await expect(other.hash('late')).rejects.toThrow(/closed/);
  });
});
