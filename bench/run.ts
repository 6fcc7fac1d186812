/**
 * `npm run bench` / `npm run bench:smoke`: load runs of the product against a baseline relay
 * (bench/baseline/server.mjs) on identical clusters started here (redis-server + instances on free
 * loopback ports), with load generators in child processes (bench/worker.ts). Prints tables and
 * writes bench/results/latest.json and latest.md. See bench/README.md.
 *
 * Options: bench/lib/options.ts.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { redisVersionSeen, stopAllClusters } from './lib/cluster.js';
import type { Ctx } from './lib/context.js';
import { waitQuiet } from './lib/quiet.js';
import { machineInfo } from './lib/procfs.js';
import { nowMs } from './lib/protocol.js';
import { benchOptions, type Scenario } from './lib/options.js';
import { reportMarkdown } from './lib/report/document.js';
import { targets, type ScenarioResults } from './lib/report/targets.js';
import { missing } from './lib/smoke-check.js';
import { WorkerPool } from './lib/workers.js';
import { fanout } from './scenarios/fanout.js';
import { history } from './scenarios/history.js';
import { idle } from './scenarios/idle.js';
import { locality } from './scenarios/locality.js';
import { loginStorm } from './scenarios/login.js';
import { scale } from './scenarios/scale.js';
import { presence } from './scenarios/presence.js';
import { spread } from './scenarios/spread.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

const out = (line: string) => void process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  const opts = benchOptions();
  const t0 = nowMs();
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const runDir = path.join(ROOT, '.run', 'bench', opts.smoke ? 'smoke' : stamp);
  if (opts.smoke) rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  const outDir = opts.out
    ? path.resolve(opts.out)
    : opts.smoke
      ? runDir
      : path.join(ROOT, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });

  out(
    `bench${opts.smoke ? ' --smoke' : ''}: ${opts.scenarios.join(', ')}; logs in ${path.relative(ROOT, runDir)}`,
  );
  const pool = await WorkerPool.start(opts.workers);
  const stop = async (code: number) => {
    pool.kill();
    await stopAllClusters();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(130));
  process.on('SIGTERM', () => void stop(143));

  const ctx: Ctx = {
    smoke: opts.smoke,
    runDir,
    cpuProfDir: opts.cpuProf ? path.join(runDir, 'profiles') : undefined,
    logLevel: opts.logLevel,
    productEntry: opts.productEntry,
    productEnv: opts.productEnv,
    durationS: opts.durationS,
    repeat: opts.repeat,
    quietBudget: { remainingS: opts.quietWaitS },
    steps: opts.steps,
    textChars: 80,
    acks: opts.acks,
    pool,
    log: (line) => out(`[${((nowMs() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}`),
  };

  const results: ScenarioResults = {};
  const errors: { scenario: Scenario; error: string }[] = [];
  const timings: Record<string, number> = {};
  const machineAtStart: Record<string, { waitedS: number; busyCores: number }> = {};
  const runners: Record<Scenario, () => Promise<void>> = {
    fanout: async () => void (results.fanout = await fanout(ctx)),
    idle: async () => void (results.idle = await idle(ctx)),
    login: async () => void (results.login = await loginStorm(ctx)),
    locality: async () => void (results.locality = await locality(ctx)),
    history: async () => void (results.history = await history(ctx)),
    scale: async () => void (results.scale = await scale(ctx)),
    presence: async () => void (results.presence = await presence(ctx)),
    spread: async () => void (results.spread = await spread(ctx)),
  };
  try {
    for (const name of opts.scenarios) {
      const t0 = nowMs();
      out(`\n== ${name}`);
      if (ctx.quietBudget.remainingS > 0) machineAtStart[name] = await waitQuiet(ctx);
      try {
        await runners[name]();
      } catch (err) {
        const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
        errors.push({ scenario: name, error: message });
        out(`  ${name} FAILED: ${message}`);
      }
      timings[name] = Math.round(nowMs() - t0);
    }
  } finally {
    await pool.stop();
    await stopAllClusters();
  }

  const finishedAt = new Date();
  const machine = { ...machineInfo(), node: process.version, redis: redisVersionSeen() };
  const targetList = targets(results);
  const durationS = Math.round((finishedAt.getTime() - startedAt.getTime()) / 1000);
  const markdown = reportMarkdown({
    opts,
    results,
    targets: targetList,
    errors,
    machine,
    finishedAt,
    durationS,
    argv: process.argv.slice(2),
    root: ROOT,
  });
  out(`\n${markdown}\n`);

  const report = {
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationS,
    smoke: opts.smoke,
    argv: process.argv.slice(2),
    machine,
    options: {
      scenarios: opts.scenarios,
      steps: opts.steps,
      durationS: opts.durationS,
      repeat: opts.repeat,
      workers: opts.workers,
      acks: opts.acks,
      cpuProf: opts.cpuProf,
      logLevel: opts.logLevel,
      productEntry: opts.productEntry,
      productEnv: opts.productEnv,
    },
    timingsMs: timings,
    machineBusyAtStart: machineAtStart,
    targets: targetList,
    scenarios: results,
    errors,
  };
  const json = JSON.stringify(
    report,
    (_key, value: unknown) => (value instanceof Float64Array ? undefined : value),
    2,
  );
  writeFileSync(path.join(outDir, 'latest.json'), `${json}\n`);
  writeFileSync(path.join(outDir, 'latest.md'), `${markdown}\n`);
  out(
    `report: ${path.relative(ROOT, path.join(outDir, 'latest.json'))}, ${path.relative(ROOT, path.join(outDir, 'latest.md'))}`,
  );
  if (ctx.cpuProfDir)
    out(
      `CPU profiles: ${path.relative(ROOT, ctx.cpuProfDir)} (summarise with: node --import tsx bench/profile.ts <dir>)`,
    );

  if (errors.length > 0) return 1;
  if (opts.smoke) {
    const gaps = opts.scenarios.map((s) => missing(s, results)).filter((m): m is string => m !== undefined);
    if (gaps.length > 0) {
      out(`smoke FAILED: ${gaps.join('; ')}`);
      return 1;
    }
    out('smoke OK: every scenario produced figures');
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    process.stderr.write(
      `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    await stopAllClusters();
    process.exit(1);
  },
);
