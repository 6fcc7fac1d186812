import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Every key a Lua script touches is declared in KEYS: a Redis Cluster routes a script by its
 * declared keys, so a key built inside the script from ARGV may live on another node. Checked on
 * the script sources: the key argument of every `redis.call` is `KEYS[…]`, or a local only ever
 * assigned from `KEYS[…]` (or from `roomKeys[…]`, a table filled from KEYS), or a function
 * parameter every caller passes `KEYS[…]` to. The slots of the declared keys are checked by
 * test/integration/slots.test.ts.
 */
const root = new URL('../../src/', import.meta.url);
const files = ['store', 'redis'].flatMap((dir) =>
  readdirSync(new URL(`${dir}/`, root))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(dir, f)),
);

const FROM_KEYS = /^(KEYS|roomKeys)\[/;
/** Commands whose first argument is not a key (the Redis command table's `first key` = 0). */
const KEYLESS = new Set(['INFO', 'TIME', 'PING', 'ECHO']);

function undeclared(source: string): string[] {
  const problems: string[] = [];
  for (const m of source.matchAll(/redis\.call\('([A-Z]+)',\s*([^,)]+)/g)) {
    const [, cmd = '', arg = ''] = m;
    const key = arg.trim();
    if (KEYLESS.has(cmd) || FROM_KEYS.test(key)) continue;
    if (!/^[a-z]\w*$/.test(key)) {
      problems.push(`${cmd} ${key}`);
      continue;
    }
    const assigned = [...source.matchAll(new RegExp(`\\b${key}\\s*=\\s*([^=\\n][^\\n]*)`, 'g'))].map((a) =>
      (a[1] ?? '').trim(),
    );
    const asParam = [...source.matchAll(/local function (\w+)\(([^)]*)\)/g)].filter((f) =>
      (f[2] ?? '')
        .split(',')
        .map((p) => p.trim())
        .includes(key),
    );
    const callers = asParam.flatMap((f) => {
      const index = (f[2] ?? '')
        .split(',')
        .map((p) => p.trim())
        .indexOf(key);
      return [...source.matchAll(new RegExp(`(?<!function )\\b${f[1]}\\(([^)]*)\\)`, 'g'))].map(
        (c) => (c[1] ?? '').split(',')[index]?.trim() ?? '',
      );
    });
    const sources = [...assigned, ...callers];
    if (sources.length === 0 || sources.some((s) => !FROM_KEYS.test(s))) {
      problems.push(`${cmd} ${key} (from ${sources.join(' | ') || 'nowhere'})`);
    }
  }
  return problems;
}

describe('Lua scripts declare every key they touch', () => {
  it('finds scripts to check', () => {
    const calls = files.flatMap((f) => [
      ...readFileSync(new URL(f, root), 'utf8').matchAll(/redis\.call\(/g),
    ]);
    expect(calls.length).toBeGreaterThan(30);
  });

  for (const file of files) {
    it(file, () => {
      expect(undeclared(readFileSync(new URL(file, root), 'utf8'))).toEqual([]);
    });
  }

  it('notices a key built from ARGV', () => {
    expect(undeclared(`redis.call('HINCRBY', ARGV[4], user, n)`)).toHaveLength(1);
    expect(undeclared(`local gkey = ARGV[3] .. room\nredis.call('HDEL', gkey, user)`)).toHaveLength(1);
    expect(undeclared(`local function f(k) redis.call('DEL', k) end\nf(ARGV[1] .. id)`)).toHaveLength(1);
  });
});
