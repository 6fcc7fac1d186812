import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Config } from './config.js';
import { createApp } from './http/app.js';
import { PUBSUB_FAIL_GRACE_MS, type ReadinessState } from './http/readiness.js';
import { createSessionMiddleware } from './http/session.js';
import type { Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createRateLimits } from './rate-limits.js';
import { connectRedisClients, type RedisClients } from './redis/clients.js';
import { createKeys } from './redis/keys.js';
import { createRealtime, type Realtime } from './realtime/io.js';
import { createMessageChangeStore } from './store/message-changes.js';
import { createMessageStore } from './store/messages.js';
import { createModerationStore } from './store/moderation.js';
import { createPresenceStore } from './store/presence.js';
import { createAccess, createMemberStore } from './store/members.js';
import { createRoomStore } from './store/rooms.js';
import { createPasswordHasher } from './store/passwords.js';
import { createUserStore } from './store/users.js';

export interface ChatServerHandle {
  httpServer: HttpServer;
  realtime: Realtime;
  redis: RedisClients;
  metrics: Metrics;
  /** Listens on config.host:config.port (port 0 picks one); resolves to the bound port. */
  listen(): Promise<number>;
  /** This instance's readiness: see src/http/readiness.ts for what each state means. */
  readiness(): Promise<ReadinessState>;
  /**
   * Ordered, idempotent shutdown: readiness fails → stop accepting → clients told to reconnect
   * (spread over DRAIN_WINDOW_MS) → HTTP closed → presence removed → Redis clients quit.
   */
  close(): Promise<void>;
}

const READY_CACHE_MS = 1000;
const PUBSUB_TIMEOUT_MS = 1500;

/** Composition root: builds one instance from its config. No process.* here (see main.ts). */
export async function createServer(config: Readonly<Config>, log: Logger): Promise<ChatServerHandle> {
  const keys = createKeys(config.redisPrefix);
  const redis = await connectRedisClients(config.redis, config.instanceId, log.child({ mod: 'redis' }));
  const metrics = createMetrics(config.instanceId);
  const passwords = createPasswordHasher({
    rounds: config.bcryptRounds,
    workers: config.bcryptWorkers,
    log: log.child({ mod: 'passwords' }),
  });
  const users = createUserStore(redis.data, keys, passwords);
  // Records of the original one-key `users` hash move to per-user keys; until copied they are read
  // from the hash (store/users.ts), so the start does not wait for it.
  void users.migrate().then(
    (copied) => copied > 0 && log.info({ copied }, 'migrated user records to per-user keys'),
    (err: unknown) => log.warn({ err }, 'user record migration failed; records are copied on first read'),
  );
  const rooms = createRoomStore(redis.data, keys);
  const members = createMemberStore(redis.data, keys);
  const access = createAccess(rooms, members);
  const messages = createMessageStore(
    redis.data,
    keys,
    {
      ...config,
      messageRate: config.rateLimits.enabled
        ? { perWindow: Math.ceil(config.rateLimits.messagePerS), burst: config.rateLimits.messageBurst }
        : undefined,
    },
    redis.durable,
  );
  // Issue 14: edits/deletions, read markers, mentions; suspension.
  const changes = createMessageChangeStore(redis.data, keys, config);
  const moderation = createModerationStore(redis.data, keys);
  const startedAt = new Date().toISOString();
  const presence = createPresenceStore(redis.data, keys, {
    instanceId: config.instanceId,
    leaseMs: config.presenceLeaseMs,
    startedAt,
  });
  const limits = createRateLimits(redis.data, keys, config.rateLimits, (name) =>
    metrics.rateLimited.inc({ limit: name }),
  );
  const session = createSessionMiddleware(config, redis.session, keys);

  let closing = false;
  const pubsub = await pubsubProbe(redis, keys.readyChannel(config.instanceId));
  let cached: { at: number; state: ReadinessState } | undefined;
  // Since when the pub/sub round trip has failed while Redis answered (undefined: it works).
  let pubsubFailingSince: number | undefined;
  async function readiness(): Promise<ReadinessState> {
    if (closing) return 'shutting down';
    // A connection known to be down outranks the cache: a 'ready' cached just before Redis went
    // away must not answer after it (a restart shorter than READY_CACHE_MS looked finished while
    // commands were still refused `unavailable`), and the first answer after it is a fresh check.
    if (!redis.data.isReady || !redis.durable.client.isReady || !redis.pub.isReady || !redis.sub.isReady) {
      cached = undefined;
      return 'degraded';
    }
    if (cached && Date.now() - cached.at < READY_CACHE_MS) return cached.state;
    let state: ReadinessState = 'ready';
    try {
      await withTimeout(redis.data.ping(), PUBSUB_TIMEOUT_MS);
      if (await pubsub()) pubsubFailingSince = undefined;
      else {
        // Right after a reconnect the resubscribe may still be on its way: only a lasting
        // failure, with Redis answering, is this instance's own fault.
        pubsubFailingSince ??= Date.now();
        state = Date.now() - pubsubFailingSince >= PUBSUB_FAIL_GRACE_MS ? 'pubsub broken' : 'degraded';
      }
    } catch {
      state = 'degraded';
    }
    cached = { at: Date.now(), state };
    return state;
  }

  const httpServer = createHttpServer();
  const app = createApp({
    config,
    log,
    session,
    metrics,
    users,
    rooms,
    messages,
    presence,
    limits,
    access,
    moderation,
    metricsToken: config.metricsToken,
    readiness,
    // Called on logout, long after `rt` below is set.
    endSessionSockets: (sid) => rt.endSession(sid),
  });
  httpServer.on('request', app);
  httpServer.keepAliveTimeout = 65_000;

  const rt = await createRealtime({
    httpServer,
    config,
    redis,
    keys,
    session,
    users,
    rooms,
    messages,
    presence,
    limits,
    metrics,
    members,
    access,
    adminUsers: config.adminUsers,
    changes,
    moderation,
    log: log.child({ mod: 'socket' }),
  });

  let closed: Promise<void> | undefined;
  async function shutdown(): Promise<void> {
    closing = true;
    log.info('shutting down: readiness off, draining sockets');
    httpServer.close();
    httpServer.closeIdleConnections();
    await rt.drain(config.drainWindowMs);
    await rt.leave().catch((err: unknown) => log.warn({ err }, 'could not remove presence'));
    httpServer.closeAllConnections();
    // With Redis away, drop the clients first: the adapter's unsubscribes on close would only queue
    // on a reconnecting client (and be rejected, handled, when it is destroyed).
    if (!redis.data.isReady || !redis.sub.isReady) await redis.close();
    await rt.close();
    await Promise.all([redis.close(), passwords.close()]);
    log.info('shut down');
  }

  return {
    httpServer,
    realtime: rt,
    redis,
    metrics,
    readiness,
    listen: () =>
      new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(config.port, config.host, () => {
          httpServer.off('error', reject);
          const addr = httpServer.address();
          resolve(typeof addr === 'object' && addr ? addr.port : config.port);
        });
      }),
    close() {
      closed ??= shutdown();
      return closed;
    },
  };
}

/** Rejects when `promise` takes longer than `ms` (commands carry no timer of their own). */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A message this instance publishes to itself: proves the pub and sub connections both work. */
async function pubsubProbe(redis: RedisClients, channel: string): Promise<() => Promise<boolean>> {
  const waiting = new Map<string, () => void>();
  await redis.sub.subscribe(channel, (message) => waiting.get(message)?.());
  return async () => {
    const nonce = randomUUID();
    const received = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), PUBSUB_TIMEOUT_MS);
      waiting.set(nonce, () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    try {
      await redis.pub.publish(channel, nonce);
      return await received;
    } finally {
      waiting.delete(nonce);
    }
  };
}
