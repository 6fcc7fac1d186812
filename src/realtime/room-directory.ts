import type { Logger } from '../logger.js';
import {
  LEGACY_ROOMS_MAX,
  parse,
  ROOM_PAGE_DEFAULT,
  roomQuerySchema,
  type Room,
  type RoomPage,
} from '../protocol.js';
import type { Access } from '../store/members.js';
import type { RoomStore } from '../store/rooms.js';
import { DIRECTORY_SOCKETS, LEGACY_SOCKETS, type ChatServer, type ChatSocket } from './events.js';

/** What a connect reads, kept in process: the directory's first page and the newest rooms. */
interface Snapshot {
  firstPage: RoomPage;
  newest: Room[];
}

export type RoomDirectory = ReturnType<typeof createRoomDirectory>;

/**
 * The room list as sockets see it. A connect costs no room reads in Redis beyond the user's own
 * rooms (capped): the directory's first page and the newest rooms come from an in-process snapshot,
 * dropped on every creation here and, over the adapter's serverSideEmit (`rooms-changed`), on every
 * other instance, then reloaded once (O(log n + page)) by the next reader.
 * A creation reaches directory clients as one `room-created` Room; clients of the original protocol
 * get the newest LEGACY_ROOMS_MAX rooms in `update-rooms` (protocol.md).
 */
export function createRoomDirectory(deps: {
  io: ChatServer;
  rooms: RoomStore;
  /** Who may read a room: `mine` keeps only rooms the user may read (see greet). */
  access: Pick<Access, 'allowed'>;
  log: Logger;
}) {
  const { io, rooms, access } = deps;
  let snapshot: Promise<Snapshot> | undefined;

  function read(): Promise<Snapshot> {
    if (snapshot) return snapshot;
    const loading = Promise.all([rooms.page('', '', ROOM_PAGE_DEFAULT), rooms.newest(LEGACY_ROOMS_MAX)]).then(
      ([firstPage, newest]) => ({ firstPage, newest }),
    );
    snapshot = loading;
    // A failed load is not kept: the next reader retries.
    loading.catch(() => {
      if (snapshot === loading) snapshot = undefined;
    });
    return loading;
  }

  /** Drops the snapshot; a load already under way is not kept either (it may predate the change). */
  function invalidate(): void {
    snapshot = undefined;
  }

  return {
    invalidate,

    /**
     * The connect push: `rooms-home` (own rooms + first page) to a directory client, the bounded
     * `update-rooms` to the others. Joins the socket to its kind's broadcast room first, so a
     * creation during the reads is not missed. `mine` holds only rooms the user may read: a user's
     * list still names a deleted public room (a deletion forgets it only for its owner), and its
     * name may since belong to someone else's private room, which must not show (issue 14).
     */
    async greet(socket: ChatSocket): Promise<void> {
      if (socket.data.directory) {
        await socket.join(DIRECTORY_SOCKETS);
        const { user } = socket.data;
        const [remembered, snap] = await Promise.all([rooms.mine(user), read()]);
        const ok = await Promise.all(remembered.map((room) => access.allowed(room, user)));
        const mine = remembered.filter((_, i) => ok[i]);
        socket.emit('rooms-home', { mine, directory: snap.firstPage });
        return;
      }
      await socket.join(LEGACY_SOCKETS);
      socket.emit('update-rooms', (await read()).newest);
    },

    /** Tells every socket in the cluster about `room`, just created here. */
    async announce(room: Room): Promise<void> {
      invalidate();
      io.serverSideEmit('rooms-changed');
      io.to(DIRECTORY_SOCKETS).emit('room-created', room);
      io.to(LEGACY_SOCKETS).emit('update-rooms', (await read()).newest);
    },

    /** Issue 14: `room` (public) was deleted here: the snapshots here and elsewhere are dropped, legacy lists resent. */
    async removed(): Promise<void> {
      invalidate();
      io.serverSideEmit('rooms-changed');
      io.to(LEGACY_SOCKETS).emit('update-rooms', (await read()).newest);
    },

    /** One directory page for `list-rooms` / `GET /api/rooms` (raw query, validated here); the first page from the snapshot. */
    async page(raw: unknown): Promise<RoomPage> {
      const { q = '', cursor = '', limit } = parse(roomQuerySchema, raw ?? {});
      if (q.trim() === '' && cursor === '' && limit === ROOM_PAGE_DEFAULT) return (await read()).firstPage;
      return rooms.page(q.trim(), cursor, limit);
    },

    /** Names of the newest rooms (what `room-stats` counts when not told which rooms). */
    async newestNames(): Promise<string[]> {
      return (await read()).newest.map((r) => r.name);
    },
  };
}
