import { expect } from 'vitest';
import { signUp } from '../helpers/app.js';
import type { TestCluster } from '../helpers/cluster.js';
import { addressAwayFromFirst, clusterProblems, prepareFuzzWorld } from '../helpers/fuzz.js';
import { allDelivered, bystanderProblems, chat, startBystander } from './drivers/bystanders.js';
import { connect } from '../helpers/socket.js';
import { httpProperty } from './drivers/http.js';
import { rawPacketsProperty, socketEventsProperty } from './drivers/socket.js';
import type { Member } from './drivers/unicode.js';
import type { Tally } from './figures.js';
import type { FuzzEnv, PropertyOutcome } from './runner.js';

/** A fuzz pass over a running cluster, and the members the Unicode properties speak through. */

export interface Row {
  property: string;
  runs: number;
  tally: Tally;
}
export const rowOf = (property: string, outcomes: readonly PropertyOutcome[], tally: Tally): Row => ({
  property: `${property} (${(Math.max(0, ...outcomes.map((o) => o.ms ?? 0)) / 1000).toFixed(1)} s)`,
  runs: outcomes.reduce((s, o) => s + o.runs, 0),
  tally,
});
export const failuresOf = (outcomes: readonly PropertyOutcome[]) =>
  outcomes.flatMap((o) => (o.failure === undefined ? [] : [o.failure]));

export interface PassOptions {
  env: FuzzEnv;
  /** Property names start with it: '' for the main pass, 'rl-' for the rate-limited one. */
  prefix: string;
  socketRuns: number;
  rawRuns: number;
  httpRuns: number;
  rateLimited: boolean;
  bystanderIntervalMs: number;
}

/** Socket, raw and HTTP properties side by side while two bystanders chat; then the cluster's health. */
export async function fuzzPass(
  cluster: TestCluster,
  o: PassOptions,
): Promise<{ rows: Row[]; failures: string[] }> {
  const pids = cluster.instances.map((inst) => inst.pid);
  const world = await prepareFuzzWorld(cluster, {
    seed: o.env.seed,
    // Two connections per place (18 in all): the test is CPU-bound on a shared machine, and every
    // connection receives every broadcast, so more connections cost time without adding cases.
    workersPerSocket: 2,
    rateLimited: o.rateLimited,
  });
  const tag = o.env.seed % 100000;
  const [ua, ub] = await Promise.all(
    [0, 1].map((k) => signUp(cluster.url(0), `fz_${tag}_b${k}`, 'fuzz-password-1')),
  );
  if (ua === undefined || ub === undefined) throw new Error('no bystanders');
  const a = await startBystander('A', cluster.url(0), ua.cookie, world.bystanderRoom);
  const b = await startBystander(
    'B',
    cluster.nginxUrl,
    ub.cookie,
    world.bystanderRoom,
    await addressAwayFromFirst(cluster),
  );
  const stopChat = chat(a, b, o.bystanderIntervalMs);
  const started = Date.now();
  const cpu = process.cpuUsage();
  const [events, raw, http] = await Promise.all([
    socketEventsProperty({
      env: o.env,
      name: `${o.prefix}socket`,
      connections: world.eventConnections,
      ctx: world.socketCtx,
      runs: o.socketRuns,
    }),
    rawPacketsProperty({
      env: o.env,
      name: `${o.prefix}raw`,
      connections: world.rawConnections,
      ctx: world.socketCtx,
      runs: o.rawRuns,
    }),
    httpProperty({
      env: o.env,
      name: `${o.prefix}http`,
      ctx: world.httpCtx,
      targets: { url: world.url, metricsToken: cluster.metricsToken, stableCookies: world.stableCookies },
      volatileCookies: world.volatileCookies,
      runs: o.httpRuns,
      concurrency: 12,
    }),
  ]);
  const fuzzMs = Date.now() - started;
  const { user, system } = process.cpuUsage(cpu);
  await stopChat();
  for (const c of [...world.eventConnections, ...world.rawConnections]) c.close();
  await expect
    .poll(() => allDelivered(a, b), { timeout: 10_000 })
    .toBe(true)
    .catch(() => undefined);
  const failures = [
    ...failuresOf(events.outcomes),
    ...failuresOf(raw.outcomes),
    ...failuresOf(http.outcomes),
  ];
  failures.push(...bystanderProblems(a, b).map((p) => `bystanders: ${p}`));
  a.socket.close();
  b.socket.close();
  failures.push(...(await clusterProblems(cluster, pids)));
  console.info(
    `[fuzz] pass${o.rateLimited ? ' RATE_LIMITS=on' : ''}: ${(fuzzMs / 1000).toFixed(1)} s (this process: ${((user + system) / 1e6).toFixed(1)} s CPU), bystanders exchanged ${a.sent.size + b.sent.size} messages (max ack ${Math.max(a.maxAckMs, b.maxAckMs)} ms)`,
  );
  return {
    rows: [
      rowOf('socket events', events.outcomes, events.tally),
      rowOf('raw packets', raw.outcomes, raw.tally),
      rowOf('http', http.outcomes, http.tally),
    ],
    failures,
  };
}

/** Two members in one room on different instances, and a third signed in for history and names. */
export async function members(cluster: TestCluster, tag: string, room: string): Promise<Member[]> {
  const out: Member[] = [];
  for (const i of [0, 1, 2]) {
    const user = await signUp(cluster.url(i), `fz_${tag}_m${i}`, 'fuzz-password-1');
    const socket = await connect(cluster.url(i), user.cookie);
    out.push({ ...user, socket, url: cluster.url(i) });
  }
  const creator = out[0];
  if (creator === undefined) throw new Error('no members');
  await creator.socket.timeout(5000).emitWithAck('create-room', room);
  for (const m of out.slice(0, 2)) await m.socket.timeout(5000).emitWithAck('join-room', room);
  return out;
}
