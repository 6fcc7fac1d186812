import type { Socket } from 'socket.io-client';
import { connect } from '../../helpers/socket.js';
import type { Tally } from '../figures.js';

/** Opens a signed-in Socket.IO connection (no automatic reconnection); rejects with the connect_error. */
export function openSocket(
  url: string,
  cookie: string,
  opts: { from?: string; polling?: boolean } = {},
): Promise<Socket> {
  return connect(url, cookie, opts);
}

export interface ConnectionPlan {
  label: string;
  url: string;
  cookie: string;
  username: string;
  polling: boolean;
  /** Source loopback address (for nginx's sticky hash). */
  from?: string;
}

/**
 * One fuzz worker's connection: reopened when the server closed it (an over-limit packet, a raw
 * packet that ends the connection), so each case starts on a live socket and a failing case can be
 * replayed alone. Under RATE_LIMITS a reopen may be refused `rate_limited`: counted, not failed.
 */
export class FuzzConnection {
  private socket: Socket | undefined;

  constructor(
    readonly plan: ConnectionPlan,
    private readonly rateLimited: boolean,
  ) {}

  /** The live socket, or undefined when the connect limit refused a new one. Throws on other refusals. */
  async ensure(tally: Tally): Promise<Socket | undefined> {
    if (this.socket?.connected === true) return this.socket;
    this.socket?.close();
    this.socket = undefined;
    try {
      this.socket = await openSocket(this.plan.url, this.plan.cookie, {
        from: this.plan.from,
        polling: this.plan.polling,
      });
      tally.add('connects');
      return this.socket;
    } catch (err) {
      if (this.rateLimited && err instanceof Error && err.message === 'rate_limited') {
        tally.add('connects refused rate_limited');
        return undefined;
      }
      throw new Error(`${this.plan.label}: connect failed: ${String(err)}`);
    }
  }

  /** Drops the socket (it went silent); the next case opens a new one. */
  drop(): void {
    this.socket?.close();
    this.socket = undefined;
  }

  close(): void {
    this.drop();
  }
}

/** Resolves 'closed' when the socket disconnects. */
export const whenClosed = (socket: Socket): Promise<'closed'> =>
  new Promise((resolve) => socket.once('disconnect', () => resolve('closed')));

/**
 * socket.io-client's own encoder may throw before anything is sent (e.g. an own `__proto__` key next
 * to a binary attachment): such a case never reached the server.
 */
export function refusedByClient(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : String(err);
  return msg !== 'operation has timed out' && msg !== 'socket has been disconnected';
}
