import type { Logger } from '../logger.js';
import type { MessageStore } from '../store/messages.js';
import { chatRoomOf, socketRoom, type ChatServer } from './events.js';

/** Rooms read per batch (one script each, sent together; rooms may sit on different slots). */
const BATCH = 200;
/**
 * A failed pass after a re-subscribe is retried this often until one succeeds: the subscriber often
 * reconnects before the data client does, and waiting for the next period would leave a gap open.
 */
const RETRY_MS = 500;

/**
 * A re-subscribe signal is followed by a second pass this much later: a cluster reports a new
 * master's subscription connection ready before its SSUBSCRIBE is answered, and a sentinel client
 * reports a dropped pub/sub connection (an `error`) before it reconnects.
 */
const SETTLE_MS = 1000;

export type NoticeReason = 'period' | 'resubscribed';

/**
 * Tells the members of every room with sockets on this instance the room's latest `{room, seq,
 * epoch}` (`room-seq`), so a client that missed a live message (pub/sub is at-most-once: a Redis
 * restart or failover, a dropped subscriber connection) notices the gap and fetches what it missed,
 * even in a quiet room whose last message was the lost one. Sent after the adapter's subscriber
 * re-subscribed (what was published meanwhile never arrived here) and every `periodMs` as a net;
 * one timer per instance, local sockets only (each instance tells its own), rooms read in batches.
 */
export class SeqNotices {
  private timer: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private settle: NodeJS.Timeout | undefined;
  private stopped = false;
  private running = false;
  private again = false;
  /** A re-subscribe is waiting for a pass that succeeds. */
  private resubscribed = false;

  constructor(
    private readonly io: ChatServer,
    private readonly messages: Pick<MessageStore, 'states'>,
    private readonly log: Logger,
    private readonly periodMs: number,
  ) {}

  start(): void {
    this.stopped = false;
    this.timer ??= setInterval(() => void this.notifyAll('period'), this.periodMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.retry);
    clearTimeout(this.settle);
    this.timer = undefined;
    this.retry = undefined;
    this.settle = undefined;
  }

  /**
   * The subscriber connected again (RedisClients.onResubscribe): notices now, and once more
   * SETTLE_MS after the last such signal (a burst of them, as in a failover, costs two passes).
   */
  afterResubscribe(): void {
    if (this.stopped) return;
    void this.notifyAll('resubscribed');
    clearTimeout(this.settle);
    this.settle = setTimeout(() => void this.notifyAll('resubscribed'), SETTLE_MS);
    this.settle.unref();
  }

  /** Chat rooms with at least one socket on this instance. */
  localRooms(): string[] {
    const rooms: string[] = [];
    for (const [name, sockets] of this.io.of('/').adapter.rooms) {
      const room = chatRoomOf(name);
      if (room !== null && sockets.size > 0) rooms.push(room);
    }
    return rooms;
  }

  /**
   * Reads and sends the notices; a call while one runs makes it run once more afterwards (a
   * re-subscribe during a periodic pass must not be folded into reads made before it). Never
   * rejects: a failed pass is logged; after a re-subscribe it is retried every RETRY_MS until one
   * succeeds, a periodic one waits for the next period.
   */
  async notifyAll(reason: NoticeReason): Promise<number> {
    if (reason === 'resubscribed') this.resubscribed = true;
    if (this.running) {
      this.again = true;
      return 0;
    }
    this.running = true;
    let sent = 0;
    try {
      do {
        this.again = false;
        sent = await this.pass();
      } while (this.again);
      if (this.resubscribed) this.log.debug({ rooms: sent }, 'room seq notices sent after a re-subscribe');
      this.resubscribed = false;
    } catch (err) {
      this.log.warn({ err: String(err), reason }, 'room seq notices failed; retrying');
      if (this.resubscribed && !this.stopped) {
        clearTimeout(this.retry);
        this.retry = setTimeout(() => void this.notifyAll('resubscribed'), RETRY_MS);
        this.retry.unref();
      }
    } finally {
      this.running = false;
    }
    return sent;
  }

  private async pass(): Promise<number> {
    const rooms = this.localRooms();
    for (let i = 0; i < rooms.length; i += BATCH) {
      const batch = rooms.slice(i, i + BATCH);
      const states = await this.messages.states(batch);
      for (const [room, { seq, epoch }] of states) {
        this.io.local.to(socketRoom(room)).emit('room-seq', { room, seq, epoch });
      }
    }
    return rooms.length;
  }
}
