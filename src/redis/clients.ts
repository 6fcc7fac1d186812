import { createClient } from 'redis';
import type { Logger } from '../logger.js';

/** The one place clients are configured; no offline queue: while Redis is away commands fail at once. */
function build(url: string, name: string) {
  return createClient({
    url,
    name,
    disableOfflineQueue: true,
    pingInterval: 10_000,
    // No per-command timer: node-redis 6 arms an AbortSignal.timeout for every command by default,
    // about 8% of an instance's CPU under chat load. A dead connection still fails commands (no
    // offline queue, pings every 10 s); readiness has its own timeout for a Redis that hangs.
    commandOptions: { timeout: 0 },
    socket: { reconnectStrategy: reconnectDelay, connectTimeout: 5_000 },
  });
}

export type RedisClient = ReturnType<typeof build>;

export interface RedisClients {
  /** Commands: users, rooms, messages, presence, sessions, rate limits. */
  data: RedisClient;
  /** Adapter publishing. */
  pub: RedisClient;
  /** Adapter subscriptions (a connection in subscriber mode can run nothing else). */
  sub: RedisClient;
  close(): Promise<void>;
}

/** Exponential backoff with jitter, capped at 2 s, forever: an outage must end in recovery, not exit. */
export function reconnectDelay(retries: number): number {
  const base = Math.min(2000, 50 * 2 ** Math.min(retries, 6));
  return Math.round(base / 2 + Math.random() * (base / 2));
}

/**
 * One node-redis client with an error listener (an unlistened 'error' would crash the process).
 * Callers answer `unavailable` instead of hanging while Redis is away.
 */
export function createRedisClient(url: string, name: string, log: Logger): RedisClient {
  const client = build(url, name);
  let down = false;
  client.on('error', (err: Error) => {
    if (!down) log.warn({ client: name, err: err.message }, 'redis connection error');
    down = true;
  });
  client.on('ready', () => {
    if (down) log.info({ client: name }, 'redis connection restored');
    down = false;
  });
  return client;
}

/** Creates and connects the three clients; `close()` is idempotent. */
export async function connectRedisClients(
  url: string,
  instanceId: string,
  log: Logger,
): Promise<RedisClients> {
  const data = createRedisClient(url, `${instanceId}-data`, log);
  const pub = createRedisClient(url, `${instanceId}-pub`, log);
  const sub = createRedisClient(url, `${instanceId}-sub`, log);
  await Promise.all([data.connect(), pub.connect(), sub.connect()]);
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= Promise.allSettled(
      // A client still reconnecting would wait for Redis to come back: destroy it instead.
      [data, pub, sub].map(async (c) => {
        if (c.isReady) await c.close();
        else if (c.isOpen) c.destroy();
      }),
    ).then(() => undefined);
    return closing;
  };
  return { data, pub, sub, close };
}

/** The server's major version, from INFO server (7 or more serves sharded pub/sub). */
export async function redisMajorVersion(client: RedisClient): Promise<number> {
  const info = await client.info('server');
  const match = /redis_version:(\d+)/.exec(info);
  return match?.[1] ? Number(match[1]) : 0;
}
