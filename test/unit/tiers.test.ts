import { describe, expect, it } from 'vitest';
import { PACKAGES, TIERS } from '../../tools/setup.mjs';
import config from '../../vitest.config.js';

/**
 * `npm test` runs the tiers listed in tools/setup.mjs: every vitest project must be one of them
 * (or it would never run), and every program a tier needs must map to a Debian package (or it could
 * not be installed).
 */
describe('the tier list of npm test', () => {
  const projects = (config.test?.projects ?? []).flatMap((p) =>
    typeof p === 'object' && 'test' in p && typeof p.test?.name === 'string' ? [p.test.name] : [],
  );

  it('runs every vitest project', () => {
    expect(projects.length).toBeGreaterThan(0);
    const run = TIERS.flatMap((t) => (t.command[0] === 'vitest' ? [t.command.at(-1)] : []));
    expect(new Set(run)).toEqual(new Set(projects));
  });

  it('knows the package of every program a tier needs', () => {
    for (const tier of TIERS) {
      for (const program of tier.needs) expect(Object.keys(PACKAGES)).toContain(program);
    }
  });
});
