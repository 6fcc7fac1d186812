// What `npm start` and `npm test` do before anything else, on a fresh clone included: plain Node
// with no dependencies (node_modules may not exist yet). Installs the npm dependencies when
// node_modules is missing or older than package-lock.json, builds dist/ when src/ is newer, and
// finds (as root on Debian: installs, without starting their services) the system programs a tier
// needs. TIERS below is the one list of what each test tier needs.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/**
 * @typedef {object} Tier
 * @property {string} name      what `npm test` calls it in its messages
 * @property {string[]} command what runs it (from the repo root; `vitest` means node_modules/.bin/vitest)
 * @property {string[]} needs   programs it needs on PATH (keys of PACKAGES)
 * @property {boolean} [build]  needs dist/ (it runs the built server)
 * @property {string} [enough]  an environment variable that stands in for `needs` when set
 */

/**
 * The test tiers in the order `npm test` runs them, and what each needs. Add a tier here (and its
 * programs in PACKAGES) and `npm test` installs, runs or skips it like the others.
 * @type {Tier[]}
 */
export const TIERS = [
  { name: 'unit', command: ['vitest', 'run', '--project', 'unit'], needs: [] },
  {
    name: 'integration',
    command: ['vitest', 'run', '--project', 'integration'],
    needs: ['redis-server'],
    enough: 'REDIS_URL',
  },
  {
    name: 'integration on a Redis Cluster',
    command: ['vitest', 'run', '--project', 'integration-cluster'],
    needs: ['redis-server', 'redis-cli'],
  },
  {
    name: 'integration on Sentinel',
    command: ['vitest', 'run', '--project', 'integration-sentinel'],
    needs: ['redis-server', 'redis-cli'],
  },
  {
    name: 'cluster',
    command: ['vitest', 'run', '--project', 'cluster'],
    needs: ['redis-server', 'nginx'],
    build: true,
  },
  {
    name: 'browser',
    command: ['vitest', 'run', '--project', 'browser'],
    needs: ['redis-server', 'nginx', 'chromium'],
    build: true,
  },
  {
    name: 'docker',
    command: ['vitest', 'run', '--project', 'docker'],
    needs: ['docker', 'dockerd', 'docker-compose', 'debootstrap', 'ip'],
  },
  {
    name: 'bench smoke',
    command: ['npm', 'run', 'bench:smoke'],
    needs: ['redis-server', 'nginx'],
    build: true,
  },
];

/** Program on PATH → the Debian package that provides it. */
export const PACKAGES = {
  'redis-server': 'redis-server',
  'redis-cli': 'redis-tools',
  nginx: 'nginx-light',
  chromium: 'chromium',
  docker: 'docker.io',
  dockerd: 'docker.io',
  'docker-compose': 'docker-compose',
  debootstrap: 'debootstrap',
  ip: 'iproute2',
};

/** @param {string} text */
export const say = (text) => process.stderr.write(`${text}\n`);

/**
 * Runs a command in the repo root with the terminal's stdio; returns its exit status.
 * @param {string} command @param {string[]} args @param {NodeJS.ProcessEnv} [env]
 */
export function run(command, args, env = process.env) {
  say(`> ${command} ${args.join(' ')}`);
  return spawnSync(command, args, { cwd: ROOT, stdio: 'inherit', env }).status ?? 1;
}

/** @param {string} file */
const mtime = (file) => (existsSync(file) ? statSync(file).mtimeMs : 0);

/** @param {string} dir @returns {number} newest modification time under dir */
function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    const t = entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs;
    if (t > newest) newest = t;
  }
  return newest;
}

/** `npm ci` when node_modules is missing or older than package-lock.json; exits on failure. */
export function ensureDependencies() {
  const installed = path.join(ROOT, 'node_modules', '.package-lock.json');
  if (mtime(installed) >= mtime(path.join(ROOT, 'package-lock.json'))) return;
  say('Dependencies missing or older than package-lock.json: installing them.');
  if (run(npm, ['ci']) !== 0) process.exit(1);
}

/** `npm run build` when dist/main.js is missing or older than src/, tsconfig.json or package.json. */
export function ensureBuild() {
  const builtAt = mtime(path.join(ROOT, 'dist', 'main.js'));
  const inputs = Math.max(
    newestMtime(path.join(ROOT, 'src')),
    mtime(path.join(ROOT, 'tsconfig.json')),
    mtime(path.join(ROOT, 'package.json')),
  );
  if (builtAt > inputs) return;
  if (run(npm, ['run', 'build']) !== 0) process.exit(1);
}

/**
 * Absolute path of a program on PATH or in the sbin directories, or undefined.
 * @param {string} name
 */
export function findBinary(name) {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs.filter((d) => d !== '')) {
    try {
      accessSync(path.join(dir, name), constants.X_OK);
      return path.join(dir, name);
    } catch {
      // next
    }
  }
  return undefined;
}

/**
 * Makes the programs available: those missing are installed with apt-get when root on Debian
 * (their services neither started nor enabled). Returns what is still missing.
 * @param {string[]} programs
 * @returns {string[]}
 */
export function ensurePrograms(programs) {
  const missing = programs.filter((p) => findBinary(p) === undefined);
  if (missing.length === 0 || !canApt()) return missing;
  aptInstall(missing.map((p) => PACKAGES[/** @type {keyof typeof PACKAGES} */ (p)] ?? p));
  return programs.filter((p) => findBinary(p) === undefined);
}

/** The command that installs these programs, for messages. @param {string[]} programs */
export function installHint(programs) {
  const packages = programs.map((p) => PACKAGES[/** @type {keyof typeof PACKAGES} */ (p)] ?? p);
  return findBinary('apt-get') === undefined
    ? `install ${programs.join(', ')} with your package manager`
    : `sudo apt-get install -y --no-install-recommends ${packages.join(' ')}`;
}

const canApt = () => process.getuid?.() === 0 && findBinary('apt-get') !== undefined;

/**
 * apt-get install with a policy-rc.d that forbids starting services (a Redis on 6379 and an nginx
 * on 80 would otherwise start, and linger), then disables what the packages enabled under systemd.
 * @param {string[]} packages
 */
function aptInstall(packages) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const policy = '/usr/sbin/policy-rc.d';
  const madePolicy = !existsSync(policy);
  if (madePolicy)
    writeFileSync(policy, '#!/bin/sh\n# services are never started by package installs here\nexit 101\n', {
      mode: 0o755,
    });
  try {
    const haveLists = readdirSafe('/var/lib/apt/lists').some((f) => f.endsWith('_Packages'));
    if (!haveLists) run('apt-get', ['update'], env);
    // Newer releases dropped the nginx-light transitional package: fall back to nginx.
    const names = packages.map((p) =>
      p === 'nginx-light' && spawnSync('apt-cache', ['show', p], { stdio: 'ignore' }).status !== 0
        ? 'nginx'
        : p,
    );
    const install = () => run('apt-get', ['install', '-y', '--no-install-recommends', ...names], env) === 0;
    if (!install() && haveLists && run('apt-get', ['update'], env) === 0) install();
  } finally {
    if (madePolicy) rmSync(policy, { force: true });
  }
  if (existsSync('/run/systemd/system')) {
    for (const unit of ['redis-server', 'nginx']) {
      spawnSync('systemctl', ['disable', '--now', unit], { stdio: 'ignore' });
    }
  }
}

/** @param {string} dir */
function readdirSafe(dir) {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
