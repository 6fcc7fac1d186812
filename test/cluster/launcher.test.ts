import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { REPO_ROOT } from '../../tools/cluster/paths.js';
import { freePort } from '../../tools/cluster/ports.js';
import { request } from '../helpers/http.js';
import { alive, descendantsOf, parentOf } from '../helpers/procs.js';

/**
 * The real `npm start` (one instance, nginx and redis-server on free ports, its state in a temp
 * dir) stops whatever stops it: no Redis, instance, nginx or watchdog outlives it.
 */

interface Started {
  npm: ChildProcess;
  output: () => string;
  url: string;
  /** The launcher (node tools/npm-start.mjs, exec'd by npm's shell). */
  launcher: number;
  /** The launcher and everything below it, once it serves. */
  tree: number[];
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function npmStart(extra: string[] = []): Promise<Started> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'launcher-'));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn' };
  delete env.REDIS_URL;
  delete env.PORT;
  const args = [
    'start',
    '--',
    '--instances',
    '1',
    '--port',
    String(port),
    '--dir',
    dir,
    '--logs',
    'files',
    ...extra,
  ];
  // Its own process group, so that cleanup can reach whatever a failed test leaves.
  const npm = spawn('npm', args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  npm.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  npm.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const npmPid = npm.pid ?? 0;
  let seen: number[] = [];
  cleanups.push(() => {
    for (const pid of [npmPid, ...seen, ...descendantsOf(npmPid)]) kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  await vi.waitFor(
    () => {
      if (npm.exitCode !== null) throw new Error(`npm start exited early:\n${output}`);
      expect(output).toContain('Chat running at');
    },
    { timeout: 90_000, interval: 100 },
  );
  const tree = descendantsOf(npmPid);
  seen = tree;
  const launcher = tree.find((pid) => parentOf(pid) === npmPid) ?? 0;
  return { npm, output: () => output, url: `http://127.0.0.1:${port}`, launcher, tree };
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone
  }
}

async function expectAllGone(pids: number[], output: () => string): Promise<void> {
  await vi.waitFor(() => expect(pids.filter(alive), `still alive; output:\n${output()}`).toEqual([]), {
    timeout: 40_000,
    interval: 100,
  });
}

describe('npm start stops cleanly whatever stops it', () => {
  it('serves, then SIGTERM to the npm process stops redis, the instance, nginx and the watchdog', async () => {
    const started = await npmStart();
    // redis-server, app-1, nginx master (+ workers), the watchdog below the launcher
    expect(started.tree.length).toBeGreaterThanOrEqual(5);
    expect((await request(`${started.url}/readyz`)).status).toBe(200);
    kill(started.npm.pid ?? 0, 'SIGTERM');
    await expectAllGone(started.tree, started.output);
    expect(started.output()).toContain('Stopped.');
  });

  it('SIGHUP to the npm process (its terminal closing) stops everything', async () => {
    const started = await npmStart();
    kill(started.npm.pid ?? 0, 'SIGHUP');
    await expectAllGone(started.tree, started.output);
  });

  it('SIGINT to the launcher itself stops everything in order', async () => {
    const started = await npmStart();
    kill(started.launcher, 'SIGINT');
    await expectAllGone([started.npm.pid ?? 0, ...started.tree], started.output);
    expect(started.output()).toContain('Stopped.');
  });

  it('a SIGKILLed launcher still takes its children down (the watchdog)', async () => {
    const started = await npmStart();
    kill(started.launcher, 'SIGKILL');
    await expectAllGone(started.tree, started.output);
  });
});

describe('npm start -- --redis cluster|sentinel', () => {
  for (const [topology, processes] of [
    ['cluster', 6],
    ['sentinel', 5],
  ] as const) {
    it(`serves on a local ${topology} and SIGTERM stops every Redis process with the rest`, async () => {
      const started = await npmStart(['--redis', topology]);
      expect(started.output()).toContain(`redis ${topology}`);
      // the Redis processes, app-1, nginx master (+ workers), the watchdog below the launcher
      expect(started.tree.length).toBeGreaterThanOrEqual(processes + 4);
      expect((await request(`${started.url}/readyz`)).status).toBe(200);
      kill(started.npm.pid ?? 0, 'SIGTERM');
      await expectAllGone(started.tree, started.output);
      expect(started.output()).toContain('Stopped.');
    });
  }
});
