import type { Server, Socket } from 'socket.io';
import type { ServerToClientEvents } from '../protocol.js';

export { CLIENT_EVENTS, type ServerToClientEvents } from '../protocol.js';

/** Client events arrive untyped: every argument is validated by the handler before use. */
export type ClientToServerEvents = Record<string, (...args: unknown[]) => void>;

/** Messages between instances (adapter serverSideEmit). */
export interface InterServerEvents {
  /** Presence counts per bucket and room, with versions (presence-sync.ts). */
  'presence-counts': (payload: unknown) => void;
  logout: (sessionHash: unknown) => void;
  /** A room was created on another instance: drop the room directory's snapshot. */
  'rooms-changed': () => void;
  /**
   * Issue 14: `{ room, user }` was removed from a private room (`user` null: the room was deleted);
   * each instance takes its own sockets of that user (or all) out of the room (membership-handlers.ts).
   */
  'membership-changed': (payload: unknown) => void;
}

export interface SocketData {
  user: string;
  /** Hash of the session id: session ids never leave the session store. */
  sessionHash: string;
  ip: string;
  room: string | null;
  /** Issue 14: `room` is a private room or DM, so every message is checked against its members. */
  restricted: boolean;
  /** Issue 14: the room this socket was taken out of (removed, or the room deleted), until it joins another. */
  revoked: string | null;
  lastTypingAt: number;
  /** The handshake asked for the room directory (protocol.ts handshakeAuthSchema). */
  directory: boolean;
}

export type ChatServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type ChatSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/**
 * Socket.IO room of a chat room, `room:{<name>}`; the prefix keeps chat rooms apart from socket-id
 * rooms. The braces give the room's adapter channel (`<prefix>socket.io#/#room:{<name>}#`) the hash
 * tag of the room's keys (`<prefix>room:{<name>}…`, redis/keys.ts), so on a Redis Cluster the
 * append script can publish to it (script-fanout.ts): Redis hashes both from the first `{` to the
 * first `}` after it.
 */
const ROOM_PREFIX = 'room:{';
export const socketRoom = (room: string) => `${ROOM_PREFIX}${room}}`;

/** The chat room a Socket.IO room stands for, or null for other rooms (socket ids). */
export const chatRoomOf = (name: string): string | null =>
  name.startsWith(ROOM_PREFIX) && name.endsWith('}') ? name.slice(ROOM_PREFIX.length, -1) : null;

/**
 * Socket.IO room holding every socket of one user (lower-cased name), on every instance: what is
 * addressed to a person (a DM opened, an invite, a suspension) goes there through the adapter.
 */
const USER_PREFIX = 'user:';
export const userSocketRoom = (user: string) => `${USER_PREFIX}${user.toLowerCase()}`;

/**
 * Socket.IO rooms of the two kinds of clients: those that speak the room directory, and those of
 * the original protocol (bounded `update-rooms`). Not chat rooms: they do not start with ROOM_PREFIX.
 */
export const DIRECTORY_SOCKETS = 'rooms:directory';
export const LEGACY_SOCKETS = 'rooms:full-list';
