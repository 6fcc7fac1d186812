import { Writable } from 'node:stream';
import bcrypt from 'bcrypt';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createPasswordHasher } from '../../src/store/passwords.js';

/** A real pino logger whose JSON lines are kept for inspection. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n'))
        if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

const captured = capturingLogger();
const hasher = createPasswordHasher({ rounds: 10, workers: 2, log: captured.log });
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
    const other = createPasswordHasher({ rounds: 10, log: capturingLogger().log });
    const first = other.close();
    expect(other.close()).toBe(first);
    await first;
    await expect(other.hash('late')).rejects.toThrow(/closed/);
  });

  it('lowers the workers priority without a warning when it can', () => {
    expect(captured.lines.filter((l) => l.level === 40)).toEqual([]);
  });

  it('reports a failed priority change once, as a warning with the reason, and still hashes', async () => {
    const { log, lines } = capturingLogger();
    // 100 is outside the nice range: os.setPriority refuses it in every worker.
    const weak = createPasswordHasher({ rounds: 10, workers: 2, nice: 100, log });
    try {
      const hashes = await Promise.all(['a', 'b', 'c', 'd'].map((p) => weak.hash(p)));
      expect(await weak.compare('a', hashes[0]!)).toBe(true);
    } finally {
      await weak.close();
    }
    const warnings = lines.filter((l) => l.level === 40);
    expect(warnings).toHaveLength(1);
    expect(String(warnings[0]?.reason)).toMatch(/range|priority/i);
    expect(warnings[0]?.msg).toMatch(/could not lower its priority/);
  });
});
