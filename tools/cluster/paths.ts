import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Paths and binaries shared by the cluster builder, the launcher, the tests and the bench. */

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** dist/main.js of this checkout (`npm run build` makes it). */
export const APP_ENTRY = path.join(REPO_ROOT, 'dist', 'main.js');

/** The top-level nginx.conf: the production file, rendered for local runs and tests. */
export const NGINX_TEMPLATE_PATH = path.join(REPO_ROOT, 'nginx.conf');

/**
 * V8 flags every instance runs with (launcher, tests, bench; deploy/Dockerfile repeats them). A 32 MB
 * young generation lets the short-lived garbage of each message die young instead of being
 * promoted: fewer old-space collections, whose pauses were the p99 tail under chat load.
 */
export const NODE_FLAGS = ['--max-semi-space-size=32'];

/** Absolute path of an executable on PATH (plus the sbin directories, where nginx lives), or undefined. */
export function findBinary(name: string): string | undefined {
  const dirs = [
    ...(process.env.PATH ?? '').split(path.delimiter).filter((d) => d !== ''),
    '/usr/local/sbin',
    '/usr/sbin',
    '/sbin',
  ];
  const candidates = name.includes('/') ? [name] : dirs.map((dir) => path.join(dir, name));
  return candidates.find((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
