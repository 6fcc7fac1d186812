/** Front doors: per-user TCP forwarders that reach nginx from a chosen 127.0.0.N, and the routing probes that pick those addresses. */
import net from 'node:net';
import type { TestCluster } from '../../helpers/cluster.js';
import { distinctSources as probeSources, instanceVia as probeInstance } from '../../helpers/routing.js';

/**
 * Why front doors: nginx is sticky by `hash $remote_addr`, and a browser always connects from
 * 127.0.0.1. Pointing Chromium at another loopback destination (nginx on 0.0.0.0, browsing to
 * http://127.0.0.2:<port>) does not help: the kernel's local route is
 * `local 127.0.0.0/8 dev lo src 127.0.0.1`, so the source stays 127.0.0.1 whatever the destination
 * (checked: a server on 0.0.0.0 sees 127.0.0.1 for Chromium requests to 127.0.0.2 and 127.0.0.3).
 * Chromium cannot bind a source address, so each browser user gets a small TCP forwarder: the
 * browser talks to 127.0.0.1:<forwarder>, the forwarder connects to nginx from 127.0.0.N (any
 * address in 127/8 can be bound without setup). nginx, the hashing, WebSocket upgrades and retries
 * are the real ones; only the client address differs. The forwarder doubles as the user's network
 * cable: `cut()` drops it, `holdNew()` refuses new connections while existing ones keep flowing.
 */

export interface FrontDoor {
  /** http://127.0.0.1:<port>: what the browser opens. */
  readonly url: string;
  /** The source address nginx sees. */
  readonly from: string;
  /** Connections turned away while cut or holding. */
  readonly refused: number;
  /** Destroys every open connection and refuses new ones until restore(). */
  cut(): void;
  /** Refuses new connections; open ones keep flowing. */
  holdNew(): void;
  restore(): void;
  close(): Promise<void>;
}

/** A TCP forwarder on 127.0.0.1 to `target` (host:port of nginx) that connects from `from`. */
export async function startFrontDoor(target: string, from: string): Promise<FrontDoor> {
  const { hostname, port } = new URL(target);
  const open = new Set<net.Socket>();
  let blocked = false;
  let refused = 0;
  const server = net.createServer((client) => {
    if (blocked) {
      refused += 1;
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect({ host: hostname, port: Number(port), localAddress: from });
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.setNoDelay(true);
      socket.on('close', () => {
        open.delete(socket);
        client.destroy();
        upstream.destroy();
      });
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('front door: no TCP address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    from,
    get refused() {
      return refused;
    },
    cut() {
      blocked = true;
      for (const socket of open) socket.resetAndDestroy();
    },
    holdNew() {
      blocked = true;
    },
    restore() {
      blocked = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Which instance nginx sends a client at `from` to (its X-Instance-Id). */
export function instanceVia(cluster: TestCluster, from: string): Promise<string> {
  return probeInstance(cluster.nginxUrl, from);
}

/** `count` loopback source addresses that nginx hashes to pairwise different instances. */
export function distinctSources(
  cluster: TestCluster,
  count: number,
): Promise<{ from: string; instance: string }[]> {
  return probeSources(cluster.nginxUrl, count);
}

/** The index in cluster.instances of the instance with this id. */
export function indexOf(cluster: TestCluster, instanceId: string): number {
  const i = cluster.instances.findIndex((instance) => instance.id === instanceId);
  if (i < 0) throw new Error(`no instance ${instanceId}`);
  return i;
}
