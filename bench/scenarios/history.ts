import { createRooms, registerAll } from '../lib/http.js';
import { connectClients, sleep, userNames, withCluster, type Ctx } from '../lib/context.js';
import type { ClientSpec, JoinStats, ServerKind } from '../lib/protocol.js';
import { summarize, type Summary } from '../lib/stats.js';

/**
 * Scenario 5, join with history: rooms hold a full history (HISTORY_SIZE = 100 messages, written
 * through the product); joiners hop from room to room, all at once. Product: join-room emitted →
 * previous-messages received. The baseline has no history: its join → ack is shown as the floor
 * of a join round trip, for reference (no target).
 */

const HISTORY_SIZE = 100;
const HISTORY_TEXT_CHARS = 200;

export interface HistoryRun {
  kind: ServerKind;
  joins: number;
  failures: number;
  errors: string[];
  toHistory: Summary;
  toAck: Summary;
  /** Smallest previous-messages seen (should be HISTORY_ON_JOIN, 50). */
  minHistorySize: number;
}

export interface HistoryResult {
  rooms: number;
  joiners: number;
  rounds: number;
  product: HistoryRun;
  baseline: HistoryRun;
}

async function run(
  ctx: Ctx,
  kind: ServerKind,
  rooms: number,
  joiners: number,
  rounds: number,
): Promise<HistoryRun> {
  const instances = 3;
  return withCluster(
    ctx,
    { kind, label: `history-${kind}`, instances, env: { BCRYPT_ROUNDS: '10' } },
    async (cluster) => {
      const roomNames = Array.from({ length: rooms }, (_, r) => `history-${r}`);
      const names = userNames('hist', rooms + joiners);
      const cookies = kind === 'product' ? await registerAll(cluster.urls, names, 8) : [];
      if (kind === 'product') await createRooms(cluster.urls[0] ?? '', cookies[0] ?? '', roomNames);
      // The first `rooms` clients fill one room each; the rest join around.
      const specs: ClientSpec[] = names.map((username, g) => ({
        id: g,
        url: cluster.urls[g % instances] ?? '',
        instance: g % instances,
        cookie: cookies[g],
        username,
        room: g < rooms ? roomNames[g] : undefined,
        sender: false,
        group: cluster.label,
      }));
      const connected = await connectClients(ctx, specs, 20);
      if (connected.failed > 0) throw new Error(`clients failed to connect: ${connected.errors.join('; ')}`);
      const size = ctx.pool.size;
      if (kind === 'product') {
        const filled = await ctx.pool.all<{ sent: number; failed: number }>(
          (w) => ({
            type: 'fill',
            rooms: roomNames.filter((_, g) => g % size === w),
            perRoom: HISTORY_SIZE,
            textChars: HISTORY_TEXT_CHARS,
            timeoutMs: 20_000,
          }),
          120_000,
        );
        const failed = filled.reduce((s, f) => s + f.failed, 0);
        if (failed > 0) throw new Error(`${failed} history messages were refused`);
      }
      await sleep(ctx.smoke ? 200 : 1000);
      const joinerIds = specs.filter((s) => s.room === undefined).map((s) => s.id);
      const stats = await ctx.pool.all<JoinStats>(
        () => ({
          type: 'joins',
          ids: joinerIds,
          rooms: roomNames,
          rounds,
          timeoutMs: 20_000,
          expectHistory: kind === 'product',
        }),
        300_000,
      );
      const cat = (pick: (s: JoinStats) => Float64Array) => stats.flatMap((s) => [...pick(s)]);
      const sizes = cat((s) => s.historySizes);
      const result: HistoryRun = {
        kind,
        joins: stats.reduce((n, s) => n + s.joins, 0),
        failures: stats.reduce((n, s) => n + s.failures, 0),
        errors: stats.flatMap((s) => s.errors).slice(0, 5),
        toHistory: summarize(cat((s) => s.toHistory)),
        toAck: summarize(cat((s) => s.toAck)),
        minHistorySize: sizes.length > 0 ? Math.min(...sizes) : 0,
      };
      ctx.log(
        `    ${kind}: ${result.joins} joins (${result.failures} failed), join → previous-messages p99 ${kind === 'product' ? `${result.toHistory.p99.toFixed(1)} ms` : 'n/a'}, join → ack p99 ${result.toAck.p99.toFixed(1)} ms`,
      );
      return result;
    },
  );
}

export async function history(ctx: Ctx): Promise<HistoryResult> {
  const rooms = ctx.smoke ? 2 : 10;
  const joiners = ctx.smoke ? 1 : 20;
  const rounds = ctx.smoke ? 2 : 10;
  const product = await run(ctx, 'product', rooms, joiners, rounds);
  const baseline = await run(ctx, 'baseline', rooms, joiners, rounds);
  return { rooms, joiners, rounds, product, baseline };
}
