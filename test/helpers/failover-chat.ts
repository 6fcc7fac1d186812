import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import type { Message } from '../../src/protocol.js';
import { buildCluster, type Cluster } from '../../tools/cluster/builder.js';
import type { RedisDeployment, RedisStarter } from '../../tools/cluster/redis.js';
import { ChatClient } from './chat-client.js';
import { eventually } from './poll.js';

/**
 * Steady chat through `url` while `disrupt` runs (a Redis node killed, a failover), measured per
 * room: a sender and a reader per room, one message every `everyMs`. After the disruption, waits
 * until every room's reader again gets live messages within a second of their sending, chats 2 s
 * more, then re-sends every refused message with its clientId (stored once) and counts.
 */

export interface RoomFigures {
  room: string;
  /** ms the disruption took (the kill, or the failover until the new primary answers). */
  disruptMs: number;
  /** ms from the disruption's end until live chat resumed in the room. */
  resumeMs: number;
  /** Distinct messages (ids) the sender had acknowledged. */
  acked: number;
  /** Of those, how many the reader received (live or in a re-join's catch-up). */
  read: number;
  missing: number;
  /** Acked messages no longer in the room's history at the end (a fresh join's page). */
  lostFromHistory: number;
  /** chat-message events for a seq the reader already had live. */
  liveDuplicates: number;
  /** Of those, how many carried another message (another id) under the same seq: a seq reused. */
  seqReused: number;
  readerReconnects: number;
}

interface Run {
  room: string;
  sender: ChatClient;
  reader: ChatClient;
  sentAt: Map<string, number>;
  live: { at: number; sentAt: number }[];
  idBySeq: Map<number, string>;
  seqReused: number;
  /** clientId → text of sends not acknowledged yet. */
  pending: Map<string, string>;
  ackedIds: Set<string>;
  ackSeq: Map<string, number>;
  readIds: Set<string>;
}

/** One send with its clientId; on an ack the message counts as acked and leaves `pending`. */
/**
 * The instances' settings for a Redis failover test: limits off (steady ~10 msg/s per room), a
 * command deadline short enough that a failover answers `unavailable` instead of hanging.
 */
export function failoverEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    SESSION_SECRET: randomBytes(32).toString('hex'),
    RATE_LIMITS: 'off',
    LOG_LEVEL: 'warn',
    TRUST_PROXY: 'loopback',
    REDIS_COMMAND_TIMEOUT_MS: '2000',
    ...extra,
  };
}

/**
 * The suite's cluster for a Redis failover test: 3 instances behind nginx on the topology `redis`
 * starts, with failoverEnv(`extra`), built before the suite's tests (120 s allowed) and SIGKILLed
 * after. Returns a view whose `cluster` and `redis` (as the topology's deployment type) are set
 * once the suite runs.
 */
export function useFailoverCluster<D extends RedisDeployment>(
  tag: string,
  redis: RedisStarter,
  extra: Record<string, string> = {},
): { readonly cluster: Cluster; readonly redis: D } {
  let dir: string | undefined;
  let cluster: Cluster | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), `chat-${tag}-`));
    cluster = await buildCluster({ dir, instances: 3, redis, nginx: {}, env: () => failoverEnv(extra) });
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop({ instanceSignal: 'SIGKILL' });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const started = (): Cluster => {
    if (!cluster) throw new Error('the failover cluster is not started yet');
    return cluster;
  };
  return {
    get cluster() {
      return started();
    },
    get redis() {
      return started().redis as D;
    },
  };
}

/**
 * Prints a failover's figures under `label` (e.g. `redis cluster: master :7001 SIGKILL`) and holds
 * every room to the promise: every acked message read, none twice, none lost from history, no seq
 * handed out twice, and enough chat (more than 20 acked) for that to mean something.
 */
export function expectNothingLost(label: string, figures: readonly RoomFigures[]): void {
  process.stderr.write(`[${label}] ${JSON.stringify(figures)}\n`);
  for (const f of figures) {
    expect(f.missing).toBe(0);
    expect(f.liveDuplicates).toBe(0);
    expect(f.lostFromHistory).toBe(0);
    expect(f.seqReused).toBe(0);
    expect(f.acked).toBeGreaterThan(20);
  }
}

async function trySend(run: Run, clientId: string, text: string): Promise<void> {
  const ack = await run.sender.emit('message', { text, clientId }).catch(() => undefined);
  if (!ack?.success) return;
  const m = ack.message as Message;
  run.ackedIds.add(m.id);
  run.ackSeq.set(m.id, m.seq);
  run.pending.delete(clientId);
}

export async function chatThrough(
  url: string,
  rooms: readonly string[],
  disrupt: () => Promise<void>,
  opts: { everyMs?: number; resumeTimeoutMs?: number } = {},
): Promise<RoomFigures[]> {
  const everyMs = opts.everyMs ?? 100;
  const runs: Run[] = [];
  try {
    for (const room of rooms) {
      const sender = await ChatClient.create(url);
      const reader = await ChatClient.create(url);
      const run: Run = {
        room,
        sender,
        reader,
        sentAt: new Map(),
        live: [],
        idBySeq: new Map(),
        seqReused: 0,
        pending: new Map(),
        ackedIds: new Set(),
        ackSeq: new Map(),
        readIds: new Set(),
      };
      runs.push(run);
      const created = await sender.emit('create-room', room);
      if (!created.success && created.code !== 'room_exists') throw new Error(`create-room: ${created.code}`);
      await sender.join(room);
      await reader.join(room);
      reader.socket.on('previous-messages', (ms: Message[]) => {
        for (const m of ms) run.readIds.add(m.id);
      });
      reader.socket.on('chat-message', (m: Message) => {
        const known = run.idBySeq.get(m.seq);
        if (known !== undefined && known !== m.id) run.seqReused++;
        run.idBySeq.set(m.seq, m.id);
        run.readIds.add(m.id);
        const sentAt = m.clientId ? run.sentAt.get(m.clientId) : undefined;
        if (sentAt !== undefined) run.live.push({ at: Date.now(), sentAt });
      });
    }

    let sending = true;
    const loops = runs.map(async (run, r) => {
      for (let n = 0; sending; n++) {
        const text = `r${r} m${n}`;
        const started = Date.now();
        const clientId = randomUUID();
        run.sentAt.set(clientId, started);
        run.pending.set(clientId, text);
        await trySend(run, clientId, text);
        const wait = everyMs - (Date.now() - started);
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
    });

    await eventually(() => runs.every((r) => r.live.length >= 10), 'steady live chat in every room', 15_000);
    const startedAt = Date.now();
    await disrupt();
    const disruptedAt = Date.now();
    const resumedAt = (run: Run) =>
      run.live.find((l) => l.sentAt >= disruptedAt && l.at - l.sentAt < 1000)?.at;
    await eventually(
      () => runs.every((r) => resumedAt(r) !== undefined),
      'live chat resumed in every room',
      opts.resumeTimeoutMs ?? 45_000,
    );
    // A little more steady chat after the recovery, then stop.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    sending = false;
    await Promise.all(loops);

    // Sends refused during the disruption stay pending: send them again with their clientId (one
    // stored after all is acked as the stored message, not stored twice).
    await eventually(
      async () => {
        for (const r of runs) for (const [clientId, text] of [...r.pending]) await trySend(r, clientId, text);
        return runs.every((r) => r.pending.size === 0);
      },
      'every send acked',
      20_000,
    );
    const acked = (r: Run) => [...r.ackedIds];
    // The last acked messages may still be on their way to the reader: a moment, not a failure.
    await eventually(
      () => runs.every((r) => acked(r).every((id) => r.readIds.has(id))),
      'readers hold every acked message',
      3_000,
    ).catch(() => undefined);
    const figures: RoomFigures[] = [];
    for (const r of runs) {
      const all = acked(r);
      const missing = all.filter((id) => !r.readIds.has(id)).length;
      // What the room's history holds now: a fresh member's catch-up from seq 0 (or newest page).
      const late = await ChatClient.create(url);
      const page = new Promise<Message[]>((resolve) => late.socket.once('previous-messages', resolve));
      const join = await late.emit('join-room', { room: r.room, since: 0 });
      const history = join.success ? await page : [];
      late.close();
      const kept = new Set(history.map((m) => m.id));
      const oldest = Math.min(...history.map((m) => m.seq));
      figures.push({
        room: r.room,
        disruptMs: disruptedAt - startedAt,
        resumeMs: (resumedAt(r) ?? 0) - disruptedAt,
        acked: all.length,
        read: all.length - missing,
        missing,
        // Only messages the page could hold: acked after its oldest seq.
        lostFromHistory: all.filter((id) => !kept.has(id) && (r.ackSeq.get(id) ?? 0) > oldest).length,
        liveDuplicates: r.reader.liveDuplicates,
        seqReused: r.seqReused,
        readerReconnects: r.reader.reconnects,
      });
    }
    return figures;
  } finally {
    for (const r of runs) {
      r.sender.close();
      r.reader.close();
    }
  }
}
