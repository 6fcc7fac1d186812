/** @typedef {import('./types.js').ChatSocket} ChatSocket */

const RECONNECT_BASE_MS = 1000;
const RECONNECT_MAX_MS = 30_000;

/**
 * Creates the Socket.IO connection. WebSocket first: it needs no sticky sessions, so it works behind
 * any load balancer; long-polling remains as a fallback for networks that block WebSockets.
 * @returns {ChatSocket}
 */
export function connectSocket() {
  // chat.js checks that the Socket.IO client script loaded before it starts the app.
  if (!io) throw new Error('The Socket.IO client is not loaded');
  // `directory`: the server sends this page's rooms and a directory page, never the whole list.
  return io({ transports: ['websocket', 'polling'], tryAllTransports: true, auth: { directory: true } });
}

/**
 * Keeps trying after the server's middleware refused a connection (such a refusal stops Socket.IO's
 * own retries): exponential backoff with jitter, capped at 30 s, reset by a successful connect.
 */
export class Reconnector {
  #attempts = 0;

  /**
   * @param {ChatSocket} socket
   * @param {() => boolean} stopped  true once the page is leaving for good
   */
  constructor(socket, stopped) {
    this.socket = socket;
    this.stopped = stopped;
  }

  /** A connect succeeded: the next refusal starts from the shortest wait again. */
  reset() {
    this.#attempts = 0;
  }

  schedule() {
    this.#attempts += 1;
    const ceiling = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** this.#attempts);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    window.setTimeout(() => {
      if (!this.socket.connected && !this.socket.active && !this.stopped()) this.socket.connect();
    }, delay);
  }
}
