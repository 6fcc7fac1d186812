import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { io as ioClient, type Socket } from 'socket.io-client';
import type { Message, MessageDeleted, RoomSeq } from '../../src/protocol.js';
import { fromAddress } from './http.js';
import { emitAck, type Ack } from './socket.js';
import { signUp, uniqueUser } from './users.js';

/** A gap in seq is fetched when it is still open this long after it was seen (senders on different instances overtake each other). */
const GAP_GRACE_MS = 300;
const CATCH_UP_RETRY_MS = 300;
const CATCH_UP_RETRIES = 50;

/**
 * A scripted chat user that behaves like the browser client: re-joins with `since` and `epoch`
 * after every reconnect, retries unacknowledged sends with the same clientId, shows each seq once.
 * Without reconnecting, it fetches what it missed (a `since` re-join) when it sees a gap in seq, a
 * `room-seq` notice beyond what it holds, or another epoch; when the server answers
 * `recovered: false` it drops its view and shows the page sent instead (a resync). It records what
 * a person would notice: live duplicates, reconnects and how long they took, resyncs.
 */
export class ChatClient {
  readonly seen = new Map<number, Message>();
  /**
   * chat-message events for a seq already delivered live: the server sent one message twice.
   * (A live message may legitimately also come in a re-join's catch-up; the client keeps one.)
   */
  liveDuplicates = 0;
  private readonly live = new Set<number>();
  reconnects = 0;
  notRecovered = 0;
  /** ms from each disconnect to the re-join being acknowledged. */
  readonly outages: number[] = [];
  /** Every message this client sent that the server acknowledged as stored (duplicates too). */
  readonly acked: Message[] = [];
  /** clientId → text of sends not acknowledged yet. */
  readonly pending = new Map<string, string>();
  room: string | undefined;
  /** Highest seq with every seq since the join present: what a re-join asks to continue after. */
  contiguous = 0;
  /** The room sequence's epoch `contiguous` counts in. */
  epoch: string | undefined;
  /** Catch-ups made without a reconnect (gap, notice, other epoch). */
  gapFetches = 0;
  /** Times the view was dropped for the server's page (`recovered: false`). */
  resyncs = 0;
  /** Messages dropped from the view by resyncs (their seqs were lost by Redis). */
  readonly dropped: Message[] = [];
  /** Every `room-seq` notice received. */
  readonly notices: RoomSeq[] = [];
  private disconnectedAt: number | undefined;
  private lastPage: Message[] = [];
  private catchingUp: Promise<void> | undefined;
  private catchUpAgain = false;
  private gapTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly username: string,
    readonly cookie: string,
    readonly socket: Socket,
  ) {
    socket.on('chat-message', (m: Message) => {
      if (m.roomId !== this.room) return;
      if (this.otherEpoch(m.epoch)) return void this.catchUp();
      if (this.live.has(m.seq)) this.liveDuplicates++;
      this.live.add(m.seq);
      this.add([m]);
      if (m.seq > this.contiguous + 1) this.watchGap();
    });
    socket.on('previous-messages', (ms: Message[]) => {
      this.lastPage = ms.filter((m) => m.roomId === this.room);
      this.add(this.lastPage);
    });
    // Issue 14: an edited or deleted message replaces the one held under its seq (like the browser).
    socket.on('message-updated', (m: Message) => {
      if (m.roomId === this.room && this.seen.has(m.seq)) this.seen.set(m.seq, m);
    });
    socket.on('message-deleted', (d: MessageDeleted) => {
      const held = d.room === this.room ? this.seen.get(d.seq) : undefined;
      if (held?.id === d.id) {
        const tomb: Message = { ...held, text: '', deleted: true };
        delete tomb.editedAt;
        this.seen.set(d.seq, tomb);
      }
    });
    socket.on('room-seq', (n: RoomSeq) => {
      if (n.room !== this.room) return;
      this.notices.push(n);
      if (this.otherEpoch(n.epoch)) void this.catchUp();
      else if (n.seq > this.contiguous) this.watchGap();
    });
    socket.on('disconnect', () => {
      this.disconnectedAt ??= Date.now();
    });
    // Constructed once connected: every later 'connect' is a reconnect.
    socket.on('connect', () => {
      this.reconnects++;
      void this.rejoin();
    });
  }

  /** Registers through `baseUrl` (from loopback address `from`, when given) and connects there. */
  static async create(
    baseUrl: string,
    opts: { from?: string; username?: string; transports?: ('polling' | 'websocket')[] } = {},
  ) {
    const { username, cookie } = await signUp(
      baseUrl,
      opts.username ?? uniqueUser('u'),
      undefined,
      opts.from,
    );
    const socket = ioClient(baseUrl, {
      extraHeaders: { cookie },
      transports: opts.transports ?? ['websocket'],
      forceNew: true,
      reconnectionDelay: 300,
      reconnectionDelayMax: 2000,
      ...(opts.from ? fromAddress(opts.from) : {}),
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    return new ChatClient(username, cookie, socket);
  }

  emit(event: string, ...args: unknown[]): Promise<Ack> {
    return emitAck(this.socket, event, ...args);
  }

  /** Joins `room` afresh (another room's seqs and notices are forgotten). */
  async join(room: string): Promise<Ack> {
    if (room !== this.room) {
      this.seen.clear();
      this.live.clear();
      this.notices.length = 0;
      this.lastPage = [];
    }
    this.room = room;
    const ack = await this.emit('join-room', room);
    if (ack.success) {
      this.contiguous = Number(ack.latestSeq);
      this.epoch = String(ack.epoch);
    }
    return ack;
  }

  /** Sends with a clientId; an unacknowledged send stays pending and is retried after a reconnect. */
  async send(text: string): Promise<boolean> {
    const clientId = randomUUID();
    this.pending.set(clientId, text);
    return this.trySend(clientId, text);
  }

  /** Re-sends every unacknowledged message with its clientId (a retry is stored once); true when all went through. */
  async retryPending(): Promise<boolean> {
    let ok = true;
    for (const [clientId, text] of [...this.pending]) ok = (await this.trySend(clientId, text)) && ok;
    return ok;
  }

  private async trySend(clientId: string, text: string): Promise<boolean> {
    try {
      const ack = await this.emit('message', { text, clientId });
      if (!ack.success) return false;
      this.pending.delete(clientId);
      const message = ack.message as Message;
      this.acked.push(message);
      if (this.otherEpoch(message.epoch)) void this.catchUp();
      else this.add([message]);
      return true;
    } catch {
      return false; // no ack in time: stays pending
    }
  }

  /** Whether `epoch` (of a message or notice) is not the one this client's view counts in. */
  private otherEpoch(epoch: string | undefined): boolean {
    return epoch !== undefined && this.epoch !== undefined && epoch !== this.epoch;
  }

  /** Fetches the missing seqs if the gap is still open after a grace period. */
  private watchGap(): void {
    if (this.gapTimer) return;
    const target = Math.max(...this.seen.keys(), ...this.notices.map((n) => n.seq));
    this.gapTimer = setTimeout(() => {
      this.gapTimer = undefined;
      if (this.contiguous < target) void this.catchUp();
    }, GAP_GRACE_MS);
  }

  /** A `since` re-join on the live connection; one at a time, once more when asked meanwhile. */
  catchUp(): Promise<void> {
    if (this.catchingUp) {
      this.catchUpAgain = true;
      return this.catchingUp;
    }
    this.catchingUp = (async () => {
      for (let attempt = 0; ; attempt++) {
        this.catchUpAgain = false;
        this.gapFetches++;
        const ack = await this.sync();
        // Redis still coming back: try again shortly (like the browser), for up to ~15 s.
        if (ack?.success === false && ack.code === 'unavailable' && attempt < CATCH_UP_RETRIES) {
          await delay(CATCH_UP_RETRY_MS);
          this.catchUpAgain = true;
        }
        if (!this.catchUpAgain || !this.socket.connected) break;
      }
    })().finally(() => (this.catchingUp = undefined));
    return this.catchingUp;
  }

  /** Re-joins with `{since, epoch}`; a `recovered: false` answer replaces the view by the page sent. */
  private async sync(): Promise<Ack | undefined> {
    if (!this.room) return undefined;
    const payload = { room: this.room, since: this.contiguous, ...(this.epoch ? { epoch: this.epoch } : {}) };
    try {
      const ack = await this.emit('join-room', payload);
      if (!ack.success) return ack;
      const epoch = String(ack.epoch);
      const latest = Number(ack.latestSeq);
      if (ack.recovered === false) {
        this.notRecovered++;
        this.resyncs++;
        // Live messages of the new epoch newer than the page stay; everything else is the page.
        const newer = [...this.seen.values()].filter((m) => m.epoch === epoch && m.seq > latest);
        const kept = new Set([...this.lastPage, ...newer].map((m) => m.id));
        this.dropped.push(...[...this.seen.values()].filter((m) => !kept.has(m.id)));
        this.seen.clear();
        this.live.clear();
        this.notices.length = 0; // seqs of the old epoch
        this.contiguous = latest;
        this.epoch = epoch;
        this.add([...this.lastPage, ...newer]);
      } else {
        this.epoch = epoch;
      }
      return ack;
    } catch {
      return undefined; // the socket dropped; the next connect re-joins
    }
  }

  private async rejoin(): Promise<void> {
    if (!this.room) return;
    try {
      const ack = await this.sync();
      if (!ack?.success) return;
      if (this.disconnectedAt !== undefined) this.outages.push(Date.now() - this.disconnectedAt);
      this.disconnectedAt = undefined;
      for (const [clientId, text] of [...this.pending]) await this.trySend(clientId, text);
    } catch {
      // the socket dropped again; the next connect retries
    }
  }

  private add(messages: Message[]): void {
    for (const m of messages) this.seen.set(m.seq, m);
    while (this.seen.has(this.contiguous + 1)) this.contiguous++;
  }

  get connected(): boolean {
    return this.socket.connected && this.disconnectedAt === undefined;
  }

  close(): void {
    this.socket.close();
  }
}
