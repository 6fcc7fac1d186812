import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { ScriptReplyError } from '../redis/script.js';
import type { PresenceStore } from '../store/presence.js';
import type { UserStore } from '../store/users.js';
import { PRESENCE_BUCKETS } from '../redis/keys.js';
import { socketRoom, type ChatServer } from './events.js';

/** Coalesces count broadcasts: a burst of connects costs one broadcast per window, not one per connect. */
const FLUSH_MS = 100;
/** The event instances send each other counts over (the adapter's serverSideEmit). */
const COUNTS_EVENT = 'presence-counts';

/** Counts between instances: per bucket [bucket, version, online], per room [room, version, count]. */
interface CountsPayload {
  b: [number, number, number][];
  rooms: [string, number, number][];
}

function isCountsPayload(p: unknown): p is CountsPayload {
  if (typeof p !== 'object' || p === null) return false;
  const c = p as Record<string, unknown>;
  return Array.isArray(c.b) && Array.isArray(c.rooms);
}

/**
 * Keeps `onlineUsers` and `room-users` right on every instance. Presence is partitioned into buckets
 * (store/presence.ts), each with its own version. A change marks its bucket (or room) dirty; a flush
 * reads the dirty buckets' and rooms' counts with their versions (one script per bucket) and sends
 * them to every instance, which keeps the newest count per bucket and per room (two instances'
 * flushes can cross in pub/sub; the versions order them). `onlineUsers` is the sum of the buckets'
 * counts held here, so a connect reads one bucket, never all users. Each heartbeat refreshes every
 * bucket's count (read by the lease renewal itself), so a count broadcast lost in pub/sub heals
 * within a heartbeat. It also runs the lease heartbeat and reaps dead instances.
 */
export class PresenceSync {
  private readonly dirtyBuckets = new Set<number>();
  private readonly dirtyRooms = new Set<string>();
  private flushTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** Per bucket: the newest version seen and its online count. */
  private readonly buckets = Array.from({ length: PRESENCE_BUCKETS }, () => ({ v: -1, online: 0 }));
  private lastOnline = -1;
  private readonly roomVersions = new Map<string, number>();
  private stopped = false;

  constructor(
    private readonly io: ChatServer,
    private readonly presence: PresenceStore,
    private readonly users: UserStore,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly heartbeatMs: number,
  ) {}

  /** The current online count as last broadcast (for a socket that just connected). */
  get online(): number {
    return Math.max(0, this.lastOnline);
  }

  start(): void {
    this.io.on(COUNTS_EVENT, (payload: unknown) => {
      if (isCountsPayload(payload)) this.forward(payload);
    });
    const beat = () => {
      if (this.stopped) return;
      void this.tick().finally(() => {
        if (!this.stopped) this.heartbeatTimer = setTimeout(beat, this.heartbeatMs);
      });
    };
    this.heartbeatTimer = setTimeout(beat, this.heartbeatMs);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.flushTimer);
    clearTimeout(this.heartbeatTimer);
  }

  /**
   * First heartbeat, awaited at start: no socket may count before this instance holds its leases.
   * It resyncs every bucket (undoing what an earlier process with this id left) and learns every
   * bucket's count.
   */
  async register(connections: number): Promise<void> {
    const beat = await this.presence.heartbeat({ connections }, true);
    if (beat.error !== undefined) throw beat.error;
    const counts = await this.presence.counts(this.buckets.keys());
    this.forward({ b: counts.buckets.map((c) => [c.bucket, c.version, c.online]), rooms: [] });
  }

  /** `user` connected or left: their bucket's online count may have changed. */
  markOnline(user: string): void {
    this.dirtyBuckets.add(this.presence.bucketOf(user));
    this.schedule();
  }

  markRoom(room: string | null): void {
    if (!room) return;
    this.dirtyRooms.add(room);
    this.schedule();
  }

  /** A user's first connection anywhere / last one gone: keep the user record's status in step. */
  userStatus(user: string, status: 'online' | 'offline'): void {
    this.users
      .setStatus(user, status)
      .catch((err: unknown) => this.log.debug({ err, user }, 'status update failed'));
  }

  private schedule(): void {
    if (this.flushTimer || this.stopped) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, FLUSH_MS);
  }

  async flush(): Promise<void> {
    if (this.dirtyBuckets.size === 0 && this.dirtyRooms.size === 0) return;
    const buckets = [...this.dirtyBuckets];
    const rooms = [...this.dirtyRooms];
    this.dirtyBuckets.clear();
    this.dirtyRooms.clear();
    try {
      this.forward(await this.publish(buckets, rooms));
    } catch (err) {
      // Redis away: keep them dirty; the next change or heartbeat retries.
      for (const b of buckets) this.dirtyBuckets.add(b);
      for (const r of rooms) this.dirtyRooms.add(r);
      this.log[err instanceof ScriptReplyError ? 'error' : 'debug']({ err }, 'presence flush failed');
    }
  }

  /** Reads the counts of `buckets` and `rooms` with their versions and sends them to the other instances. */
  private async publish(buckets: Iterable<number>, rooms: readonly string[]): Promise<CountsPayload> {
    const counts = await this.presence.counts(buckets, rooms);
    const payload: CountsPayload = {
      b: counts.buckets.map((c) => [c.bucket, c.version, c.online]),
      rooms: [...counts.rooms].map(([room, c]) => [room, c.version, c.count]),
    };
    this.io.serverSideEmit(COUNTS_EVENT, payload);
    return payload;
  }

  /** Graceful exit: stop, take this instance out of presence, tell the others the new counts. */
  async leave(): Promise<void> {
    this.stop();
    const { rooms, buckets } = await this.presence.leave();
    await this.publish(buckets, rooms);
  }

  private forward(p: CountsPayload): void {
    let changed = false;
    for (const entry of p.b) {
      const [b, v, online] = entry;
      const known = this.buckets[b];
      if (!known || typeof v !== 'number' || typeof online !== 'number' || v <= known.v) continue;
      known.v = v;
      if (known.online !== online) changed = true;
      known.online = online;
    }
    if (changed || this.lastOnline < 0) {
      let total = 0;
      for (const { online } of this.buckets) total += online;
      if (total !== this.lastOnline) {
        this.lastOnline = total;
        this.metrics.onlineUsers.set(total);
        this.io.local.emit('onlineUsers', total);
      }
    }
    const localRooms = this.io.of('/').adapter.rooms;
    for (const [room, v, count] of p.rooms) {
      if (typeof room !== 'string' || typeof v !== 'number' || typeof count !== 'number') continue;
      const name = socketRoom(room);
      if (!localRooms.has(name)) {
        this.roomVersions.delete(room);
        continue;
      }
      if (v <= (this.roomVersions.get(room) ?? -1)) continue;
      this.roomVersions.set(room, v);
      this.io.local.to(name).emit('room-users', { room, count });
    }
  }

  /** Heartbeat (which also reads every bucket's count), then broadcast what resyncs and reaps changed. */
  private async tick(): Promise<void> {
    try {
      const beat = await this.presence.heartbeat({ connections: this.io.of('/').sockets.size });
      this.forward({ b: beat.counts.map((c) => [c.bucket, c.version, c.online]), rooms: [] });
      if (beat.resynced.length > 0) {
        this.log.warn(
          { buckets: beat.resynced.length, rooms: beat.changedRooms.length },
          'presence lease was lost; re-applied this instance state',
        );
      }
      if (beat.reaped.length > 0) {
        this.log.warn({ instances: beat.reaped }, 'reaped presence of instances whose lease expired');
      }
      for (const b of beat.changedBuckets) this.dirtyBuckets.add(b);
      for (const r of beat.changedRooms) this.dirtyRooms.add(r);
      if (beat.changedBuckets.length > 0 || beat.changedRooms.length > 0) this.schedule();
      if (beat.error !== undefined) throw beat.error;
    } catch (err) {
      this.log[err instanceof ScriptReplyError ? 'error' : 'debug']({ err }, 'presence heartbeat failed');
    }
  }
}
