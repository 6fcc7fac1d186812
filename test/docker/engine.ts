import { execFile, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** What the docker tier found: how to call Compose, or why the tier is skipped. */
export interface DockerTier {
  /** `['docker', 'compose']` or `['docker-compose']`; empty when skipped. */
  compose: string[];
  /** Set when the tier cannot run here: one line saying exactly why. */
  skip?: string;
  /** pid of a dockerd this setup started (stopped again in teardown). */
  startedDockerd?: number;
}

/** Runs a command; resolves with stdout, rejects with an Error carrying its stderr. */
export async function sh(
  file: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<string> {
  try {
    const { stdout } = await run(file, args, {
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd,
      timeout: opts.timeoutMs ?? 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string; stdout?: string };
    throw new Error(`${file} ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}`.slice(0, 4000), {
      cause: err,
    });
  }
}

async function answers(file: string, args: string[]): Promise<boolean> {
  return sh(file, args, { timeoutMs: 15_000 }).then(
    () => true,
    () => false,
  );
}

/**
 * Makes sure a Docker engine answers: as root with `dockerd` installed and none running, starts one
 * in the background (log in the temp dir) and waits for `docker info`. Returns the skip reason when
 * there is no engine and none can be started.
 */
export async function ensureEngine(): Promise<{ skip?: string; startedDockerd?: number }> {
  if (!(await answers('docker', ['--version'])))
    return { skip: 'no `docker` CLI on PATH (Debian: apt-get install docker.io docker-compose)' };
  if (await answers('docker', ['info'])) return {};
  if (process.getuid?.() !== 0)
    return { skip: 'no Docker engine answers and this user (not root) cannot start dockerd' };
  if (!(await answers('sh', ['-c', 'command -v dockerd'])))
    return { skip: 'no Docker engine answers and dockerd is not installed (apt-get install docker.io)' };
  const logFile = path.join(os.tmpdir(), `dockerd-${process.pid}.log`);
  const out = openSync(logFile, 'a');
  const child = spawn('dockerd', [], { detached: true, stdio: ['ignore', out, out] });
  child.unref();
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (await answers('docker', ['info'])) return { startedDockerd: child.pid };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  return { skip: `dockerd did not come up within 60 s (its log: ${logFile})` };
}

/** `docker compose` (v2 plugin) when present, else Compose v1 (`docker-compose`, what Debian ships). */
export async function findCompose(): Promise<string[] | undefined> {
  if (await answers('docker', ['compose', 'version'])) return ['docker', 'compose'];
  if (await answers('docker-compose', ['version'])) return ['docker-compose'];
  return undefined;
}
