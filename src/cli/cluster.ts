import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeNginxConf } from './nginx.js';
import {
  findBinary,
  freePort,
  isPortFree,
  startInstance,
  startNginx,
  startRedis,
  type InstanceProcess,
  type NginxProcess,
  type RedisProcess,
} from './processes.js';

/**
 * The local cluster (`npm start`): Redis (REDIS_URL, or redis-server with AOF in .data/redis),
 * N app instances on free loopback ports, and nginx rendered from the top-level nginx.conf in front.
 * Ctrl-C stops instances (they drain), then nginx, then Redis (which flushes its AOF).
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DATA_DIR = path.join(ROOT, '.data');
const RUN_DIR = path.join(ROOT, '.run');
const LOG_DIR = path.join(RUN_DIR, 'logs');
const LOCK_FILE = path.join(RUN_DIR, 'cluster.pid');
const LISTEN_HOST = '127.0.0.1';
const PREFERRED_REDIS_PORT = 6380;
const DEFAULT_PORT = 8080;
const MAX_BACKOFF_MS = 30_000;
const STABLE_AFTER_MS = 60_000;

const USAGE = `Usage: npm start -- [--instances N] [--port P] [--logs stdout|files]

  --instances N   app instances behind nginx (default: INSTANCES or 3)
  --port P        nginx port on ${LISTEN_HOST} (default: PORT or ${DEFAULT_PORT}, else the next free one)
  --logs MODE     stdout: instance logs streamed here, prefixed app-N (default)
                  files:  instance logs in .run/logs/app-N.log

Environment: REDIS_URL (use that Redis instead of starting redis-server); any app setting
(LOG_LEVEL, RATE_LIMITS, ...) is passed to every instance.
`;

interface Options {
  instances: number;
  port: number | undefined;
  logs: 'stdout' | 'files';
}

interface Slot {
  index: number;
  id: string;
  port: number;
  proc: InstanceProcess | undefined;
  backoffMs: number;
  startedAt: number;
  timer: NodeJS.Timeout | undefined;
}

class CliError extends Error {}

const out = (text: string): void => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
const err = (text: string): void => void process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      instances: { type: 'string', short: 'n' },
      port: { type: 'string', short: 'p' },
      logs: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) return undefined;
  const instances = Number(values.instances ?? process.env.INSTANCES ?? 3);
  if (!Number.isInteger(instances) || instances < 1 || instances > 32) {
    throw new CliError(
      `--instances must be an integer from 1 to 32, got "${values.instances ?? process.env.INSTANCES}"`,
    );
  }
  const rawPort = values.port ?? process.env.PORT;
  const port = rawPort === undefined || rawPort === '' ? undefined : Number(rawPort);
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    throw new CliError(`--port must be a TCP port, got "${rawPort}"`);
  }
  const logs = values.logs ?? 'stdout';
  if (logs !== 'stdout' && logs !== 'files')
    throw new CliError(`--logs must be stdout or files, got "${logs}"`);
  return { instances, port, logs };
}

// ---------------------------------------------------------------------------------------------
// Preconditions

/** Installs missing redis-server/nginx with apt-get when root on Debian/Ubuntu; otherwise explains how. */
function ensureBinaries(needRedis: boolean): void {
  const missing = [
    ...(needRedis && findBinary('redis-server') === undefined ? ['redis-server'] : []),
    ...(findBinary('nginx') === undefined ? ['nginx-light'] : []),
  ];
  if (missing.length === 0) return;
  const command = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  const canApt = findBinary('apt-get') !== undefined;
  if (!canApt || process.getuid?.() !== 0) {
    const how = canApt
      ? `Install with:\n  sudo apt-get update && sudo ${command}`
      : 'Install with your package manager (e.g. brew install redis nginx).';
    throw new CliError(
      `Missing ${missing.map((p) => p.replace('-light', '')).join(' and ')}. ${how}` +
        (needRedis ? '\n(Or set REDIS_URL to use an existing Redis.)' : ''),
    );
  }
  out(`Installing ${missing.join(', ')}: ${command}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args: string[]): boolean => spawnSync('apt-get', args, { stdio: 'inherit', env }).status === 0;
  const haveLists = safeReaddir('/var/lib/apt/lists').some((f) => f.endsWith('_Packages'));
  // Newer releases dropped the nginx-light transitional package: fall back to nginx.
  const packages = (): string[] =>
    missing.map((p) =>
      p === 'nginx-light' && spawnSync('apt-cache', ['show', p], { stdio: 'ignore' }).status !== 0
        ? 'nginx'
        : p,
    );
  if (!haveLists) apt(['update']);
  const installArgs = (): string[] => ['install', '-y', '--no-install-recommends', ...packages()];
  if (!apt(installArgs()) && !(haveLists && apt(['update']) && apt(installArgs()))) {
    throw new CliError(`apt-get failed. Run it yourself:\n  apt-get update && ${command}`);
  }
  if (needRedis && findBinary('redis-server') === undefined) throw new CliError('redis-server still missing');
  if (findBinary('nginx') === undefined) throw new CliError('nginx still missing');
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** One launcher per checkout: two would share .data/redis (one AOF, two writers). */
function takeLock(): void {
  mkdirSync(RUN_DIR, { recursive: true });
  if (existsSync(LOCK_FILE)) {
    const pid = Number(readFileSync(LOCK_FILE, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isOurLauncher(pid)) {
      throw new CliError(
        `Another local cluster is running (pid ${pid}). Stop it first (Ctrl-C, or kill ${pid}).`,
      );
    }
  }
  writeFileSync(LOCK_FILE, `${process.pid}\n`);
}

function isOurLauncher(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('cluster');
  } catch {
    return true; // no /proc: assume alive means ours
  }
}

function releaseLock(): void {
  try {
    if (readFileSync(LOCK_FILE, 'utf8').trim() === String(process.pid)) rmSync(LOCK_FILE);
  } catch {
    // already gone
  }
}

/** A random secret created once in .data/, so restarts keep sessions valid. */
function storedSecret(file: string, bytes: number): string {
  const full = path.join(DATA_DIR, file);
  if (existsSync(full)) {
    const value = readFileSync(full, 'utf8').trim();
    if (value.length >= 32) return value;
  }
  mkdirSync(DATA_DIR, { recursive: true });
  const value = randomBytes(bytes).toString('hex');
  writeFileSync(full, `${value}\n`, { mode: 0o600 });
  return value;
}

async function pickNginxPort(wanted: number | undefined): Promise<number> {
  const base = wanted ?? DEFAULT_PORT;
  if (await isPortFree(base, LISTEN_HOST)) return base;
  if (wanted !== undefined && process.env.PORT === undefined) {
    throw new CliError(`Port ${wanted} is in use on ${LISTEN_HOST}; choose another with --port.`);
  }
  for (let port = base + 1; port < base + 20 && port <= 65535; port++) {
    if (await isPortFree(port, LISTEN_HOST)) return port;
  }
  return freePort(LISTEN_HOST);
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return 'REDIS_URL';
  }
}

// ---------------------------------------------------------------------------------------------
// Log output

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'instance', 'instanceId', 'instance_id']);
const COLORS = [36, 35, 33, 32, 34, 91, 96, 95];

/** `app-2 12:00:01.234 INFO  joined room room=lobby user=alice` from a pino JSON line. */
function compactLine(id: string, index: number, line: string): string {
  const tty = process.stdout.isTTY;
  const prefix = tty ? `\u001b[${COLORS[index % COLORS.length] ?? 36}m${id}\u001b[0m` : id;
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return `${prefix} ${line}`;
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return `${prefix} ${line}`;
  const entries = Object.entries(record);
  const get = (key: string): unknown => entries.find(([k]) => k === key)?.[1];
  const time = get('time');
  const level = get('level');
  const iso = typeof time === 'number' ? new Date(time).toISOString() : typeof time === 'string' ? time : '';
  const clock = /^\d{4}-\d\d-\d\dT/.test(iso) ? iso.slice(11, 23) : '';
  const levelName = (typeof level === 'number' ? LEVELS[level] : undefined) ?? String(level ?? '');
  const extras = entries
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`);
  const msg = get('msg');
  return [prefix, clock, levelName.padEnd(5), typeof msg === 'string' ? msg : '', ...extras]
    .filter((s) => s !== '')
    .join(' ');
}

// ---------------------------------------------------------------------------------------------
// The cluster

class LocalCluster {
  private redis: RedisProcess | undefined;
  private redisUrl = '';
  private nginx: NginxProcess | undefined;
  private readonly slots: Slot[] = [];
  private listenPort = 0;
  private stopping: Promise<number> | undefined;
  private firstSignalAt = 0;
  private resolveFinished: (code: number) => void = () => undefined;
  /** Resolves with the exit code once a stop (signal, critical exit) has completed. */
  readonly finished = new Promise<number>((resolve) => (this.resolveFinished = resolve));

  constructor(private readonly opts: Options) {}

  async start(): Promise<void> {
    const externalRedis = process.env.REDIS_URL;
    ensureBinaries(externalRedis === undefined || externalRedis === '');
    takeLock();
    mkdirSync(LOG_DIR, { recursive: true });
    const sessionSecret = process.env.SESSION_SECRET ?? storedSecret('session-secret', 32);
    const metricsToken = process.env.METRICS_TOKEN ?? storedSecret('metrics-token', 24);

    let redisLabel: string;
    if (externalRedis !== undefined && externalRedis !== '') {
      this.redisUrl = externalRedis;
      redisLabel = `redis ${redactUrl(externalRedis)}`;
    } else {
      const port = (await isPortFree(PREFERRED_REDIS_PORT)) ? PREFERRED_REDIS_PORT : await freePort();
      this.redis = await startRedis({
        port,
        dir: path.join(DATA_DIR, 'redis'),
        appendonly: true,
        logFile: path.join(LOG_DIR, 'redis.log'),
      });
      this.redisUrl = this.redis.url;
      this.watchCritical('redis-server', this.redis.exited);
      redisLabel = `redis 127.0.0.1:${port}, AOF in .data/redis`;
    }

    const baseEnv = {
      NODE_ENV: process.env.NODE_ENV ?? 'production',
      HOST: LISTEN_HOST,
      REDIS_URL: this.redisUrl,
      SESSION_SECRET: sessionSecret,
      METRICS_TOKEN: metricsToken,
      TRUST_PROXY: process.env.TRUST_PROXY ?? 'loopback',
      COOKIE_SECURE: process.env.COOKIE_SECURE ?? 'auto',
      INSTANCES: undefined,
    };
    for (let i = 0; i < this.opts.instances; i++) {
      this.slots.push({
        index: i,
        id: `app-${i + 1}`,
        port: await freePort(LISTEN_HOST),
        proc: undefined,
        backoffMs: 1000,
        startedAt: 0,
        timer: undefined,
      });
    }
    await Promise.all(this.slots.map((slot) => this.launch(slot, baseEnv)));
    if (this.stopping !== undefined) return; // Ctrl-C during start-up

    this.listenPort = await pickNginxPort(this.opts.port);
    this.renderNginx();
    this.nginx = await startNginx({
      confPath: path.join(RUN_DIR, 'nginx', 'nginx.conf'),
      prefixDir: path.join(RUN_DIR, 'nginx'),
      listen: { host: LISTEN_HOST, port: this.listenPort },
    });
    this.watchCritical('nginx', this.nginx.exited);
    if (this.stopping !== undefined) return;
    for (const slot of this.slots) this.supervise(slot, baseEnv);

    const url = `http://localhost:${this.listenPort}`;
    out(`Chat running at ${url} (${this.opts.instances} instances, ${redisLabel})`);
    out(
      `  metrics: curl -H "Authorization: Bearer ${metricsToken}" ${url}/metrics   (token in .data/metrics-token)`,
    );
    out(
      this.opts.logs === 'files'
        ? `  logs: .run/logs/app-N.log, .run/logs/redis.log, .run/nginx/logs/`
        : `  logs: instance logs below, prefixed app-N (--logs files writes .run/logs/app-N.log instead)`,
    );
    out('  Ctrl-C stops everything.');
  }

  private renderNginx(): void {
    writeNginxConf({
      listen: { host: LISTEN_HOST, port: this.listenPort },
      upstreams: this.slots.map((s) => ({ host: LISTEN_HOST, port: s.port })),
      runDir: path.join(RUN_DIR, 'nginx'),
    });
  }

  private async launch(slot: Slot, baseEnv: Record<string, string | undefined>): Promise<void> {
    const logFile = this.opts.logs === 'files' ? path.join(LOG_DIR, `${slot.id}.log`) : undefined;
    slot.proc = await startInstance({
      port: slot.port,
      env: { ...baseEnv, INSTANCE_ID: slot.id },
      ...(logFile === undefined
        ? { onLine: (line: string) => out(compactLine(slot.id, slot.index, line)) }
        : { logFile }),
    });
    slot.startedAt = Date.now();
  }

  /** Restarts a crashed instance with exponential backoff (reset once it stays up a minute). */
  private supervise(slot: Slot, baseEnv: Record<string, string | undefined>): void {
    const proc = slot.proc;
    if (proc === undefined) return;
    void proc.exited.then((code) => {
      if (this.stopping !== undefined || slot.proc !== proc) return;
      if (Date.now() - slot.startedAt > STABLE_AFTER_MS) slot.backoffMs = 1000;
      const how =
        code === null ? `was killed by ${proc.signalCode ?? 'a signal'}` : `exited with code ${code}`;
      this.scheduleRestart(slot, baseEnv, how);
    });
  }

  private scheduleRestart(slot: Slot, baseEnv: Record<string, string | undefined>, why: string): void {
    const delay = slot.backoffMs;
    slot.backoffMs = Math.min(slot.backoffMs * 2, MAX_BACKOFF_MS);
    err(`${slot.id} ${why}; restarting in ${delay / 1000} s`);
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      void this.restart(slot, baseEnv).catch((e: unknown) => {
        if (this.stopping === undefined) {
          this.scheduleRestart(
            slot,
            baseEnv,
            `failed to start (${e instanceof Error ? e.message : String(e)})`,
          );
        }
      });
    }, delay);
  }

  private async restart(slot: Slot, baseEnv: Record<string, string | undefined>): Promise<void> {
    if (this.stopping !== undefined) return;
    if (!(await isPortFree(slot.port, LISTEN_HOST))) {
      // Someone took the port meanwhile: move the instance and point nginx at the new port.
      slot.port = await freePort(LISTEN_HOST);
      this.renderNginx();
      this.nginx?.reload();
    }
    await this.launch(slot, baseEnv);
    if (this.stopping !== undefined) {
      await slot.proc?.kill();
      return;
    }
    err(`${slot.id} restarted (pid ${slot.proc?.pid ?? '?'}, port ${slot.port})`);
    this.supervise(slot, baseEnv);
  }

  /** Redis or nginx dying takes the whole cluster down: without them nothing works. */
  private watchCritical(name: string, exited: Promise<number | null>): void {
    void exited.then((code) => {
      if (this.stopping !== undefined) return;
      err(`${name} exited unexpectedly (code ${String(code)}); stopping the cluster`);
      void this.stop(1);
    });
  }

  onSignal(signal: NodeJS.Signals): void {
    const now = Date.now();
    if (this.stopping === undefined) {
      this.firstSignalAt = now;
      err(`\n${signal}: stopping instances (they drain), then nginx, then redis…`);
      void this.stop(0);
      return;
    }
    // The same Ctrl-C often arrives twice (from the terminal and forwarded by npm): only a later one forces.
    if (now - this.firstSignalAt < 1000) return;
    err('Forced stop.');
    this.forceKill();
    process.exit(1);
  }

  stop(code: number): Promise<number> {
    this.stopping ??= this.stopInOrder(code).then((c) => {
      this.resolveFinished(c);
      return c;
    });
    return this.stopping;
  }

  private async stopInOrder(code: number): Promise<number> {
    const drainMs = Number(process.env.SHUTDOWN_TIMEOUT_MS ?? 10_000) + 5000;
    for (const slot of this.slots) clearTimeout(slot.timer);
    await Promise.all(this.slots.map((slot) => slot.proc?.stop('SIGTERM', drainMs)));
    await this.nginx?.stop();
    await this.redis?.stop();
    releaseLock();
    if (this.redis !== undefined || this.slots.some((s) => s.proc !== undefined)) out('Stopped.');
    return code;
  }

  private forceKill(): void {
    for (const slot of this.slots) void slot.proc?.kill();
    void this.nginx?.kill();
    void this.redis?.kill('SIGTERM');
    releaseLock();
  }
}

async function main(): Promise<number> {
  let opts: Options | undefined;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (e) {
    err(e instanceof Error ? e.message : String(e));
    err(USAGE);
    return 1;
  }
  if (opts === undefined) {
    out(USAGE);
    return 0;
  }
  const cluster = new LocalCluster(opts);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => cluster.onSignal(signal));
  }
  try {
    await cluster.start();
    return await cluster.finished; // runs until a signal or a critical exit
  } catch (e) {
    err(e instanceof CliError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e));
    await cluster.stop(1);
    return 1;
  }
}

void main().then((code) => process.exit(code));
