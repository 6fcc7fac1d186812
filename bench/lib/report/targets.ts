/** The targets of the issue, each met or missed, computed from a run's results, and their table. */
import type { FanoutResult } from '../../scenarios/fanout.js';
import type { HistoryResult } from '../../scenarios/history.js';
import type { IdleResult } from '../../scenarios/idle.js';
import type { LocalityResult } from '../../scenarios/locality.js';
import type { LoginResult } from '../../scenarios/login.js';
import type { ScaleResult } from '../../scenarios/scale.js';
import { presenceTargets, type PresenceResult } from '../../scenarios/presence.js';
import { spreadTargets, type SpreadResult } from '../../scenarios/spread.js';
import { ratio, round } from '../stats.js';
import { fmt, stepAt, table } from './format.js';

/** What each scenario run produced (absent: not run or failed). */
export interface ScenarioResults {
  fanout?: FanoutResult;
  idle?: IdleResult;
  login?: LoginResult;
  locality?: LocalityResult;
  history?: HistoryResult;
  scale?: ScaleResult;
  presence?: PresenceResult;
  spread?: SpreadResult;
}

export interface Target {
  id: string;
  target: string;
  product: number;
  baseline: number | undefined;
  /** Ratio to the baseline, or the absolute value for absolute targets. */
  value: number;
  limit: string;
  /** null: not measured in this run. */
  met: boolean | null;
  note?: string;
}

/** Flat: the largest size costs at most this many times the smallest. */
export const SCALE_FLAT_RATIO = 1.2;
export const SCALE_CONNECT_MAX_BYTES = 16 * 1024;
export const SCALE_CREATION_MAX_BYTES = 1024;

function describe(perMsg: Record<string, number> | undefined): string {
  const entries = Object.entries(perMsg ?? {}).filter(([, n]) => n >= 0.005);
  return entries.length > 0 ? entries.map(([c, n]) => `${c} ${n}`).join(', ') : 'none';
}

export function targets(r: ScenarioResults): Target[] {
  const out: Target[] = [];
  const vsBaseline = (
    id: string,
    target: string,
    p: number | undefined,
    b: number | undefined,
    limit: number,
    higherIsBetter = false,
    note?: string,
  ) => {
    const v = ratio(p, b);
    out.push({
      id,
      target,
      product: round(p ?? Number.NaN, 2),
      baseline: round(b ?? Number.NaN, 2),
      value: round(v, 3),
      limit: `${higherIsBetter ? '≥' : '≤'} ${limit}×`,
      met: Number.isFinite(v) ? (higherIsBetter ? v >= limit : v <= limit) : null,
      ...(note ? { note } : {}),
    });
  };
  if (r.fanout) {
    const { product: p, baseline: b } = r.fanout;
    for (const rate of p.steps.map((s) => s.offeredPerS)) {
      vsBaseline(
        `cpu-${rate}`,
        `app CPU per message at ${rate} msg/s`,
        stepAt(p.steps, rate)?.appCpuMsPer1k,
        stepAt(b.steps, rate)?.appCpuMsPer1k,
        1.15,
      );
    }
    // Redis CPU per message: the worst step's ratio (each step's in the note).
    const redisRatios = p.steps.map((s) => ({
      rate: s.offeredPerS,
      p: s.redisCpuMsPer1k,
      b: stepAt(b.steps, s.offeredPerS)?.redisCpuMsPer1k,
    }));
    const worst = redisRatios.reduce<(typeof redisRatios)[number] | undefined>(
      (w, s) => (w === undefined || ratio(s.p, s.b) > ratio(w.p, w.b) ? s : w),
      undefined,
    );
    vsBaseline(
      'redis-cpu',
      `Redis CPU per message, worst step (${worst?.rate ?? '–'} msg/s)`,
      worst?.p,
      worst?.b,
      2,
      false,
      `per step: ${redisRatios.map((s) => `${s.rate}: ${fmt(ratio(s.p, s.b), 2)}×`).join(', ')}`,
    );
    vsBaseline(
      'p99-2000',
      'p99 latency at 2000 msg/s',
      stepAt(p.steps, 2000)?.latency.p99,
      stepAt(b.steps, 2000)?.latency.p99,
      1.5,
    );
    vsBaseline('sustained', 'sustained rate', p.sustainedPerS, b.sustainedPerS, 0.9, true);
    // Persistence: commands the product's data connection sends to Redis per message (MONITOR, a
    // script counts once), in the warm-up step; background work (presence heartbeats) included.
    const trips = p.warmup.roundTrips;
    const data = trips?.perMsgByRole.data ?? Number.NaN;
    out.push({
      id: 'redis-round-trips',
      target: 'Redis round trips per message for persistence',
      product: round(data, 3),
      baseline: round(b.warmup.roundTrips?.perMsgByRole.data ?? 0, 3),
      value: round(data, 3),
      limit: '1 (≤ 1.05 with background commands)',
      met: Number.isFinite(data) ? data <= 1.05 : null,
      note: `commands sent per message at ${p.warmup.offeredPerS} msg/s (Redis MONITOR, a script counts once): product ${describe(trips?.perMsgByCommand)}; baseline ${describe(b.warmup.roundTrips?.perMsgByCommand)}`,
    });
  }
  if (r.idle) {
    vsBaseline(
      'rss-per-conn',
      'RSS per idle connection',
      r.idle.product.rssPerConnKb,
      r.idle.baseline.rssPerConnKb,
      1.3,
      false,
      `absolute: product ${fmt(r.idle.product.rssPerConnKb)} KB, baseline ${fmt(r.idle.baseline.rssPerConnKb)} KB per connection`,
    );
  }
  if (r.login) {
    const v = r.login.lagStormP99Ms;
    out.push({
      id: 'login-lag',
      target: 'login storm: event-loop lag p99',
      product: round(v, 1),
      baseline: undefined,
      value: round(v, 1),
      limit: '≤ 20 ms',
      met: Number.isFinite(v) ? v <= 20 : null,
      note: `raw nodejs_eventloop_lag_p99_seconds ${fmt(r.login.lagStormP99RawMs)} ms (includes the 10 ms sampling interval); login p99 ${fmt(r.login.latency.p99, 0)} ms`,
    });
  }
  if (r.locality) {
    const v = r.locality.ratio;
    out.push({
      id: 'locality',
      target: 'room locality: member-less instances, sharded vs classic CPU per message',
      product: round(r.locality.sharded.nonMemberCpuMsPer1k, 2),
      baseline: round(r.locality.classic.nonMemberCpuMsPer1k, 2),
      value: round(v, 3),
      limit: '≤ 0.20×',
      met: Number.isFinite(v) ? v <= 0.2 : null,
      note: 'product columns: sharded / classic CPU-ms per 1000 messages',
    });
  }
  if (r.scale && r.scale.rows.length > 0) {
    const maxOf = (pick: (row: ScaleResult['rows'][number]) => number) =>
      Math.max(...r.scale!.rows.map(pick));
    const sizes = r.scale.rows.map((row) => row.rooms.toLocaleString('en-US')).join(' / ');
    const connect = maxOf((row) => row.connectBytes);
    const creation = maxOf((row) => row.creationBytes);
    const flat = (id: string, target: string, value: number, note: string) =>
      out.push({
        id,
        target,
        product: round(value, 3),
        baseline: undefined,
        value: round(value, 3),
        limit: `≤ ${SCALE_FLAT_RATIO}×`,
        met: Number.isFinite(value) ? value <= SCALE_FLAT_RATIO : null,
        note,
      });
    out.push({
      id: 'scale-connect-bytes',
      target: `connect payload, largest over ${sizes} rooms (bytes)`,
      product: connect,
      baseline: undefined,
      value: connect,
      limit: `≤ ${SCALE_CONNECT_MAX_BYTES} B`,
      met: connect <= SCALE_CONNECT_MAX_BYTES,
    });
    out.push({
      id: 'scale-creation-bytes',
      target: `bytes per socket per room creation, largest over ${sizes} rooms`,
      product: creation,
      baseline: undefined,
      value: creation,
      limit: `≤ ${SCALE_CREATION_MAX_BYTES} B`,
      met: creation <= SCALE_CREATION_MAX_BYTES,
    });
    flat(
      'scale-connect-flat',
      'connect payload, largest / smallest size',
      r.scale.connectRatio,
      `sizes ${sizes} rooms`,
    );
    flat(
      'scale-creation-flat',
      'bytes per socket per creation, largest / smallest size',
      r.scale.creationRatio,
      `sizes ${sizes} rooms`,
    );
    flat(
      'scale-commands-flat',
      'Redis commands per connect, largest / smallest size',
      r.scale.commandsRatio,
      'INFO commandstats over the connects, script inner commands included',
    );
    const conns = r.scale.connections;
    const big = conns.at(-1);
    if (big) {
      const sockets = conns.map((c) => c.sockets.toLocaleString('en-US')).join(' / ');
      vsBaseline(
        'scale-rss-per-conn',
        `RSS per idle connection at ${big.sockets.toLocaleString('en-US')} sockets`,
        big.rssPerConnKb,
        big.baselineRssPerConnKb,
        1.3,
      );
      flat(
        'scale-rss-flat',
        'RSS per idle connection, largest / smallest size',
        r.scale.rssRatio,
        `sockets ${sockets}`,
      );
      flat(
        'scale-idle-cpu-flat',
        'idle CPU per 1000 sockets, largest / smallest size',
        r.scale.idleCpuRatio,
        `sockets ${sockets}; ${conns.map((c) => `${fmt(c.idleCpuMsPerSPer1k, 2)}`).join(' / ')} CPU-ms/s per 1000`,
      );
    }
    const storm = r.scale.storms.at(-1);
    if (storm) {
      out.push({
        id: 'storm-all-back',
        target: `reconnect storm (${storm.sockets.toLocaleString('en-US')} sockets): kill → all back (s)`,
        product: round(storm.allBackMs / 1000, 2),
        baseline: undefined,
        value: round(storm.allBackMs / 1000, 2),
        limit: '≤ 30 s',
        met: Number.isFinite(storm.allBackMs) ? storm.allBackMs <= 30_000 : false,
      });
      out.push({
        id: 'storm-lag',
        target: "reconnect storm: survivors' event-loop lag p99 (ms)",
        product: round(storm.survivorLagP99Ms, 1),
        baseline: undefined,
        value: round(storm.survivorLagP99Ms, 1),
        limit: '≤ 100 ms',
        met: Number.isFinite(storm.survivorLagP99Ms) ? storm.survivorLagP99Ms <= 100 : null,
        note: `raw ${fmt(storm.survivorLagP99RawMs)} ms (includes the 10 ms sampling interval)`,
      });
      out.push({
        id: 'storm-lost',
        target: 'reconnect storm: member deliveries missing after catch-up',
        product: storm.lost,
        baseline: undefined,
        value: storm.lost,
        limit: '0',
        met: Number.isFinite(storm.lost) ? storm.lost === 0 : null,
        note: `${storm.storedDuringStorm} messages stored during the storm; ${storm.notRecovered} rejoins answered recovered: false`,
      });
      out.push({
        id: 'storm-5xx',
        target: 'reconnect storm: 5xx through nginx',
        product: storm.nginx5xx,
        baseline: undefined,
        value: storm.nginx5xx,
        limit: '0',
        met: storm.nginx5xx === 0,
      });
      flat(
        'storm-commands-flat',
        'Redis commands per reconnect, largest / smallest storm',
        r.scale.reconnectCommandsRatio,
        r.scale.storms.map((s) => `${s.sockets}: ${fmt(s.redisCommandsPerReconnect, 1)}`).join(', '),
      );
    }
  }
  if (r.presence) out.push(...presenceTargets(r.presence));
  if (r.spread) out.push(...spreadTargets(r.spread));
  return out;
}

/**
 * The targets with their verdicts. A smoke run's sizes are far too small for a verdict, so there
 * every verdict reads "n/a (smoke)" rather than a "missed" that looks like a failure.
 */
export function targetsTable(list: readonly Target[], opts: { smoke?: boolean } = {}): string {
  const verdict = (t: Target): string =>
    opts.smoke === true ? 'n/a (smoke)' : t.met === null ? 'not measured' : t.met ? '**met**' : '**missed**';
  const rows = list.map((t) => [
    t.target,
    fmt(t.product, 2),
    t.baseline === undefined ? '–' : fmt(t.baseline, 2),
    fmt(t.value, 2),
    t.limit,
    verdict(t),
  ]);
  return [
    '### Targets',
    '',
    table(['target', 'product', 'baseline', 'ratio / value', 'limit', 'verdict'], rows),
    ...list.filter((t) => t.note).map((t) => `- ${t.target}: ${t.note}`),
  ].join('\n');
}
