import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { ScriptReplyError } from '../redis/script.js';
import type { PresenceStore } from '../store/presence.js';
import type { UserStore } from '../store/users.js';
import { chatRoomOf, socketRoom, type ChatServer } from './events.js';

/** Coalesces count broadcasts: a burst of connects costs one broadcast per window, not one per connect. */
const FLUSH_MS = 100;

interface CountsPayload {
  v: number;
  online: number;
  rooms: [string, number][];
}

function isCountsPayload(p: unknown): p is CountsPayload {
  if (typeof p !== 'object' || p === null) return false;
  const c = p as Record<string, unknown>;
  return typeof c.v === 'number' && typeof c.online === 'number' && Array.isArray(c.rooms);
}

/**
 * Keeps `onlineUsers` and `room-users` right on every instance. A change marks counts dirty; a flush
 * reads them with the presence version in one script and sends them to every instance, which
 * forwards them to its own sockets only if the version is newer than what it last forwarded (two
 * instances' flushes can cross in pub/sub; the version orders them). It also runs the lease
 * heartbeat and reaps dead instances.
 */
export class PresenceSync {
  private dirtyOnline = false;
  private readonly dirtyRooms = new Set<string>();
  private flushTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private onlineVersion = -1;
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
    this.io.on('presence', (payload: unknown) => {
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

  /** First heartbeat, awaited at start: no socket may count before this instance holds a lease. */
  async register(connections: number): Promise<void> {
    await this.presence.heartbeat({ connections });
  }

  markOnline(): void {
    this.dirtyOnline = true;
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
    if (!this.dirtyOnline && this.dirtyRooms.size === 0) return;
    const rooms = [...this.dirtyRooms];
    this.dirtyRooms.clear();
    this.dirtyOnline = false;
    try {
      this.forward(await this.publish(rooms));
    } catch (err) {
      // Redis away: keep them dirty; the next change or heartbeat retries.
      this.dirtyOnline = true;
      for (const r of rooms) this.dirtyRooms.add(r);
      this.log[err instanceof ScriptReplyError ? 'error' : 'debug']({ err }, 'presence flush failed');
    }
  }

  /** Reads the counts of `rooms` (and online) with their version and sends them to the other instances. */
  private async publish(rooms: readonly string[]): Promise<CountsPayload> {
    const counts = await this.presence.counts(rooms);
    const payload: CountsPayload = { v: counts.version, online: counts.online, rooms: [...counts.rooms] };
    this.io.serverSideEmit('presence', payload);
    return payload;
  }

  /** Graceful exit: stop, take this instance out of presence, tell the others the new counts. */
  async leave(): Promise<void> {
    this.stop();
    const { rooms } = await this.presence.leave();
    await this.publish(rooms);
  }

  private forward(p: CountsPayload): void {
    if (p.v > this.onlineVersion) {
      this.onlineVersion = p.v;
      if (p.online !== this.lastOnline) {
        this.lastOnline = p.online;
        this.metrics.onlineUsers.set(p.online);
        this.io.local.emit('onlineUsers', p.online);
      }
    }
    const localRooms = this.io.of('/').adapter.rooms;
    for (const [room, count] of p.rooms) {
      if (typeof room !== 'string' || typeof count !== 'number') continue;
      const name = socketRoom(room);
      if (!localRooms.has(name)) {
        this.roomVersions.delete(room);
        continue;
      }
      if (p.v <= (this.roomVersions.get(room) ?? -1)) continue;
      this.roomVersions.set(room, p.v);
      this.io.local.to(name).emit('room-users', { room, count });
    }
  }

  /** Heartbeat, then reap instances whose lease lapsed; either may change counts. */
  private async tick(): Promise<void> {
    try {
      const beat = await this.presence.heartbeat({ connections: this.io.of('/').sockets.size });
      if (beat.resynced) {
        this.log.warn(
          { rooms: beat.rooms.length },
          'presence lease was lost; re-applied this instance state',
        );
        this.markAll(beat.rooms);
      }
      const reaped = await this.presence.reap();
      if (reaped.instances.length > 0) {
        this.log.warn({ instances: reaped.instances }, 'reaped presence of instances whose lease expired');
        this.markAll(reaped.rooms);
      }
    } catch (err) {
      this.log[err instanceof ScriptReplyError ? 'error' : 'debug']({ err }, 'presence heartbeat failed');
    }
  }

  private markAll(rooms: readonly string[]): void {
    this.dirtyOnline = true;
    for (const r of rooms) this.dirtyRooms.add(r);
    for (const name of this.io.of('/').adapter.rooms.keys()) {
      const room = chatRoomOf(name);
      if (room) this.dirtyRooms.add(room);
    }
    this.schedule();
  }
}
