import { randomBytes } from 'node:crypto';
import fc from 'fast-check';

/**
 * Runs fast-check properties against a live cluster with seed replay.
 *
 * One base seed per run (FUZZ_SEED, else random). Each property has a name (`socket/3`, `http/0`,
 * `unicode-text`…) and runs with the base seed mixed with its name, so properties that run side by
 * side draw different cases. A failure prints the base seed and `FUZZ_PATH=<name>:<fast-check path>`;
 * with both set, only that property runs, from that path (its shrunk counterexample first).
 * FUZZ_SCALE multiplies every property's run count (default 1); FUZZ_SHRINK=0 reports the first
 * failure without shrinking (shrinking replays cases against the live cluster and can take a while).
 */

export interface FuzzEnv {
  seed: number;
  /** `<property>:<path>` from FUZZ_PATH. */
  replay?: { property: string; path: string };
  scale: number;
  shrink: boolean;
}

export function fuzzEnv(env: NodeJS.ProcessEnv = process.env): FuzzEnv {
  const rawSeed = env.FUZZ_SEED?.trim();
  let seed = randomBytes(4).readUInt32BE(0);
  if (rawSeed !== undefined && rawSeed !== '') {
    seed = Number(rawSeed);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
      throw new Error(`FUZZ_SEED must be a uint32: ${rawSeed}`);
  }
  const scale = env.FUZZ_SCALE === undefined || env.FUZZ_SCALE === '' ? 1 : Number(env.FUZZ_SCALE);
  if (!(scale > 0)) throw new Error(`FUZZ_SCALE must be a positive number: ${env.FUZZ_SCALE}`);
  const rawPath = env.FUZZ_PATH?.trim();
  let replay: FuzzEnv['replay'];
  if (rawPath !== undefined && rawPath !== '') {
    const m = /^([^:]+):(\d+(?::\d+)*)$/.exec(rawPath);
    if (m === null || rawSeed === undefined)
      throw new Error(`FUZZ_PATH needs FUZZ_SEED and the form <property>:<path>: ${rawPath}`);
    replay = { property: m[1] ?? '', path: m[2] ?? '' };
  }
  return { seed: seed >>> 0, replay, scale, shrink: env.FUZZ_SHRINK !== '0' };
}

/** Whether property `name` runs under the current replay setting (all do without FUZZ_PATH). */
export function selected(env: FuzzEnv, name: string): boolean {
  return env.replay === undefined || env.replay.property === name;
}

/** Whether any property whose name starts with one of `prefixes` runs (to skip a whole test). */
export function involves(env: FuzzEnv, ...prefixes: string[]): boolean {
  const replay = env.replay;
  return replay === undefined || prefixes.some((p) => replay.property.startsWith(p));
}

/** A property's seed: the base seed mixed with its name (FNV-1a), a 32-bit integer. */
export function propertySeed(base: number, name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return (base ^ h) | 0;
}

export interface PropertyOutcome {
  name: string;
  runs: number;
  /** Wall time of the property, shrinking included. */
  ms?: number;
  /** Undefined when it held; else a report with the counterexample and the replay line. */
  failure?: string;
}

export interface PropertyOptions<T> {
  numRuns: number;
  examples?: T[];
}

/**
 * Checks `predicate` (throws or resolves false on a counterexample) over `arb`, scaled and seeded
 * from `env`. Returns the outcome instead of throwing, so side-by-side properties all finish.
 */
export async function checkProperty<T>(
  env: FuzzEnv,
  name: string,
  arb: fc.Arbitrary<T>,
  predicate: (value: T) => Promise<boolean | void>,
  opts: PropertyOptions<T>,
): Promise<PropertyOutcome> {
  if (!selected(env, name)) return { name, runs: 0 };
  const path = env.replay?.property === name ? env.replay.path : undefined;
  const started = Date.now();
  const details = await fc.check(fc.asyncProperty(arb, predicate), {
    seed: propertySeed(env.seed, name),
    numRuns: Math.max(1, Math.round(opts.numRuns * env.scale)),
    examples: opts.examples?.map((e): [T] => [e]),
    endOnFailure: !env.shrink,
    ...(path === undefined ? {} : { path }),
  });
  const ms = Date.now() - started;
  if (!details.failed) return { name, runs: details.numRuns, ms };
  const error =
    details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  const example = details.counterexample === null ? '(none)' : fc.stringify(details.counterexample[0]);
  const failure =
    `property ${name} failed after ${details.numRuns} runs and ${details.numShrinks} shrinks: ${error}\n` +
    `  counterexample: ${example.length > 2000 ? `${example.slice(0, 2000)}…` : example}\n` +
    `  replay: FUZZ_SEED=${env.seed} FUZZ_PATH=${name}:${details.counterexamplePath ?? ''} npm run test:fuzz`;
  return { name, runs: details.numRuns, ms, failure };
}

/** Throws with a property's problems: fast-check records the message and shrinks. */
export function holds(problems: readonly string[], where: string): void {
  if (problems.length > 0) throw new Error(`${where}: ${problems.join('; ')}`);
}
