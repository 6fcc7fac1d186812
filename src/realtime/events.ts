import type { Server, Socket } from 'socket.io';
import type { z } from 'zod';
import type { ServerEventName, serverEventSchemas } from '../protocol.js';

export { CLIENT_EVENTS } from '../protocol.js';

/** Server → client events, typed from the protocol module's schemas (docs/protocol.md). */
export type ServerToClientEvents = {
  [E in ServerEventName]: (payload: z.infer<(typeof serverEventSchemas)[E]>) => void;
};

/** Client events arrive untyped: every argument is validated by the handler before use. */
export type ClientToServerEvents = Record<string, (...args: unknown[]) => void>;

/** Messages between instances (adapter serverSideEmit). */
export interface InterServerEvents {
  presence: (payload: unknown) => void;
  logout: (sessionHash: unknown) => void;
}

export interface SocketData {
  user: string;
  /** Hash of the session id: session ids never leave the session store. */
  sessionHash: string;
  ip: string;
  room: string | null;
  lastTypingAt: number;
}

export type ChatServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type ChatSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** Socket.IO room of a chat room; the prefix keeps chat rooms apart from socket-id rooms. */
const ROOM_PREFIX = 'room:';
export const socketRoom = (room: string) => `${ROOM_PREFIX}${room}`;

/** The chat room a Socket.IO room stands for, or null for other rooms (socket ids). */
export const chatRoomOf = (name: string): string | null =>
  name.startsWith(ROOM_PREFIX) ? name.slice(ROOM_PREFIX.length) : null;
