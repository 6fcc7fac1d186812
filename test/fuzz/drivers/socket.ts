import type fc from 'fast-check';
import type { Socket } from 'socket.io-client';
import type { RawFrames } from '../arbitraries/raw-packets.js';
import { rawPacket } from '../arbitraries/raw-packets.js';
import { socketCase, type SocketCase, type SocketContext } from '../arbitraries/socket-events.js';
import { Tally } from '../figures.js';
import { checkAck } from '../oracles/ack.js';
import { checkProperty, holds, type FuzzEnv, type PropertyOutcome } from '../runner.js';
import { preview, sizeClass } from '../wire.js';
import { refusedByClient, whenClosed, type FuzzConnection } from './connection.js';

/**
 * Socket properties, one fast-check run per case on one worker's connection:
 * - events: every case is answered per the protocol (checkAck); a packet within the size limit never
 *   costs the connection, one over it always does; a case sent without an ack leaves the
 *   connection serving (a `who` probe answers).
 * - raw: after any malformed packet the connection is closed, or serving, or (only for a packet that
 *   ended the namespace socket) silent; acks the server sends to raw packets are well formed.
 */

const ACK_TIMEOUT_MS = 5000;
const PROBE_TIMEOUT_MS = 1500;

type Outcome = { answer: unknown } | 'closed' | 'refused' | 'no-ack';

async function emitAcked(socket: Socket, c: SocketCase, closed: Promise<'closed'>): Promise<Outcome> {
  const answer = socket
    .timeout(ACK_TIMEOUT_MS)
    .emitWithAck(c.event, ...c.args)
    .then(
      (a: unknown) => ({ answer: a }),
      (err: unknown) => (refusedByClient(err) ? ('refused' as const) : ('no-ack' as const)),
    );
  const outcome = await Promise.race([answer, closed]);
  return outcome !== 'closed' && !socket.connected ? 'closed' : outcome;
}

/** One event case on `conn`: returns the problems found (empty when the case holds). */
async function fireCase(conn: FuzzConnection, c: SocketCase, tally: Tally): Promise<string[]> {
  const socket = await conn.ensure(tally);
  if (socket === undefined) return [];
  const size = sizeClass(c.event, c.args, conn.plan.polling);
  const closed = whenClosed(socket);
  if (c.mode === 'ack') {
    const outcome = await emitAcked(socket, c, closed);
    if (outcome === 'refused') {
      tally.add('refused by the client library');
      return [];
    }
    tally.add('payloads');
    if (outcome === 'closed') {
      if (size === 'fits') return ['the server closed the socket for a packet within the limit'];
      tally.add('over-limit packets closed their socket');
      return [];
    }
    if (outcome === 'no-ack') return ['no ack'];
    tally.add('acks');
    if (size === 'over') return ['the server accepted a packet over maxHttpBufferSize'];
    const verdict = checkAck(conn.plan.username, c, outcome.answer);
    tally.add(`code:${verdict.code}`);
    return verdict.problems;
  }
  try {
    socket.emit(c.event, ...c.args);
  } catch {
    tally.add('refused by the client library');
    return [];
  }
  tally.add('payloads');
  tally.add('sent without an ack');
  // The connection must go on serving (or, over the limit, be closed): a probe tells which.
  const probe = await emitAcked(socket, { event: 'who', args: [], mode: 'ack' }, closed);
  if (probe === 'closed') {
    if (size === 'fits') return ['the server closed the socket after a packet within the limit'];
    tally.add('over-limit packets closed their socket');
    return [];
  }
  if (size === 'over') return ['the server kept a socket that sent a packet over the limit'];
  if (probe === 'no-ack' || probe === 'refused') return ['the connection stopped answering'];
  return checkAck(conn.plan.username, { event: 'who', args: [], mode: 'ack' }, probe.answer).problems;
}

export interface SocketFuzzOptions {
  env: FuzzEnv;
  /** Property name prefix: `socket` (workers `socket/0`…). */
  name: string;
  connections: readonly FuzzConnection[];
  ctx: SocketContext;
  /** Runs in all, split over the connections. */
  runs: number;
}

/**
 * One property per connection, side by side (`<name>/<k>`), the runs split over them: each worker's
 * cases run on its own connection, so a case that costs one connection costs no other case.
 */
async function perConnection<T>(
  o: SocketFuzzOptions,
  arb: fc.Arbitrary<T>,
  fire: (conn: FuzzConnection, value: T, tally: Tally) => Promise<string[]>,
  where: (conn: FuzzConnection, value: T) => string,
): Promise<{ outcomes: PropertyOutcome[]; tally: Tally }> {
  const tallies = o.connections.map(() => new Tally());
  const outcomes = await Promise.all(
    o.connections.map((conn, k) => {
      const tally = tallies[k] ?? new Tally();
      return checkProperty(
        o.env,
        `${o.name}/${k}`,
        arb,
        async (v) => holds(await fire(conn, v, tally), where(conn, v)),
        { numRuns: Math.ceil(o.runs / o.connections.length) },
      );
    }),
  );
  return { outcomes, tally: Tally.merge(tallies) };
}

/** The event property on every connection side by side; each worker is its own property. */
export function socketEventsProperty(
  o: SocketFuzzOptions,
): Promise<{ outcomes: PropertyOutcome[]; tally: Tally }> {
  return perConnection(
    o,
    socketCase(o.ctx),
    fireCase,
    (conn, c) => `${conn.plan.label} ${c.event} (${c.mode})`,
  );
}

/** One raw case on `conn`. */
async function fireRaw(conn: FuzzConnection, frames: RawFrames, tally: Tally): Promise<string[]> {
  const socket = await conn.ensure(tally);
  if (socket === undefined) return [];
  const problems: string[] = [];
  const closed = whenClosed(socket);
  // Acks the server sends for raw packets that carry an id must be well formed too.
  const onPacket = (p: { type: string; data?: unknown }) => {
    const m = p.type === 'message' && typeof p.data === 'string' ? /^3(\d+)(\[.*)$/s.exec(p.data) : null;
    if (m === null) return;
    tally.add('acks to raw packets');
    let body: unknown;
    try {
      body = JSON.parse(m[2] ?? '') as unknown;
    } catch {
      body = undefined;
    }
    const verdict = checkAck(
      conn.plan.username,
      { event: 'raw', args: [], mode: 'ack' },
      Array.isArray(body) ? body[0] : body,
      true,
    );
    problems.push(...verdict.problems);
  };
  socket.io.engine.on('packet', onPacket);
  for (const frame of frames) socket.io.engine.send(frame);
  tally.add('payloads');
  tally.add('raw');
  // Closed, or still serving: a probe tells which (the server answers in order).
  const probe = await Promise.race([
    socket
      .timeout(PROBE_TIMEOUT_MS)
      .emitWithAck('who')
      .then(
        (a: unknown) => ({ answer: a }),
        () => 'silent' as const,
      ),
    closed,
  ]);
  socket.io.engine.off('packet', onPacket);
  if (probe === 'closed' || !socket.connected) tally.add('raw packets that closed the connection');
  else if (probe === 'silent') {
    // Only a packet that ended the namespace socket (a DISCONNECT, a CONNECT that replaced it) may do this.
    const first = frames[0];
    tally.add(
      `raw packets that left it silent (${typeof first === 'string' ? preview(first.slice(0, 12)) : 'binary'})`,
    );
    conn.drop();
  } else {
    tally.add('raw packets that left it serving');
    // Shape only: a raw packet with an ack id may share the probe's id, so the probe can resolve with its answer.
    const verdict = checkAck(conn.plan.username, { event: 'who', args: [], mode: 'ack' }, probe.answer, true);
    problems.push(...verdict.problems.map((p) => `probe after it: ${p}`));
  }
  return problems;
}

/** The raw-packet property on each lane connection side by side. */
export function rawPacketsProperty(
  o: SocketFuzzOptions,
): Promise<{ outcomes: PropertyOutcome[]; tally: Tally }> {
  return perConnection(
    o,
    rawPacket,
    fireRaw,
    (conn, frames) => `${conn.plan.label} raw ${preview(frames, 120)}`,
  );
}
