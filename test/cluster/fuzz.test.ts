import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { closeHttpAgent } from '../fuzz/drivers/http.js';
import { nameProperties, textProperty } from '../fuzz/drivers/unicode.js';
import { usernameProperty } from '../fuzz/drivers/usernames.js';
import { summary } from '../fuzz/figures.js';
import { failuresOf, fuzzPass, members, rowOf, type Row } from '../fuzz/pass.js';
import { socketCase } from '../fuzz/arbitraries/socket-events.js';
import { checkProperty, fuzzEnv, involves } from '../fuzz/runner.js';
import { startCluster, type TestCluster } from '../helpers/cluster.js';
import { clusterProblems } from '../helpers/fuzz.js';

/**
 * The fuzz tier: fast-check properties against a running cluster (redis + 3 instances of
 * dist/main.js + nginx) while two bystanders chat; see test/fuzz/ for the arbitraries and oracles.
 *
 * - socket events: every client event and unknown ones, valid, near-valid and hostile, with an ack,
 *   without, or with a non-function in its place; answered per the protocol, size limit enforced.
 * - raw packets: malformed Engine.IO/Socket.IO packets written straight to a connection.
 * - HTTP: every route, fuzzed method, path, query, body, headers; never 5xx, stable codes.
 * - Unicode: room names, usernames and message texts from the classes that fool people; accepted
 *   ones read the same on every instance (and under the classic adapter).
 * Then: same pids, /readyz 200, no error/fatal/unhandled line in any log, bystanders intact.
 * A smaller pass runs with RATE_LIMITS=on.
 *
 * Replay: a failure prints `FUZZ_SEED=<n> FUZZ_PATH=<property>:<path>`; run the tier with both set.
 * FUZZ_SCALE=<x> scales every property's runs; FUZZ_SHRINK=0 skips shrinking.
 */

const ENV = fuzzEnv();
/** The machine is shared: a full pass takes ~1 min alone and more under load (shrinking adds to it). */
const FUZZ_TIMEOUT_MS = 300_000;
const BASE = { instances: 3, env: { BCRYPT_ROUNDS: '10' } };
const clusters: TestCluster[] = [];
afterAll(async () => {
  closeHttpAgent();
  await Promise.all(clusters.map((c) => c.stop()));
});

const rows: Row[] = [];

describe('fuzzing the cluster', () => {
  it('replays: a printed seed and path give back the same shrunk case', async () => {
    // A property that fails on any message with a long text: find, shrink, then replay from the printed line.
    const arb = socketCase({ rooms: ['General'], newRooms: ['New 1'] });
    const failing = async (c: { event: string; args: unknown[] }) =>
      !(c.event === 'message' && JSON.stringify(c.args).length > 40);
    const found = await checkProperty({ ...ENV, replay: undefined, scale: 1 }, 'self-test', arb, failing, {
      numRuns: 2000,
    });
    const line = /FUZZ_SEED=(\d+) FUZZ_PATH=(\S+)/.exec(found.failure ?? '');
    expect(line, found.failure).not.toBeNull();
    const replay = fuzzEnv({ FUZZ_SEED: line?.[1], FUZZ_PATH: line?.[2], FUZZ_SHRINK: '0' });
    const again = await checkProperty(replay, 'self-test', arb, failing, { numRuns: 2000 });
    expect(again.runs).toBe(1);
    const example = (report: string | undefined) => /counterexample: (.*)/.exec(report ?? '')?.[1];
    expect(example(again.failure)).toBe(example(found.failure));
    expect(fc.sample(arb, { seed: ENV.seed, numRuns: 30 }).map((c) => fc.stringify(c))).toEqual(
      fc.sample(arb, { seed: ENV.seed, numRuns: 30 }).map((c) => fc.stringify(c)),
    );
  });

  it(
    'every socket event, raw packet and HTTP request is answered per the protocol; bystanders unaffected',
    async () => {
      if (!involves(ENV, 'socket/', 'raw/', 'http/')) return;
      console.info(`[fuzz] seed=${ENV.seed} (replay a failure with the FUZZ_SEED and FUZZ_PATH it prints)`);
      const cluster = await startCluster(BASE);
      clusters.push(cluster);
      const r = await fuzzPass(cluster, {
        env: ENV,
        prefix: '',
        socketRuns: 14_000,
        rawRuns: 400,
        httpRuns: 6500,
        rateLimited: false,
        bystanderIntervalMs: 100,
      });
      rows.push(...r.rows);
      await cluster.stop();
      expect(r.failures, r.failures.join('\n\n')).toEqual([]);
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'names, usernames and texts from the Unicode classes read the same on every instance',
    async () => {
      if (!involves(ENV, 'unicode-')) return;
      const cluster = await startCluster(BASE);
      clusters.push(cluster);
      const tag = String(ENV.seed % 100000);
      const [m0, m1, m2] = await members(cluster, tag, 'Unicode text');
      if (m0 === undefined || m1 === undefined || m2 === undefined) throw new Error('no members');
      const text = await textProperty({
        env: ENV,
        name: 'unicode-text',
        room: 'Unicode text',
        sender: m0,
        reader: m1,
        catchUp: m2,
        metricsToken: cluster.metricsToken,
        runs: 300,
      });
      const names = await nameProperties({
        env: ENV,
        name: 'unicode-names',
        creator: m0,
        other: m2,
        metricsToken: cluster.metricsToken,
        runs: 150,
      });
      const users = await usernameProperty({
        env: ENV,
        name: 'unicode-users',
        url: (t) => (t === 'nginx' ? cluster.nginxUrl : cluster.url(t)),
        metricsToken: cluster.metricsToken,
        runs: 40,
      });
      for (const m of [m0, m1, m2]) m.socket.close();
      rows.push(
        rowOf('unicode text', [text.outcome], text.tally),
        rowOf('unicode names', names.outcomes, names.tally),
        rowOf('unicode users', [users.outcome], users.tally),
      );
      const failures = [
        ...failuresOf([text.outcome, ...names.outcomes, users.outcome]),
        ...(await clusterProblems(
          cluster,
          cluster.instances.map((i) => i.pid),
        )),
      ];
      await cluster.stop();
      expect(failures, failures.join('\n\n')).toEqual([]);
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'texts read the same on every instance under the classic adapter',
    async () => {
      if (!involves(ENV, 'classic-')) return;
      const cluster = await startCluster({ ...BASE, env: { ...BASE.env, ADAPTER: 'classic' }, nginx: false });
      clusters.push(cluster);
      const [m0, m1, m2] = await members(cluster, String(ENV.seed % 100000), 'Unicode text');
      if (m0 === undefined || m1 === undefined || m2 === undefined) throw new Error('no members');
      const text = await textProperty({
        env: ENV,
        name: 'classic-text',
        room: 'Unicode text',
        sender: m0,
        reader: m1,
        catchUp: m2,
        metricsToken: cluster.metricsToken,
        runs: 200,
      });
      for (const m of [m0, m1, m2]) m.socket.close();
      rows.push(rowOf('classic text', [text.outcome], text.tally));
      await cluster.stop();
      const failures = failuresOf([text.outcome]);
      expect(failures, failures.join('\n\n')).toEqual([]);
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'behaves the same with rate limits on (smaller pass)',
    async () => {
      if (!involves(ENV, 'rl-')) return;
      const cluster = await startCluster({
        ...BASE,
        // Sign-in and register limits low enough for the fuzzer to reach them; the rest keep their defaults.
        env: {
          ...BASE.env,
          RATE_LIMITS: 'on',
          RL_REGISTER_PER_IP: '30',
          RL_LOGIN_PER_USER: '3',
          RL_LOGIN_PER_IP: '15',
        },
      });
      clusters.push(cluster);
      const r = await fuzzPass(cluster, {
        env: ENV,
        prefix: 'rl-',
        socketRuns: 2500,
        rawRuns: 30,
        httpRuns: 2000,
        rateLimited: true,
        bystanderIntervalMs: 250,
      });
      rows.push(...r.rows.map((row) => ({ ...row, property: `${row.property} (RL)` })));
      await cluster.stop();
      expect(r.failures, r.failures.join('\n\n')).toEqual([]);
    },
    FUZZ_TIMEOUT_MS,
  );

  afterAll(() => {
    if (rows.length > 0) console.info(summary(rows));
  });
});
