/** Every request/ack round trip gives up after this long. */
export const ACK_TIMEOUT_MS = 10_000;

/**
 * Emits `event` with an ack and resolves to the server's answer, or to a local Fail with code
 * `timeout` / `disconnected`. Never rejects, and never queues: while offline it answers at once,
 * because Socket.IO would flush a queued packet before our re-join on the next connection.
 * @param {any} socket
 * @param {string} event
 * @param {...unknown} args
 * @returns {Promise<any>}
 */
export function ask(socket, event, ...args) {
  if (!socket.connected) return Promise.resolve(localFail('disconnected'));
  return new Promise((resolve) => {
    socket.timeout(ACK_TIMEOUT_MS).emit(event, ...args, (err, ack) => {
      if (err) resolve(localFail(socket.connected ? 'timeout' : 'disconnected'));
      else resolve(ack ?? localFail('timeout'));
    });
  });
}

/** @param {'timeout' | 'disconnected'} code */
function localFail(code) {
  const error =
    code === 'timeout' ? 'The server did not answer in time.' : 'Not connected to the server right now.';
  return { success: false, code, error };
}
