import { registerAll } from '../lib/http.js';
import { sleep, userNames, withCluster, type Ctx } from '../lib/context.js';
import { runStep, type StepResult } from '../lib/step.js';
import { cpuMs } from '../lib/procfs.js';
import { ratio } from '../lib/stats.js';
import { seatInRooms } from '../lib/seat-clients.js';

/**
 * Scenario 4, room locality: 4 product instances; every room's members are on instances 1 and 2,
 * none on 3 and 4. Chat at a fixed rate; CPU per message of the member-less instances, with the
 * sharded adapter (dynamic subscriptions: only instances with members subscribe to a room's
 * channel) and with the classic one (every instance receives every broadcast).
 */

const INSTANCES = 4;
const MEMBER_INSTANCES = 2;

export interface LocalityRun {
  adapter: string;
  step: StepResult;
  /** CPU of each member-less instance per 1000 messages, averaged over them. */
  nonMemberCpuMsPer1k: number;
  memberCpuMsPer1k: number;
  /** Member-less instances' CPU per second while idle (no chat), for reference. */
  nonMemberIdleCpuMsPerS: number;
}

export interface LocalityResult {
  rooms: number;
  usersPerRoom: number;
  ratePerS: number;
  sharded: LocalityRun;
  classic: LocalityRun;
  /** sharded / classic non-member CPU per message. */
  ratio: number;
}

async function run(
  ctx: Ctx,
  adapter: 'sharded' | 'classic',
  rooms: number,
  usersPerRoom: number,
  ratePerS: number,
): Promise<LocalityRun> {
  return withCluster(
    ctx,
    {
      kind: 'product',
      label: `locality-${adapter}`,
      instances: INSTANCES,
      env: { BCRYPT_ROUNDS: '10', ADAPTER: adapter },
    },
    async (cluster) => {
      const names = userNames('loc', rooms * usersPerRoom);
      const roomNames = Array.from({ length: rooms }, (_, r) => `locality-${r}`);
      // Registration goes to every instance; sockets only to the member instances.
      const cookies = await registerAll(cluster.urls, names, 8);
      await seatInRooms(ctx, cluster, {
        kind: 'product',
        names,
        cookies,
        roomNames,
        usersPerRoom,
        instances: MEMBER_INSTANCES,
      });
      await sleep(ctx.smoke ? 300 : 1000);
      await runStep(ctx, cluster, {
        step: 0,
        ratePerS: ratePerS / 4,
        durationMs: ctx.smoke ? 500 : 2000,
        roomSize: usersPerRoom,
        maxDrainMs: 3000,
      });

      const idleMs = ctx.smoke ? 500 : 3000;
      const nonMembers = cluster.instances.slice(MEMBER_INSTANCES);
      const idle0 = nonMembers.map((i) => cpuMs(i.pid));
      await sleep(idleMs);
      const idle1 = nonMembers.map((i) => cpuMs(i.pid));
      const nonMemberIdleCpuMsPerS =
        (idle1.reduce((s, v, i) => s + v - (idle0[i] ?? 0), 0) / nonMembers.length / idleMs) * 1000;

      const step = await runStep(ctx, cluster, {
        step: 1,
        ratePerS,
        durationMs: (ctx.smoke ? 1 : 6) * 1000,
        roomSize: usersPerRoom,
        maxDrainMs: 10_000,
      });
      const per = step.instanceCpuMsPer1k;
      const avg = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
      const result: LocalityRun = {
        adapter: cluster.adapter,
        step,
        memberCpuMsPer1k: avg(per.slice(0, MEMBER_INSTANCES)),
        nonMemberCpuMsPer1k: avg(per.slice(MEMBER_INSTANCES)),
        nonMemberIdleCpuMsPerS,
      };
      ctx.log(
        `    ${adapter}: ${ratePerS}/s delivered ${(step.delivered * 100).toFixed(2)} %; CPU-ms/1k msgs: member instances ${result.memberCpuMsPer1k.toFixed(1)}, ` +
          `member-less ${result.nonMemberCpuMsPer1k.toFixed(1)} (idle ${nonMemberIdleCpuMsPerS.toFixed(1)} ms/s)`,
      );
      return result;
    },
  );
}

export async function locality(ctx: Ctx): Promise<LocalityResult> {
  const rooms = ctx.smoke ? 2 : 8;
  const usersPerRoom = ctx.smoke ? 2 : 8;
  const ratePerS = ctx.smoke ? 100 : 1000;
  const sharded = await run(ctx, 'sharded', rooms, usersPerRoom, ratePerS);
  const classic = await run(ctx, 'classic', rooms, usersPerRoom, ratePerS);
  return {
    rooms,
    usersPerRoom,
    ratePerS,
    sharded,
    classic,
    ratio: ratio(sharded.nonMemberCpuMsPer1k, classic.nonMemberCpuMsPer1k),
  };
}
