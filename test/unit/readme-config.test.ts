import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envSchema } from '../../src/config.js';

/** The README's configuration table, checked against the config schema in both directions. */
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** Rows of the first table after `## Configuration`: variable name → its default cell's text. */
function documented(): Map<string, string> {
  const section = readme.split(/^## Configuration$/m)[1]?.split(/^## /m)[0] ?? '';
  const rows = section
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .slice(2) // header and separator
    .map((l) =>
      l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  const vars = new Map<string, string>();
  for (const [names = '', defaults = ''] of rows) {
    // "`A` / `B`" with defaults "`1` / `2`": one default per name when the counts match.
    const nameList = [...names.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1] as string);
    const defaultParts = defaults.split(' / ');
    nameList.forEach((name, i) =>
      vars.set(name, nameList.length === defaultParts.length ? (defaultParts[i] ?? '') : defaults),
    );
  }
  return vars;
}

/** Schema defaults: what parsing an empty environment yields (optional variables have none). */
const defaults = envSchema.parse({}) as Record<string, unknown>;
const schemaNames = Object.keys(envSchema.shape).sort();

describe('README configuration table', () => {
  const table = documented();

  it('lists every variable of the config schema, and nothing else', () => {
    expect([...table.keys()].sort()).toEqual(schemaNames);
  });

  it('shows each schema default', () => {
    for (const name of schemaNames) {
      const value = defaults[name];
      const cell = table.get(name) ?? '';
      if (value === undefined) continue; // no default: the README explains what happens instead
      if (value === '') expect(cell, name).toBe('–');
      else expect(cell, name).toContain(`\`${String(value)}\``);
    }
  });

  it('has no stale wording about where bcrypt runs', () => {
    expect(table.size).toBeGreaterThan(0);
    expect(readme).not.toMatch(/libuv's pool/);
  });
});
