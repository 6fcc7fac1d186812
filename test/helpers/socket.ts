import { io as ioClient, type Socket } from 'socket.io-client';
import { fromAddress } from './http.js';

/** Socket.IO clients for tests: connect with a session cookie (optionally from a loopback address), acks, events. */

/**
 * A connected socket for a session cookie (rejects with the connect_error), without automatic
 * reconnection; over WebSocket, or long-polling only with `polling`; `auth` is the handshake's auth
 * (`{ directory: true }` for a room-directory client).
 */
export function connect(
  url: string,
  cookie: string | undefined,
  extra: {
    origin?: string;
    from?: string;
    polling?: boolean;
    auth?: Record<string, unknown>;
    /** Listeners attached before connecting: an event sent with the handshake's reply is not missed. */
    on?: Record<string, (...args: never[]) => void>;
  } = {},
): Promise<Socket> {
  const headers: Record<string, string> = {};
  if (cookie) headers.cookie = cookie;
  if (extra.origin) headers.origin = extra.origin;
  const socket = ioClient(url, {
    transports: extra.polling === true ? ['polling'] : ['websocket'],
    extraHeaders: headers,
    reconnection: false,
    forceNew: true,
    ...(extra.auth === undefined ? {} : { auth: extra.auth }),
    ...(extra.from === undefined ? {} : fromAddress(extra.from)),
  });
  for (const [event, fn] of Object.entries(extra.on ?? {}))
    socket.on(event, fn as (...args: unknown[]) => void);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

export type Ack = { success: boolean; code?: string; error?: string } & Record<string, unknown>;

export function emitAck(socket: Socket, event: string, ...args: unknown[]): Promise<Ack> {
  return socket.timeout(5000).emitWithAck(event, ...args) as Promise<Ack>;
}

/** Resolves with the next `event` payload that satisfies `match`, or rejects after `timeoutMs`. */
export function nextEvent<T = unknown>(
  socket: Socket,
  event: string,
  match: (p: T) => boolean = () => true,
  timeoutMs = 5000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, handler);
      reject(new Error(`no ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
    const handler = (payload: T) => {
      if (!match(payload)) return;
      clearTimeout(timer);
      socket.off(event, handler);
      resolve(payload);
    };
    socket.on(event, handler);
  });
}

/** Records every payload of `event` on a socket. */
export function record<T = unknown>(socket: Socket, event: string): T[] {
  const seen: T[] = [];
  socket.on(event, (p: T) => seen.push(p));
  return seen;
}
