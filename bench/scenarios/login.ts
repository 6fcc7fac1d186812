import { DEFAULT_BCRYPT_ROUNDS } from '../../src/config.js';
import { login, registerAll, scrapeMetrics } from '../lib/http.js';
import { sleep, userNames, withCluster, type Ctx } from '../lib/context.js';
import { runStep, type StepResult } from '../lib/step.js';
import { nowMs } from '../lib/protocol.js';
import { summarize, type Summary } from '../lib/stats.js';
import { seatInRooms } from '../lib/seat-clients.js';

/**
 * Scenario 3, login storm (product only: the baseline has no accounts): the product's default
 * BCRYPT_ROUNDS, rate limits off, chat running in a few rooms; then N logins at once, round-robin
 * over the instances. Event-loop lag comes from each instance's /metrics (prom-client's
 * monitorEventLoopDelay, 10 ms resolution, reset at every scrape): one scrape right before the
 * storm resets it, one right after reads the storm's window.
 */

/** The product samples the event loop every 10 ms (metrics.ts): a histogram value is that interval plus the lag. */
export const EVENT_LOOP_RESOLUTION_MS = 10;

export interface LagSample {
  instance: number;
  /** nodejs_eventloop_lag_p99_seconds as scraped, in ms (includes the 10 ms sampling interval). */
  p99RawMs: number;
  maxRawMs: number;
  /** p99 lag beyond the sampling interval, ms. */
  p99Ms: number;
}

export interface LoginResult {
  bcryptRounds: number;
  logins: number;
  failures: number;
  stormMs: number;
  latency: Summary;
  /** Chat only, before the storm. */
  lagChatOnly: LagSample[];
  /** During the storm. */
  lagStorm: LagSample[];
  /** Worst instance during the storm. */
  lagStormP99Ms: number;
  lagStormP99RawMs: number;
  chat: StepResult;
}

async function lagSamples(urls: readonly string[], token: string): Promise<LagSample[]> {
  return Promise.all(
    urls.map(async (url, instance) => {
      const m = await scrapeMetrics(url, token);
      const p99RawMs = (m.get('nodejs_eventloop_lag_p99_seconds') ?? Number.NaN) * 1000;
      const maxRawMs = (m.get('nodejs_eventloop_lag_max_seconds') ?? Number.NaN) * 1000;
      return { instance, p99RawMs, maxRawMs, p99Ms: Math.max(0, p99RawMs - EVENT_LOOP_RESOLUTION_MS) };
    }),
  );
}

export async function loginStorm(ctx: Ctx): Promise<LoginResult> {
  const instances = 3;
  const rooms = ctx.smoke ? 2 : 5;
  const usersPerRoom = ctx.smoke ? 3 : 6;
  const logins = ctx.smoke ? 5 : 100;
  const chatRate = ctx.smoke ? 60 : 500;
  // BCRYPT_ROUNDS unset: the product's default.
  return withCluster(
    ctx,
    { kind: 'product', label: 'login-product', instances, env: { BCRYPT_ROUNDS: undefined } },
    async (cluster) => {
      const chatNames = userNames('chat', rooms * usersPerRoom);
      const stormNames = userNames('storm', logins);
      const cookies = await registerAll(cluster.urls, [...chatNames, ...stormNames], 8);
      const roomNames = Array.from({ length: rooms }, (_, r) => `login-${r}`);
      await seatInRooms(ctx, cluster, {
        kind: 'product',
        names: chatNames,
        cookies,
        roomNames,
        usersPerRoom,
        instances,
      });
      await sleep(500);

      let lagChatOnly: LagSample[] = [];
      let lagStorm: LagSample[] = [];
      let results: Awaited<ReturnType<typeof login>>[] = [];
      let stormMs = 0;
      const chat = await runStep(ctx, cluster, {
        step: 1,
        ratePerS: chatRate,
        durationMs: 120_000,
        roomSize: usersPerRoom,
        maxDrainMs: 10_000,
        during: async () => {
          await sleep(ctx.smoke ? 500 : 1000);
          await lagSamples(cluster.urls, cluster.metricsToken); // resets the histograms
          await sleep(ctx.smoke ? 500 : 3000);
          lagChatOnly = await lagSamples(cluster.urls, cluster.metricsToken);
          const started = nowMs();
          results = await Promise.all(
            stormNames.map((name, i) => login(cluster.urls[i % instances] ?? '', name)),
          );
          stormMs = nowMs() - started;
          lagStorm = await lagSamples(cluster.urls, cluster.metricsToken);
          await sleep(500);
        },
      });
      const failures = results.filter((r) => !r.ok).length;
      const worst = lagStorm.reduce(
        (a, b) => (b.p99RawMs > a.p99RawMs ? b : a),
        lagStorm[0] ?? { instance: 0, p99RawMs: NaN, maxRawMs: NaN, p99Ms: NaN },
      );
      const latency = summarize(results.filter((r) => r.ok).map((r) => r.ms));
      ctx.log(
        `    ${logins} logins in ${Math.round(stormMs)} ms (p99 ${latency.p99.toFixed(0)} ms, ${failures} failed); event-loop p99 during the storm ` +
          `${worst.p99RawMs.toFixed(1)} ms raw = ${worst.p99Ms.toFixed(1)} ms lag; chat p99 ${chat.latency.p99.toFixed(1)} ms`,
      );
      return {
        bcryptRounds: DEFAULT_BCRYPT_ROUNDS,
        logins,
        failures,
        stormMs,
        latency,
        lagChatOnly,
        lagStorm,
        lagStormP99Ms: worst.p99Ms,
        lagStormP99RawMs: worst.p99RawMs,
        chat,
      };
    },
  );
}
