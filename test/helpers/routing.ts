import { request } from './http.js';

/** Routing probes: which instance nginx sends a client address to (sticky by `hash $remote_addr`). */

/** The instance id (X-Instance-Id) serving a request from loopback address `from` through `baseUrl`. */
export async function instanceVia(baseUrl: string, from: string): Promise<string> {
  const res = await request(`${baseUrl}/healthz`, { from });
  return String(res.headers['x-instance-id']);
}

/**
 * `count` loopback source addresses that nginx hashes to pairwise different instances (the mapping
 * depends on the upstreams' ports, so it is probed each run).
 */
export async function distinctSources(
  baseUrl: string,
  count: number,
): Promise<{ from: string; instance: string }[]> {
  const found = new Map<string, string>();
  for (let last = 2; last < 255 && found.size < count; last += 1) {
    const from = `127.0.0.${last}`;
    const instance = await instanceVia(baseUrl, from);
    if (!found.has(instance)) found.set(instance, from);
  }
  if (found.size < count) throw new Error(`nginx spread 253 addresses over only ${found.size} instances`);
  return [...found].map(([instance, from]) => ({ from, instance }));
}

/** Sockets connected to an instance right now, from its own metrics gauge. */
export async function socketsOn(instanceUrl: string, metricsToken: string): Promise<number> {
  const res = await request(`${instanceUrl}/metrics`, {
    headers: { authorization: `Bearer ${metricsToken}` },
  });
  const match = /^chat_sockets_connected\{[^}]*\} (\d+)/m.exec(res.body);
  return Number(match?.[1] ?? 0);
}
