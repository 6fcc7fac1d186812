import { randomUUID } from 'node:crypto';
import type { Socket } from 'socket.io-client';
import type { Message } from '../limits.js';
import { isRecord } from '../oracles/ack.js';
import { preview } from '../wire.js';
import { connect } from '../../helpers/socket.js';

/**
 * Two users on different instances who chat in one room through the whole fuzz run: every message
 * acked, received by the other exactly once, no seq missed, no disconnect.
 */

export interface Bystander {
  name: string;
  socket: Socket;
  sent: Map<string, number>; // clientId -> seq
  received: Map<string, number>; // clientId -> times received from the other bystander
  seqs: number[]; // every seq seen in the room: own acks and live messages
  failedSends: string[];
  disconnects: string[];
  maxAckMs: number;
}

export async function startBystander(
  name: string,
  url: string,
  cookie: string,
  room: string,
  from?: string,
): Promise<Bystander> {
  const socket = await connect(url, cookie, { from });
  const b: Bystander = {
    name,
    socket,
    sent: new Map(),
    received: new Map(),
    seqs: [],
    failedSends: [],
    disconnects: [],
    maxAckMs: 0,
  };
  socket.on('chat-message', (m: Message) => {
    b.seqs.push(m.seq);
    if (m.text.startsWith('bystander ') && m.clientId !== undefined)
      b.received.set(m.clientId, (b.received.get(m.clientId) ?? 0) + 1);
  });
  socket.on('disconnect', (reason: string) => {
    if (reason !== 'io client disconnect') b.disconnects.push(reason);
  });
  const joined: unknown = await socket.timeout(5000).emitWithAck('join-room', room);
  if (!isRecord(joined) || joined.success !== true)
    throw new Error(`bystander ${name} could not join: ${preview(joined)}`);
  return b;
}

async function send(b: Bystander, k: number): Promise<void> {
  const clientId = randomUUID();
  const started = Date.now();
  try {
    const a: unknown = await b.socket
      .timeout(5000)
      .emitWithAck('message', { text: `bystander ${b.name} #${k}`, clientId });
    const m = isRecord(a) ? a.message : undefined;
    if (!isRecord(a) || a.success !== true || !isRecord(m) || typeof m.seq !== 'number') {
      b.failedSends.push(`#${k}: ${preview(a)}`);
      return;
    }
    b.maxAckMs = Math.max(b.maxAckMs, Date.now() - started);
    b.sent.set(clientId, m.seq);
    b.seqs.push(m.seq);
  } catch (err) {
    b.failedSends.push(`#${k}: ${String(err)}`);
  }
}

/** Both chat every `intervalMs` (a pace, not a wait for a condition) until the returned stop() is called. */
export function chat(a: Bystander, b: Bystander, intervalMs: number): () => Promise<void> {
  let chatting = true;
  const loop = (async () => {
    for (let round = 1; chatting; round++) {
      await Promise.all([send(a, round), send(b, round), new Promise((r) => setTimeout(r, intervalMs))]);
    }
  })();
  return async () => {
    chatting = false;
    await loop;
  };
}

/** Whether each one's messages reached the other (poll this before judging). */
export const allDelivered = (a: Bystander, b: Bystander): boolean =>
  [...a.sent.keys()].every((id) => b.received.get(id) === 1) &&
  [...b.sent.keys()].every((id) => a.received.get(id) === 1);

/** What went wrong for the bystanders: failed sends, disconnects, messages lost or doubled, seq gaps. */
export function bystanderProblems(a: Bystander, b: Bystander): string[] {
  const problems: string[] = [];
  for (const [from, to] of [
    [a, b],
    [b, a],
  ] as const) {
    if (from.failedSends.length > 0)
      problems.push(`${from.name}'s failed sends: ${from.failedSends.slice(0, 5).join(', ')}`);
    if (from.disconnects.length > 0)
      problems.push(`${from.name} was disconnected: ${from.disconnects.join(', ')}`);
    const missing = [...from.sent.keys()].filter((id) => to.received.get(id) !== 1).length;
    if (missing > 0)
      problems.push(`${missing} of ${from.name}'s messages not received exactly once by ${to.name}`);
    const extra = [...to.received.keys()].filter((id) => !from.sent.has(id)).length;
    if (extra > 0) problems.push(`${to.name} got ${extra} bystander messages ${from.name} never sent`);
  }
  for (const x of [a, b]) {
    const sorted = [...x.seqs].sort((p, q) => p - q);
    if (sorted.some((s, i) => i > 0 && s === sorted[i - 1])) problems.push(`${x.name} saw a seq twice`);
    const first = sorted[0] ?? 0;
    if (sorted.some((s, i) => s !== first + i)) problems.push(`${x.name} missed room messages (seq gaps)`);
  }
  return problems;
}
