import waitOn from 'wait-on';

/**
 * Readiness waits through wait-on (polls a resource until it answers). Callers race it against the
 * process's exit (Supervised.readyWhen), so a crashed start fails at once, not at the timeout.
 */

/** Resolves once GET `url` answers 200. */
export function httpReady(url: string, timeoutMs: number): Promise<void> {
  return waitOn({
    resources: [url.replace(/^http:/, 'http-get:')],
    validateStatus: (status) => status === 200,
    interval: 100,
    window: 0,
    httpTimeout: 2000,
    timeout: timeoutMs,
  });
}

/** Resolves once host:port accepts TCP connections. */
export function tcpReady(host: string, port: number, timeoutMs: number): Promise<void> {
  return waitOn({ resources: [`tcp:${host}:${port}`], interval: 100, window: 0, timeout: timeoutMs });
}
