import type { Message } from '../../src/protocol.js';
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
  /** Distinct messages the sender had acknowledged. */
  acked: number;
  /** Of those, how many the reader holds (live or from a re-join's catch-up). */
  read: number;
  missing: number;
  /** chat-message events for a seq the reader already had live. */
  liveDuplicates: number;
  readerReconnects: number;
}

interface Run {
  room: string;
  sender: ChatClient;
  reader: ChatClient;
  sentAt: Map<string, number>;
  live: { at: number; sentAt: number }[];
  retried: Set<number>;
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
      const run: Run = { room, sender, reader, sentAt: new Map(), live: [], retried: new Set() };
      runs.push(run);
      const created = await sender.emit('create-room', room);
      if (!created.success && created.code !== 'room_exists') throw new Error(`create-room: ${created.code}`);
      await sender.join(room);
      await reader.join(room);
      reader.socket.on('chat-message', (m: Message) => {
        const sentAt = m.clientId ? run.sentAt.get(m.clientId) : undefined;
        if (sentAt !== undefined) run.live.push({ at: Date.now(), sentAt });
      });
    }

    let sending = true;
    const loops = runs.map(async (run, r) => {
      for (let n = 0; sending; n++) {
        const text = `r${r} m${n}`;
        const started = Date.now();
        // send() keeps an unacked message pending.
        const done = run.sender.send(text);
        const clientId = [...run.sender.pending].find(([, t]) => t === text)?.[0];
        if (clientId) run.sentAt.set(clientId, started);
        await done;
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
        for (const r of runs) {
          for (const [clientId, text] of [...r.sender.pending]) {
            const ack = await r.sender.emit('message', { text, clientId }).catch(() => undefined);
            if (ack?.success) {
              r.retried.add((ack.message as Message).seq);
              r.sender.pending.delete(clientId);
            }
          }
        }
        return runs.every((r) => r.sender.pending.size === 0);
      },
      'every send acked',
      20_000,
    );
    const acked = (r: Run) => [...new Set([...r.sender.seen.keys(), ...r.retried])];
    // The last acked messages may still be on their way to the reader: a moment, not a failure.
    await eventually(
      () => runs.every((r) => acked(r).every((seq) => r.reader.seen.has(seq))),
      'readers hold every acked message',
      3_000,
    ).catch(() => undefined);
    return runs.map((r) => {
      const all = acked(r);
      const missing = all.filter((seq) => !r.reader.seen.has(seq)).length;
      return {
        room: r.room,
        disruptMs: disruptedAt - startedAt,
        resumeMs: (resumedAt(r) ?? 0) - disruptedAt,
        acked: all.length,
        read: all.length - missing,
        missing,
        liveDuplicates: r.reader.liveDuplicates,
        readerReconnects: r.reader.reconnects,
      };
    });
  } finally {
    for (const r of runs) {
      r.sender.close();
      r.reader.close();
    }
  }
}
