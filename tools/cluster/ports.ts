import net from 'node:net';
import getPort, { portNumbers } from 'get-port';

/** Free TCP ports on loopback, through get-port (it also avoids handing out a port twice in a row). */

/** A port that was free on `host` a moment ago (bind it soon). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return getPort({ host });
}

/**
 * `wanted` when it is free on `host`, else the next free one of the following `spread` ports, else
 * any free port. For the launcher, whose URL should stay the same from run to run.
 */
export function preferredPort(wanted: number, host = '127.0.0.1', spread = 20): Promise<number> {
  return getPort({ host, port: portNumbers(wanted, Math.min(65535, wanted + spread)) });
}

/**
 * Whether `port` can be bound on `host` right now (a bind attempt: get-port would also refuse a
 * port it handed out itself in the last seconds, e.g. to an instance that just crashed).
 */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
