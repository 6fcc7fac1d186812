import { setTimeout as sleep } from 'node:timers/promises';
import { cpuMs, machineBusyMs } from './procfs.js';
import { nowMs } from './protocol.js';
import type { Ctx } from './context.js';
import type { RawStep } from './step.js';

/** Waiting for a quiet machine, and how much of a window others' work took. */

/** Others' work (cores) above which the machine is not quiet. */
export const QUIET_CORES = 0.4;
const MAX_QUIET_WAIT_S = 30;

/**
 * Waits (bounded) until the machine is quiet: busy cores from /proc/stat (tick-sampled, so
 * approximate) over 2 s, minus `ownPids`' CPU, below QUIET_CORES. Other engineers' test runs
 * share these 2 cores.
 */
export async function waitQuiet(
  ctx: Pick<Ctx, 'quietBudget' | 'log'>,
  ownPids: readonly number[] = [],
): Promise<{ waitedS: number; busyCores: number }> {
  const log = ctx.log;
  if (ctx.quietBudget.remainingS <= 0) return { waitedS: 0, busyCores: Number.NaN };
  const started = nowMs();
  // Each wait takes at most MAX_QUIET_WAIT_S, and all of them together the run's budget.
  const maxS = Math.min(MAX_QUIET_WAIT_S, ctx.quietBudget.remainingS);
  const own = () => ownPids.reduce((s, pid) => s + cpuMs(pid), 0);
  for (;;) {
    const a = machineBusyMs();
    const o = own();
    await sleep(2000);
    const busy = Math.max(0, (machineBusyMs() - a - (own() - o)) / 2000);
    const waited = (nowMs() - started) / 1000;
    if (busy < QUIET_CORES || waited >= maxS) {
      ctx.quietBudget.remainingS = Math.max(0, ctx.quietBudget.remainingS - waited);
      if (busy >= QUIET_CORES)
        log(
          `  machine still busy (${busy.toFixed(2)} cores of other work) after ${Math.round(waited)} s: figures are disturbed`,
        );
      else if (waited > 3) log(`  waited ${Math.round(waited)} s for the machine to be quiet`);
      return { waitedS: Math.round(waited), busyCores: Math.round(busy * 100) / 100 };
    }
  }
}

/** Work of others on the machine during a window (cores, approximate, ≥ 0). */
export function otherCores(raw: RawStep): number {
  const ours = raw.instanceCpuMs.reduce((s, v) => s + v, 0) + raw.redisCpuMs + raw.loadgenCpuMs;
  return Math.max(0, (raw.machineMs - ours) / raw.windowMs);
}
