import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * What the launcher keeps on disk below its directory (`--dir`, default the checkout): `.data/`
 * (Redis's AOF, the session secret and metrics token, kept across runs so restarts log nobody out)
 * and `.run/` (logs, the rendered nginx config, and a lock so two launchers never share one AOF).
 */
export class LauncherState {
  readonly dataDir: string;
  readonly runDir: string;
  private readonly lockFile: string;

  constructor(dir: string) {
    this.dataDir = path.join(dir, '.data');
    this.runDir = path.join(dir, '.run');
    this.lockFile = path.join(this.runDir, 'cluster.pid');
  }

  /** Throws (message for the user) when another launcher holds this directory. */
  takeLock(): void {
    mkdirSync(this.runDir, { recursive: true });
    if (existsSync(this.lockFile)) {
      const pid = Number(readFileSync(this.lockFile, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isLauncher(pid)) {
        throw new LockError(
          `Another local cluster is running (pid ${pid}). Stop it first (Ctrl-C, or kill ${pid}).`,
        );
      }
    }
    writeFileSync(this.lockFile, `${process.pid}\n`);
  }

  releaseLock(): void {
    try {
      if (readFileSync(this.lockFile, 'utf8').trim() === String(process.pid)) rmSync(this.lockFile);
    } catch {
      // already gone
    }
  }

  /** A random hex secret of `bytes` bytes, created once in .data/<file>. */
  secret(file: string, bytes: number): string {
    const full = path.join(this.dataDir, file);
    if (existsSync(full)) {
      const value = readFileSync(full, 'utf8').trim();
      if (value.length >= 32) return value;
    }
    mkdirSync(this.dataDir, { recursive: true });
    const value = randomBytes(bytes).toString('hex');
    writeFileSync(full, `${value}\n`, { mode: 0o600 });
    return value;
  }
}

export class LockError extends Error {}

function isLauncher(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('start');
  } catch {
    return true; // no /proc: assume alive means ours
  }
}
