/** Messages between the bench orchestrator (bench/run.ts) and its load-generator workers (bench/worker.ts). */

export type ServerKind = 'product' | 'baseline';

/** One Socket.IO client a worker opens. */
export interface ClientSpec {
  /** Unique over the run: names the clientIds it sends. */
  id: number;
  /** Instance base URL, e.g. http://127.0.0.1:4321. */
  url: string;
  /** Index of that instance in its cluster (encoded in every message, to tell cross-instance deliveries). */
  instance: number;
  /** Product: the `chat.sid=…` cookie of a signed-in session. */
  cookie?: string;
  /** Baseline: the name it relays as sender (handshake auth). */
  username: string;
  /** Room joined right after connecting (none: an idle connection). */
  room?: string;
  /** Takes part in sending load. */
  sender: boolean;
  /** Which cluster it belongs to (several may be up at once): steps address one group. */
  group: string;
  /**
   * Reconnect after losing the connection, with socket.io-client's default backoff (1 s to 5 s,
   * randomizationFactor 0.5: the browser client's settings). Default: no reconnection.
   */
  reconnect?: boolean;
}

export type Command =
  | { type: 'connect'; clients: ClientSpec[]; concurrency: number; timeoutMs: number }
  | {
      type: 'step';
      group: string;
      step: number;
      ratePerS: number;
      durationMs: number;
      textChars: number;
      /** Ask for an ack per message (false: emit without one). */
      acks: boolean;
    }
  | { type: 'stop' }
  | { type: 'progress'; step: number }
  | { type: 'collect'; step: number }
  | { type: 'fill'; rooms: string[]; perRoom: number; textChars: number; timeoutMs: number }
  | {
      type: 'joins';
      ids: number[];
      rooms: string[];
      rounds: number;
      timeoutMs: number;
      expectHistory: boolean;
    }
  | { type: 'status'; group: string }
  /** Reconnecting room members: how many of these seqs (room → seqs) they do not hold. */
  | { type: 'missing'; group: string; expected: Record<string, number[]> }
  | { type: 'disconnect' };

export interface Request {
  reqId: number;
  command: Command;
}

export type Reply =
  { reqId: number; ok: true; result: unknown } | { reqId: number; ok: false; error: string };

export interface ConnectResult {
  connected: number;
  failed: number;
  /** First few connect/join errors. */
  errors: string[];
  /** From the first connect attempt to the last socket connected (and joined), ms. */
  elapsedMs: number;
}

export interface StepSent {
  sent: number;
  /** Wall time the sending took (longer than asked when the worker could not keep up). */
  sendMs: number;
}

export interface StepProgress {
  sent: number;
  acked: number;
  ackErrors: number;
  received: number;
}

export interface StepStats extends StepProgress {
  /** Ack error codes and their counts. */
  errorCodes: Record<string, number>;
  /** Send → receipt on a client of another instance, ms. */
  crossLatencies: Float64Array;
  /** Send → receipt on a client of the sender's instance, ms. */
  localLatencies: Float64Array;
  /** Send → ack, ms. */
  ackLatencies: Float64Array;
  /** Sockets that disconnected since connecting. */
  disconnects: number;
}

/** A group's sockets now (reconnect storm). */
export interface GroupStatus {
  total: number;
  connected: number;
  /** Successful reconnections since the sockets first connected. */
  reconnects: number;
  /** Failed connection attempts, and those answered with an HTTP 5xx (by the message). */
  connectErrors: number;
  http5xx: number;
  /** First few error messages. */
  errors: string[];
  /** Epoch ms of the last (re)connect in the group. */
  lastConnectAt: number;
  /** Rejoins answered `recovered: false` (more stored meanwhile than the room keeps). */
  notRecovered: number;
}

export interface JoinStats {
  joins: number;
  failures: number;
  errors: string[];
  /** join-room emitted → previous-messages received, ms (product). */
  toHistory: Float64Array;
  /** join-room emitted → ack received, ms. */
  toAck: Float64Array;
  /** Messages in each previous-messages. */
  historySizes: Float64Array;
}

/** Message text: `<step>|<sender instance>|<send time ms>|<padding>`; the receiver's clock gives the latency. */
export function messageText(step: number, instance: number, sentAt: number, chars: number): string {
  const head = `${step}|${instance}|${sentAt.toFixed(3)}|`;
  return head.length >= chars ? head : head + PADDING.slice(0, chars - head.length);
}

const PADDING = 'the quick brown fox jumps over the lazy dog, '.repeat(50);

export function parseMessageText(
  text: string,
): { step: number; instance: number; sentAt: number } | undefined {
  const a = text.indexOf('|');
  const b = text.indexOf('|', a + 1);
  const c = text.indexOf('|', b + 1);
  if (a < 0 || b < 0 || c < 0) return undefined;
  const step = Number(text.slice(0, a));
  const instance = Number(text.slice(a + 1, b));
  const sentAt = Number(text.slice(b + 1, c));
  if (!Number.isFinite(step) || !Number.isFinite(instance) || !Number.isFinite(sentAt)) return undefined;
  return { step, instance, sentAt };
}

/** Epoch milliseconds with sub-ms resolution, comparable between processes on one machine. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
