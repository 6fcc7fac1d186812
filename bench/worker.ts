/**
 * Load generator child process of `npm run bench` (forked by bench/lib/workers.ts with an IPC
 * channel). Holds Socket.IO clients, sends the offered load, and measures what it receives: every
 * message carries its send time, so latency is the receiver's clock minus it (same machine).
 * Exits when the orchestrator goes away.
 */
import { io, type Socket } from 'socket.io-client';
import { setTimeout as sleep } from 'node:timers/promises';
import pLimit from 'p-limit';
import {
  messageText,
  nowMs,
  parseMessageText,
  type ClientSpec,
  type Command,
  type ConnectResult,
  type GroupStatus,
  type JoinStats,
  type Reply,
  type Request,
  type StepProgress,
  type StepSent,
  type StepStats,
} from './lib/protocol.js';

interface Client {
  spec: ClientSpec;
  socket: Socket;
  sent: number;
  /** Reconnecting clients in a room: every seq received (live or in previous-messages), for catch-up checks. */
  seqs?: Set<number>;
}

/** A reconnecting room member's view: the highest seq held and its epoch (rejoined with them). */
interface View {
  seqs: Set<number>;
  last: number;
  epoch: string | undefined;
}

function seqOf(m: unknown): { seq: number; epoch: string | undefined } | undefined {
  if (typeof m !== 'object' || m === null) return undefined;
  const { seq, epoch } = m as { seq?: unknown; epoch?: unknown };
  return typeof seq === 'number' ? { seq, epoch: typeof epoch === 'string' ? epoch : undefined } : undefined;
}

function hold(view: View, m: unknown): void {
  const s = seqOf(m);
  if (!s) return;
  view.seqs.add(s.seq);
  if (s.seq > view.last) view.last = s.seq;
  if (s.epoch) view.epoch = s.epoch;
}

const views = new WeakMap<Socket, View>();

/** Per group: reconnect storm figures (reconnecting clients only). */
const storm = new Map<string, Omit<GroupStatus, 'total' | 'connected'>>();
function stormOf(group: string): Omit<GroupStatus, 'total' | 'connected'> {
  let s = storm.get(group);
  if (!s) {
    s = { reconnects: 0, connectErrors: 0, http5xx: 0, errors: [], lastConnectAt: 0, notRecovered: 0 };
    storm.set(group, s);
  }
  return s;
}

interface Tally {
  sent: number;
  acked: number;
  ackErrors: number;
  received: number;
  errorCodes: Record<string, number>;
  cross: number[];
  local: number[];
  ack: number[];
}

const clients: Client[] = [];
const tallies = new Map<number, Tally>();
let disconnects = 0;
let closing = false;
/** Set by a 'stop' command: the running step ends early. */
let stopRequested = false;

function tally(step: number): Tally {
  let t = tallies.get(step);
  if (!t) {
    t = { sent: 0, acked: 0, ackErrors: 0, received: 0, errorCodes: {}, cross: [], local: [], ack: [] };
    tallies.set(step, t);
  }
  return t;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function ackSucceeded(ack: unknown): boolean {
  return typeof ack === 'object' && ack !== null && (ack as { success?: unknown }).success === true;
}

function ackCode(ack: unknown): string {
  if (typeof ack !== 'object' || ack === null) return 'no_body';
  const code = (ack as { code?: unknown }).code;
  return typeof code === 'string' ? code : 'unknown';
}

function open(spec: ClientSpec, timeoutMs: number): Promise<Socket> {
  const socket = io(spec.url, {
    transports: ['websocket'],
    reconnection: spec.reconnect === true,
    forceNew: true,
    timeout: timeoutMs,
    extraHeaders: spec.cookie ? { cookie: spec.cookie } : {},
    auth: { username: spec.username },
  });
  socket.on('chat-message', (message: unknown) => {
    const at = nowMs();
    const text =
      typeof message === 'object' && message !== null ? (message as { text?: unknown }).text : undefined;
    if (typeof text !== 'string') return;
    const meta = parseMessageText(text);
    if (!meta || meta.step < 0) return;
    const t = tally(meta.step);
    t.received++;
    (meta.instance === spec.instance ? t.local : t.cross).push(at - meta.sentAt);
  });
  socket.on('disconnect', () => {
    if (!closing) disconnects++;
  });
  if (spec.reconnect === true) {
    const s = stormOf(spec.group);
    let first = true;
    // Like the browser client: a room member rejoins with the last seq it holds (catch-up).
    const view: View | undefined =
      spec.room === undefined ? undefined : { seqs: new Set(), last: 0, epoch: undefined };
    if (view) {
      views.set(socket, view);
      socket.on('chat-message', (m: unknown) => hold(view, m));
      socket.on('previous-messages', (list: unknown) => {
        if (Array.isArray(list)) for (const m of list) hold(view, m);
      });
    }
    socket.on('connect', () => {
      s.lastConnectAt = nowMs();
      if (!first) {
        s.reconnects++;
        if (view && spec.room !== undefined)
          socket.emit(
            'join-room',
            {
              room: spec.room,
              ...(view.last > 0 ? { since: view.last } : {}),
              ...(view.epoch ? { epoch: view.epoch } : {}),
            },
            (ack: unknown) => {
              // More was stored meanwhile than the room keeps (HISTORY_SIZE): the newest page instead.
              if ((ack as { recovered?: unknown } | null)?.recovered === false) s.notRecovered++;
            },
          );
      }
      first = false;
    });
    socket.on('connect_error', (err: Error) => {
      if (first) return;
      s.connectErrors++;
      if (
        /\b5\d\d\b/.test(err.message) ||
        /\b5\d\d\b/.test(String((err as { description?: unknown }).description))
      )
        s.http5xx++;
      if (s.errors.length < 5) s.errors.push(err.message);
    });
  }
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err: Error) => {
      socket.close();
      reject(err);
    });
  });
}

/** Of the seqs stored in each room (`expected`), how many its reconnecting members here do not hold. */
function missingSeqs(cmd: Extract<Command, { type: 'missing' }>): { members: number; missing: number } {
  let members = 0;
  let missing = 0;
  for (const c of clients) {
    const view = views.get(c.socket);
    const due = c.spec.room === undefined ? undefined : cmd.expected[c.spec.room];
    if (c.spec.group !== cmd.group || !view || !due) continue;
    members++;
    for (const seq of due) if (!view.seqs.has(seq)) missing++;
  }
  return { members, missing };
}

function status(group: string): GroupStatus {
  const mine = clients.filter((c) => c.spec.group === group);
  return {
    total: mine.length,
    connected: mine.filter((c) => c.socket.connected).length,
    ...stormOf(group),
  };
}

async function join(socket: Socket, room: string, timeoutMs: number): Promise<void> {
  const ack: unknown = await socket.timeout(timeoutMs).emitWithAck('join-room', room);
  if (!ackSucceeded(ack)) throw new Error(`join-room ${room}: ${ackCode(ack)}`);
}

/** Runs `fn` over `items` with at most `concurrency` at once (p-limit). */
async function pool<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  const limit = pLimit(Math.max(1, concurrency));
  await Promise.all(items.map((item, index) => limit(() => fn(item, index))));
}

async function connect(cmd: Extract<Command, { type: 'connect' }>): Promise<ConnectResult> {
  const started = nowMs();
  let last = started;
  let failed = 0;
  const errors: string[] = [];
  await pool(cmd.clients, cmd.concurrency, async (spec) => {
    try {
      const socket = await open(spec, cmd.timeoutMs);
      clients.push({ spec, socket, sent: 0 });
      if (spec.room !== undefined) await join(socket, spec.room, cmd.timeoutMs);
      last = nowMs();
    } catch (err) {
      failed++;
      if (errors.length < 5) errors.push(errorText(err));
    }
  });
  return { connected: cmd.clients.length - failed, failed, errors, elapsedMs: last - started };
}

function send(client: Client, step: number, textChars: number, acks: boolean): void {
  const t = tally(step);
  const sentAt = nowMs();
  const text = messageText(step, client.spec.instance, sentAt, textChars);
  const clientId = `b${client.spec.id}-${client.sent++}`;
  t.sent++;
  if (!acks) {
    client.socket.emit('message', { text, clientId });
    return;
  }
  client.socket.emit('message', { text, clientId }, (ack: unknown) => {
    if (ackSucceeded(ack)) {
      t.acked++;
      t.ack.push(nowMs() - sentAt);
    } else {
      t.ackErrors++;
      const code = ackCode(ack);
      t.errorCodes[code] = (t.errorCodes[code] ?? 0) + 1;
    }
  });
}

/** Open loop: sends ratePerS spread over durationMs, round-robin over the senders, catching up when late. */
async function step(cmd: Extract<Command, { type: 'step' }>): Promise<StepSent> {
  const senders = clients.filter(
    (c) => c.spec.group === cmd.group && c.spec.sender && c.spec.room !== undefined && c.socket.connected,
  );
  const total = Math.round((cmd.ratePerS * cmd.durationMs) / 1000);
  tally(cmd.step);
  if (senders.length === 0 || total === 0) return { sent: 0, sendMs: 0 };
  const started = nowMs();
  let sent = 0;
  stopRequested = false;
  // Bounded: at most total sends, and the loop ends at the latest 3× the asked duration.
  const deadline = started + cmd.durationMs * 3 + 1000;
  while (sent < total && nowMs() < deadline && !stopRequested) {
    const due = Math.min(total, Math.floor(((nowMs() - started) * cmd.ratePerS) / 1000) + 1);
    while (sent < due) {
      const client = senders[sent % senders.length];
      if (client) send(client, cmd.step, cmd.textChars, cmd.acks);
      sent++;
    }
    await sleep(2);
  }
  return { sent, sendMs: nowMs() - started };
}

function progress(stepId: number): StepProgress {
  const t = tally(stepId);
  return { sent: t.sent, acked: t.acked, ackErrors: t.ackErrors, received: t.received };
}

function collect(stepId: number): StepStats {
  const t = tally(stepId);
  tallies.delete(stepId);
  return {
    sent: t.sent,
    acked: t.acked,
    ackErrors: t.ackErrors,
    received: t.received,
    errorCodes: t.errorCodes,
    crossLatencies: Float64Array.from(t.cross),
    localLatencies: Float64Array.from(t.local),
    ackLatencies: Float64Array.from(t.ack),
    disconnects,
  };
}

/** Writes `perRoom` messages into each room through one member here, 16 in flight per room. */
async function fill(cmd: Extract<Command, { type: 'fill' }>): Promise<{ sent: number; failed: number }> {
  let sent = 0;
  let failed = 0;
  await Promise.all(
    cmd.rooms.map(async (room) => {
      const client = clients.find((c) => c.spec.room === room && c.socket.connected);
      if (!client) throw new Error(`no client of room ${room} here`);
      await pool(
        Array.from({ length: cmd.perRoom }, (_, i) => i),
        16,
        async () => {
          const text = messageText(-1, client.spec.instance, nowMs(), cmd.textChars);
          const ack: unknown = await client.socket
            .timeout(cmd.timeoutMs)
            .emitWithAck('message', { text, clientId: `f${client.spec.id}-${client.sent++}` })
            .catch((err: unknown) => ({ success: false, code: errorText(err) }));
          if (ackSucceeded(ack)) sent++;
          else failed++;
        },
      );
    }),
  );
  return { sent, failed };
}

/** Every client here joins `rounds` rooms one after another; all clients at once. */
async function joins(cmd: Extract<Command, { type: 'joins' }>): Promise<JoinStats> {
  const toHistory: number[] = [];
  const toAck: number[] = [];
  const sizes: number[] = [];
  const errors: string[] = [];
  let count = 0;
  let failures = 0;
  const n = cmd.rooms.length;
  const ids = new Set(cmd.ids);
  await Promise.all(
    clients
      .filter((c) => ids.has(c.spec.id))
      .map(async (client) => {
        for (let r = 0; r < cmd.rounds; r++) {
          const room = cmd.rooms[(client.spec.id + r + 1) % n];
          if (room === undefined) return;
          count++;
          try {
            const started = nowMs();
            const history = cmd.expectHistory
              ? new Promise<number>((resolve, reject) => {
                  const timer = setTimeout(() => reject(new Error('no previous-messages')), cmd.timeoutMs);
                  client.socket.once('previous-messages', (list: unknown) => {
                    clearTimeout(timer);
                    toHistory.push(nowMs() - started);
                    sizes.push(Array.isArray(list) ? list.length : 0);
                    resolve(0);
                  });
                })
              : Promise.resolve(0);
            const ack: unknown = await client.socket
              .timeout(cmd.timeoutMs)
              .emitWithAck('join-room', { room });
            toAck.push(nowMs() - started);
            if (!ackSucceeded(ack)) throw new Error(`join-room: ${ackCode(ack)}`);
            await history;
          } catch (err) {
            failures++;
            if (errors.length < 5) errors.push(errorText(err));
          }
        }
      }),
  );
  return {
    joins: count,
    failures,
    errors,
    toHistory: Float64Array.from(toHistory),
    toAck: Float64Array.from(toAck),
    historySizes: Float64Array.from(sizes),
  };
}

async function disconnectAll(): Promise<{ closed: number }> {
  closing = true;
  const closed = clients.length;
  for (const c of clients) c.socket.disconnect();
  clients.length = 0;
  tallies.clear();
  storm.clear();
  disconnects = 0;
  await sleep(50);
  closing = false;
  return { closed };
}

async function run(command: Command): Promise<unknown> {
  switch (command.type) {
    case 'connect':
      return connect(command);
    case 'step':
      return step(command);
    case 'stop':
      stopRequested = true;
      return true;
    case 'progress':
      return progress(command.step);
    case 'collect':
      return collect(command.step);
    case 'fill':
      return fill(command);
    case 'joins':
      return joins(command);
    case 'status':
      return status(command.group);
    case 'missing':
      return missingSeqs(command);
    case 'disconnect':
      return disconnectAll();
  }
}

process.on('message', (raw: unknown) => {
  const { reqId, command } = raw as Request;
  run(command).then(
    (result) => process.send?.({ reqId, ok: true, result } satisfies Reply),
    (err: unknown) => process.send?.({ reqId, ok: false, error: errorText(err) } satisfies Reply),
  );
});
process.on('disconnect', () => process.exit(0));
process.send?.({ reqId: 0, ok: true, result: 'ready' } satisfies Reply);
