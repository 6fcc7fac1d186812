import { randomBytes } from 'node:crypto';

/**
 * A fresh Redis key prefix for one test file or test: `test:<name>:<random>:`. The name is reduced
 * to `[A-Za-z0-9_.-]` so the prefix can never contain a hash tag (`{`/`}`) or a glob character.
 */
export function uniquePrefix(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_.-]+/g, '-').slice(0, 40) || 'x';
  return `test:${safe}:${randomBytes(6).toString('hex')}:`;
}
