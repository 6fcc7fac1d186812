import { randomUUID } from 'node:crypto';
import { io as ioClient, type Socket } from 'socket.io-client';
import type { Message } from '../../src/store/messages.js';
import { fromAddress } from './http.js';
import { emitAck, type Ack } from './socket.js';
import { signUp, uniqueUser } from './users.js';

/**
 * A scripted chat user that behaves like the browser client: re-joins with `since` after every
 * reconnect, retries unacknowledged sends with the same clientId, shows each seq once. It records
 * what a person would notice: live duplicates, reconnects and how long they took.
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
  /** clientId → text of sends not acknowledged yet. */
  readonly pending = new Map<string, string>();
  room: string | undefined;
  /** Highest seq with every seq since the join present: what a re-join asks to continue after. */
  contiguous = 0;
  private disconnectedAt: number | undefined;

  private constructor(
    readonly username: string,
    readonly cookie: string,
    readonly socket: Socket,
  ) {
    socket.on('chat-message', (m: Message) => {
      if (m.roomId !== this.room) return;
      if (this.live.has(m.seq)) this.liveDuplicates++;
      this.live.add(m.seq);
      this.add([m]);
    });
    socket.on('previous-messages', (ms: Message[]) => this.add(ms.filter((m) => m.roomId === this.room)));
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

  async join(room: string): Promise<Ack> {
    this.room = room;
    const ack = await this.emit('join-room', room);
    if (ack.success) this.contiguous = Number(ack.latestSeq);
    return ack;
  }

  /** Sends with a clientId; an unacknowledged send stays pending and is retried after a reconnect. */
  async send(text: string): Promise<boolean> {
    const clientId = randomUUID();
    this.pending.set(clientId, text);
    return this.trySend(clientId, text);
  }

  private async trySend(clientId: string, text: string): Promise<boolean> {
    try {
      const ack = await this.emit('message', { text, clientId });
      if (!ack.success) return false;
      this.pending.delete(clientId);
      this.add([ack.message as Message]);
      return true;
    } catch {
      return false; // no ack in time: stays pending
    }
  }

  private async rejoin(): Promise<void> {
    if (!this.room) return;
    try {
      const ack = await this.emit('join-room', { room: this.room, since: this.contiguous });
      if (!ack.success) return;
      if (ack.recovered === false) this.notRecovered++;
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
