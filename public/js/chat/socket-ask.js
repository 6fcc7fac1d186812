/** @typedef {import('./types.js').ChatSocket} ChatSocket */
/** @typedef {import('./types.js').AckEventName} AckEventName */
/** @typedef {import('./types.js').LocalFail} LocalFail */

/** Every request/ack round trip gives up after this long. */
export const ACK_TIMEOUT_MS = 10_000;

/**
 * Emits `event` with an ack and resolves to the server's answer, or to a local Fail with code
 * `timeout` / `disconnected`. Never rejects, and never queues: while offline it answers at once,
 * because Socket.IO would flush a queued packet before our re-join on the next connection.
 * @template {AckEventName} E
 * @param {ChatSocket} socket
 * @param {E} event
 * @param {...unknown} args  the event's payload (see ClientEmitEvents in src/protocol.ts)
 * @returns {Promise<import('./types.js').Answer<E>>}
 */
export function ask(socket, event, ...args) {
  return /** @type {Promise<import('./types.js').Answer<E>>} */ (emitWithAck(socket, event, args));
}

/**
 * `ask` for the events of private conversations (MemberEvents in types.js): same timeout and
 * local failures, one payload.
 * @template {keyof import('./types.js').MemberEvents} E
 * @param {ChatSocket} socket
 * @param {E} event
 * @param {import('./types.js').MemberEvents[E][0]} payload
 * @returns {Promise<import('./types.js').MemberAnswer<E>>}
 */
export function request(socket, event, payload) {
  return /** @type {Promise<import('./types.js').MemberAnswer<E>>} */ (emitWithAck(socket, event, [payload]));
}

/**
 * Subscribes to a server push by name; the payload is untrusted (`unknown`), handlers check it.
 * @param {ChatSocket} socket
 * @param {'room-added' | 'room-removed' | 'room-deleted' | 'message-updated' | 'message-deleted'
 *   | 'read-marker' | 'suspended'} event
 * @param {(payload: unknown) => void} handler
 */
export function listen(socket, event, handler) {
  const untyped = /** @type {import('socket.io-client').Socket} */ (socket);
  untyped.on(event, handler);
}

/**
 * @param {ChatSocket} socket
 * @param {string} event
 * @param {unknown[]} args
 * @returns {Promise<unknown>}
 */
function emitWithAck(socket, event, args) {
  if (!socket.connected) return Promise.resolve(localFail('disconnected'));
  // The payload is spread, so emit is called through the untyped socket; the answer is typed above.
  const untyped = /** @type {import('socket.io-client').Socket} */ (socket);
  return new Promise((resolve) => {
    untyped
      .timeout(ACK_TIMEOUT_MS)
      .emit(event, ...args, (/** @type {Error | null} */ err, /** @type {unknown} */ ack) => {
        if (err) resolve(localFail(socket.connected ? 'timeout' : 'disconnected'));
        else resolve(ack ?? localFail('timeout'));
      });
  });
}

/**
 * @param {'timeout' | 'disconnected'} code
 * @returns {LocalFail}
 */
function localFail(code) {
  const error =
    code === 'timeout' ? 'The server did not answer in time.' : 'Not connected to the server right now.';
  return { success: false, code, error };
}
