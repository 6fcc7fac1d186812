import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/**
 * The lint step's import-direction rules (eslint.config.js) fail on a violating import and accept
 * the allowed direction: each case lints a one-line module as if it sat at `file`.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const eslint = new ESLint({ cwd: ROOT });

async function restricted(file: string, specifier: string): Promise<boolean> {
  const [result] = await eslint.lintText(`import { x } from '${specifier}';\nexport const y = x;\n`, {
    filePath: path.join(ROOT, file),
  });
  return (result?.messages ?? []).some((m) => m.ruleId === 'no-restricted-imports');
}

describe('import direction (lint)', () => {
  it.each([
    ['src/main.ts', '../tools/cluster/builder.js'],
    ['src/server.ts', '../test/helpers/app.js'],
    ['src/config.ts', '../bench/lib/cluster.js'],
    ['src/store/rooms.ts', '../../tools/cluster/paths.js'],
    ['src/server.ts', './main.js'],
    ['src/http/app.ts', '../server.js'],
    ['src/realtime/io.ts', '../main.js'],
    ['src/store/rooms.ts', '../http/app.js'],
    ['src/store/rooms.ts', '../realtime/events.js'],
    ['src/redis/keys.ts', '../store/rooms.js'],
    ['src/redis/clients.ts', '../server.js'],
    ['src/errors.ts', './store/rooms.js'],
    ['src/config.ts', './server.js'],
  ])('%s may not import %s', async (file, specifier) => {
    expect(await restricted(file, specifier)).toBe(true);
  });

  it.each([
    ['src/main.ts', './server.js'],
    ['src/server.ts', './http/app.js'],
    ['src/http/app.ts', '../store/rooms.js'],
    ['src/realtime/io.ts', '../http/session.js'],
    ['src/store/rooms.ts', '../redis/keys.js'],
    ['src/store/rooms.ts', '../errors.js'],
    ['src/redis/clients.ts', '../logger.js'],
    ['src/rate-limits.ts', './redis/keys.js'],
    ['tools/start.ts', '../src/config.js'],
  ])('%s may import %s', async (file, specifier) => {
    expect(await restricted(file, specifier)).toBe(false);
  });
});
