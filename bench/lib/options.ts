/** The bench's command line (node:util parseArgs), checked and with defaults filled in. */
import path from 'node:path';
import { parseArgs } from 'node:util';

export const SCENARIOS = [
  'fanout',
  'idle',
  'login',
  'locality',
  'history',
  'scale',
  'presence',
  'spread',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

/**
 * Parses process.argv; throws with the option's name on a bad value.
 *   --smoke                tiny sizes; exit 1 if a scenario threw or produced no numbers
 *   --scenario a,b         fanout,idle,login,locality,history,scale,presence,spread (default: all)
 *   --steps 500,1000,...   fan-out offered rates, msg/s
 *   --duration-s N         seconds per fan-out window (default 5; smoke 2)
 *   --repeat N             fan-out windows per rate and side, alternating product/baseline (default 4; smoke 1):
 *                          at 500–1000 msg/s a window's CPU ratio varied by ±15 % between runs
 *                          with 2 × 4 s (0.88× to 1.36× at 500 msg/s), so the figures average more
 *   --workers N            load generator processes (1–2, default 2)
 *   --acks on|off          fan-out senders ask for an ack per message (default on; off: figures per sent message)
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
export function benchOptions() {
  const { values } = parseArgs({
    options: {
      smoke: { type: 'boolean', default: false },
      scenario: { type: 'string' },
      steps: { type: 'string' },
      'duration-s': { type: 'string' },
      repeat: { type: 'string' },
      workers: { type: 'string' },
      acks: { type: 'string', default: 'on' },
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
  const durationS = Number(values['duration-s'] ?? (smoke ? 2 : 5));
  if (!(durationS > 0 && durationS <= 120)) throw new Error('--duration-s: 0 < s ≤ 120');
  const productEnv: Record<string, string> = {};
  for (const pair of (values['product-env'] ?? '').split(',').filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`--product-env: KEY=VALUE pairs, got "${pair}"`);
    productEnv[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const repeat = Number(values.repeat ?? (smoke ? 1 : 4));
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 10) throw new Error('--repeat: 1 to 10');
  const workers = Number(values.workers ?? 2);
  if (workers !== 1 && workers !== 2) throw new Error('--workers: 1 or 2');
  if (values.acks !== 'on' && values.acks !== 'off') throw new Error('--acks: on or off');
  return {
    smoke,
    acks: values.acks === 'on',
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

export type BenchOptions = ReturnType<typeof benchOptions>;
