/**
 * `npm run bench` / `npm run bench:smoke`: load runs of the product against a baseline relay
 * (bench/baseline/server.mjs) on identical clusters started here (redis-server + instances on free
 * loopback ports), with load generators in child processes (bench/worker.ts). Prints tables and
 * writes bench/results/latest.json and latest.md. See bench/README.md.
 *
 * Options:
 *   --smoke                tiny sizes; exit 1 if a scenario threw or produced no numbers
 *   --scenario a,b         fanout,idle,login,locality,history,scale (default: all)
 *   --steps 500,1000,...   fan-out offered rates, msg/s
 *   --duration-s N         seconds per fan-out window
 *   --repeat N             fan-out windows per rate and side, alternating product/baseline (default 2; smoke 1)
 *   --workers N            load generator processes (1–2, default 2)
 *   --cpu-prof             start product instances with --cpu-prof (profiles in the run directory)
 *   --log-level L          instances' LOG_LEVEL (default warn)
 *   --product-entry FILE   run this instead of dist/main.js as the product (A/B a candidate build;
 *                          keep it inside the repository so node_modules resolve)
 *   --product-env K=V,...  extra env for the product instances (A/B a setting)
 *   --quiet-wait-s N       seconds the run may spend in all waiting for the machine to be quiet (others'
 *                          work below 0.4 cores) before scenarios and fan-out rates, and re-measuring
 *                          fan-out windows others disturbed (default 180; smoke 0)
 *   --out DIR              where latest.json/latest.md go (default bench/results; smoke: the run directory)
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { redisVersionSeen, stopAllClusters } from './lib/cluster.js';
import type { Ctx } from './lib/context.js';
import { waitQuiet } from './lib/quiet.js';
import { machineInfo } from './lib/procfs.js';
import { nowMs } from './lib/protocol.js';
import {
  fanoutTable,
  historyTable,
  idleTable,
  localityTable,
  loginTable,
  scaleTable,
  targets,
  targetsTable,
  type ScenarioResults,
} from './lib/report.js';
import { WorkerPool } from './lib/workers.js';
import { fanout } from './scenarios/fanout.js';
import { history } from './scenarios/history.js';
import { idle } from './scenarios/idle.js';
import { locality } from './scenarios/locality.js';
import { loginStorm } from './scenarios/login.js';
import { scale } from './scenarios/scale.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SCENARIOS = ['fanout', 'idle', 'login', 'locality', 'history', 'scale'] as const;
type Scenario = (typeof SCENARIOS)[number];

const out = (line: string) => void process.stdout.write(`${line}\n`);

function options() {
  const { values } = parseArgs({
    options: {
      smoke: { type: 'boolean', default: false },
      scenario: { type: 'string' },
      steps: { type: 'string' },
      'duration-s': { type: 'string' },
      repeat: { type: 'string' },
      workers: { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
      'log-level': { type: 'string', default: 'warn' },
      'product-entry': { type: 'string' },
      'product-env': { type: 'string' },
      'quiet-wait-s': { type: 'string' },
      out: { type: 'string' },
    },
  });
  const smoke = values.smoke === true;
  const scenarios = (values.scenario ?? SCENARIOS.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of scenarios)
    if (!(SCENARIOS as readonly string[]).includes(s))
      throw new Error(`unknown scenario "${s}" (${SCENARIOS.join(', ')})`);
  const steps = (values.steps ?? (smoke ? '200' : '500,1000,2000,4000,8000')).split(',').map(Number);
  if (steps.some((s) => !Number.isInteger(s) || s <= 0 || s > 100_000))
    throw new Error(`--steps: positive integers (msg/s), got ${values.steps}`);
  const durationS = Number(values['duration-s'] ?? (smoke ? 2 : 4));
  if (!(durationS > 0 && durationS <= 120)) throw new Error('--duration-s: 0 < s ≤ 120');
  const productEnv: Record<string, string> = {};
  for (const pair of (values['product-env'] ?? '').split(',').filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`--product-env: KEY=VALUE pairs, got "${pair}"`);
    productEnv[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const repeat = Number(values.repeat ?? (smoke ? 1 : 2));
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 10) throw new Error('--repeat: 1 to 10');
  const workers = Number(values.workers ?? 2);
  if (workers !== 1 && workers !== 2) throw new Error('--workers: 1 or 2');
  return {
    smoke,
    scenarios: scenarios as Scenario[],
    steps,
    durationS,
    repeat,
    workers,
    cpuProf: values['cpu-prof'] === true,
    logLevel: values['log-level'] ?? 'warn',
    productEntry: values['product-entry'] ? path.resolve(values['product-entry']) : undefined,
    productEnv,
    quietWaitS: Number(values['quiet-wait-s'] ?? (smoke ? 0 : 180)),
    out: values.out,
  };
}

/** Each scenario must have produced figures (for --smoke): returns what is missing. */
function missing(name: Scenario, r: ScenarioResults): string | undefined {
  const finite = (...xs: (number | undefined)[]) => xs.every((v) => v !== undefined && Number.isFinite(v));
  switch (name) {
    case 'fanout': {
      const f = r.fanout;
      const ok =
        f &&
        [f.product, f.baseline].every(
          (run) =>
            run.steps.length > 0 &&
            run.steps.every((s) => s.received > 0 && finite(s.appCpuMsPer1k, s.latency.p99)),
        );
      return ok ? undefined : 'fan-out delivered nothing';
    }
    case 'idle': {
      const i = r.idle;
      return i &&
        i.product.connected > 0 &&
        i.baseline.connected > 0 &&
        finite(i.product.rssPerConnKb, i.baseline.rssPerConnKb)
        ? undefined
        : 'no idle sockets';
    }
    case 'login': {
      const l = r.login;
      return l && l.failures < l.logins && finite(l.latency.p99, l.lagStormP99RawMs)
        ? undefined
        : 'no login figures';
    }
    case 'locality': {
      const l = r.locality;
      return l &&
        l.sharded.step.received > 0 &&
        l.classic.step.received > 0 &&
        finite(l.sharded.nonMemberCpuMsPer1k, l.classic.nonMemberCpuMsPer1k)
        ? undefined
        : 'locality delivered nothing';
    }
    case 'history': {
      const h = r.history;
      return h && h.product.toHistory.count > 0 && h.baseline.toAck.count > 0 ? undefined : 'no join figures';
    }
    case 'scale': {
      const s = r.scale;
      return s && s.rows.length > 1 && s.rows.every((row) => row.connectBytes > 0 && row.creationBytes > 0)
        ? undefined
        : 'no scale figures';
    }
  }
}

async function main(): Promise<number> {
  const opts = options();
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
  const sections = [
    results.fanout && fanoutTable(results.fanout),
    results.idle && idleTable(results.idle),
    results.login && loginTable(results.login),
    results.locality && localityTable(results.locality),
    results.history && historyTable(results.history),
    results.scale && scaleTable(results.scale),
  ].filter((s): s is string => typeof s === 'string');
  const durationS = Math.round((finishedAt.getTime() - startedAt.getTime()) / 1000);
  const header = [
    `## Bench results${opts.smoke ? ' (smoke: tiny sizes, figures meaningless)' : ''}`,
    '',
    `${finishedAt.toISOString()} · ${durationS} s · \`${['npm run bench --', ...process.argv.slice(2)].join(' ')}\``,
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memGiB} GiB, Linux ${machine.kernel}; Node ${machine.node}; redis-server ${machine.redis}. ` +
      'Everything on this one machine: redis-server, the instances, and 2 load-generator processes.',
    ...(opts.productEntry || Object.keys(opts.productEnv).length > 0
      ? [
          '',
          `**Candidate, not dist/main.js:** product = ${opts.productEntry ? path.relative(ROOT, opts.productEntry) : 'dist/main.js'}` +
            `${
              Object.keys(opts.productEnv).length > 0
                ? ` with ${Object.entries(opts.productEnv)
                    .map(([k, v]) => `${k}=${v}`)
                    .join(' ')}`
                : ''
            }.`,
        ]
      : []),
  ].join('\n');
  const markdown = [
    header,
    targetList.length > 0 ? targetsTable(targetList, { smoke: opts.smoke }) : '',
    ...sections,
    errors.length > 0
      ? `### Errors\n\n${errors.map((e) => `- ${e.scenario}: ${e.error.split('\n')[0]}`).join('\n')}`
      : '',
  ]
    .filter(Boolean)
    .join('\n\n');
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
