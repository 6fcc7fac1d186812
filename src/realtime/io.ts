import { createHash } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import type { Session, SessionData } from 'express-session';
import { Server } from 'socket.io';
import type { Config } from '../config.js';
import type { SessionMiddleware } from '../http/session.js';
import { handshakeAuthSchema, SOCKET_PACKET_MAX_BYTES } from '../protocol.js';
import { redisMajorVersion, type RedisClients } from '../redis/clients.js';
import type { Keys } from '../redis/keys.js';
import type { ModerationStore } from '../store/moderation.js';
import { createChatListeners, onChatDisconnect, type ChatDeps } from './chat-handlers.js';
import { createScriptFanout } from './script-fanout.js';
import { CLIENT_EVENTS, userSocketRoom, type ChatServer, type ChatSocket } from './events.js';
import { createMembership } from './membership-handlers.js';
import { createMessageChangeListeners } from './message-change-handlers.js';
import { isAllowedOrigin } from './origin.js';
import { PresenceSync } from './presence-sync.js';
import { createRoomDirectory } from './room-directory.js';
import { SeqNotices } from './seq-notices.js';
import { enqueue, roomChange } from './socket-tasks.js';

type SessionRequest = IncomingMessage & {
  session?: Session & Partial<SessionData>;
  sessionID?: string;
  sessionStore?: unknown;
  _parsedUrl?: unknown;
  _parsedOriginalUrl?: unknown;
  _query?: Record<string, string>;
};

export interface RealtimeDeps extends Omit<ChatDeps, 'io' | 'sync' | 'directory'> {
  httpServer: HttpServer;
  config: Readonly<Config>;
  redis: RedisClients;
  keys: Keys;
  session: SessionMiddleware;
  users: ConstructorParameters<typeof PresenceSync>[2];
  /** Issue 14: suspension flags and each user's sessions. */
  moderation: ModerationStore;
}

export interface Realtime {
  io: ChatServer;
  adapter: 'sharded' | 'classic';
  /** Disconnects every socket of a session, on every instance. */
  endSession(sessionId: string): void;
  /** Asks every socket here to reconnect (elsewhere), spread over `windowMs`. */
  drain(windowMs: number): Promise<void>;
  /** After the drain: take this instance out of presence and tell the others the new counts. */
  leave(): Promise<void>;
  close(): Promise<void>;
}

const KNOWN_EVENTS: ReadonlySet<string> = new Set(CLIENT_EVENTS);

/** Sessions checked per Redis round trip by the sweep. */
const SWEEP_BATCH = 500;

/** The sockets of one session on this instance, and whether they were used since its last touch. */
interface SessionEntry {
  sessionId: string;
  sockets: Set<ChatSocket>;
  active: boolean;
  touchedAt: number;
}

export const hashSessionId = (sid: string) =>
  createHash('sha256').update(sid).digest('base64url').slice(0, 22);

/** Client address: behind a trusted proxy, the last X-Forwarded-For hop (the one our proxy appended). */
function clientIp(req: IncomingMessage, trustProxy: Config['trustProxy']): string {
  const forwarded = req.headers['x-forwarded-for'];
  if (trustProxy !== false && typeof forwarded === 'string') {
    const last = forwarded.split(',').at(-1)?.trim();
    if (last) return last;
  }
  return req.socket.remoteAddress ?? 'unknown';
}

async function chooseAdapter(config: Readonly<Config>, redis: RedisClients): Promise<'sharded' | 'classic'> {
  if (config.adapter !== 'auto') return config.adapter;
  return (await redisMajorVersion(redis.data)) >= 7 ? 'sharded' : 'classic';
}

export async function createRealtime(deps: RealtimeDeps): Promise<Realtime> {
  const { config, redis, keys, log } = deps;
  const io: ChatServer = new Server(deps.httpServer, {
    maxHttpBufferSize: SOCKET_PACKET_MAX_BYTES,
    pingInterval: 25_000,
    pingTimeout: 20_000,
    // Same-origin by default; engine.io calls this on every new connection (polling or websocket).
    allowRequest: (req, callback) => {
      const ok = isAllowedOrigin(req, config.allowedOrigins);
      if (!ok) log.warn({ origin: req.headers.origin }, 'refused a foreign origin');
      callback(ok ? null : 'forbidden_origin', ok);
    },
  });

  const adapter = await chooseAdapter(config, redis);
  io.adapter(
    adapter === 'sharded'
      ? createShardedAdapter(redis.adapter.pub, redis.adapter.sub, {
          channelPrefix: keys.adapterChannel,
          subscriptionMode: 'dynamic',
        })
      : createAdapter(redis.adapter.pub, redis.adapter.sub, {
          key: keys.adapterChannel,
          requestsTimeout: 5_000,
        }),
  );
  log.info({ adapter }, `socket.io redis adapter: ${adapter}`);

  const sync = new PresenceSync(
    io,
    deps.presence,
    deps.users,
    deps.metrics,
    log.child({ mod: 'presence' }),
    config.presenceHeartbeatMs,
  );
  await sync.register(0);
  sync.start();
  const directory = createRoomDirectory({
    io,
    rooms: deps.rooms,
    access: deps.access,
    log: log.child({ mod: 'rooms' }),
  });
  io.on('rooms-changed', () => directory.invalidate());
  // Pub/sub is at-most-once: after the subscriber reconnects a node and subscribes again (per
  // topology, RedisClients.onResubscribe) and every SEQ_NOTICE_MS, members learn each room's
  // latest seq (seq-notices.ts).
  const notices = new SeqNotices(io, deps.messages, log.child({ mod: 'seq-notices' }), config.seqNoticeMs);
  notices.start();
  // Fan-out from the append script (script-fanout.ts): the sharded adapter, and no replica to wait
  // for before a message may be published.
  const fanout =
    adapter === 'sharded' && redis.durable.replicas === 0
      ? createScriptFanout(io, log.child({ mod: 'fanout' }), redis.mode === 'cluster')
      : undefined;
  log.info({ fanout: fanout !== undefined }, 'fan-out from the append script');
  const chatDeps: ChatDeps = { ...deps, io, sync, directory, fanout };
  const membership = createMembership(chatDeps);
  io.on('membership-changed', membership.onRemoteChange);
  // A removal lost with pub/sub is applied by a re-check of the members (membership-handlers.ts).
  const recheckTimer = setInterval(() => void membership.recheck(), config.seqNoticeMs);
  recheckTimer.unref();
  const offResubscribe = redis.onResubscribe(() => {
    notices.afterResubscribe();
    void membership.recheck();
  });
  const chatListeners = createChatListeners(chatDeps, membership);
  // Issue 14: edit/delete, read markers, suspension.
  chatListeners.push(...createMessageChangeListeners({ ...deps, io, log: log.child({ mod: 'changes' }) }));

  /**
   * The session, read once per connection from the handshake request, in a Socket.IO middleware
   * with a throwaway response object. Not in an engine.io middleware: with one, engine.io builds a
   * response object for every WebSocket upgrade and keeps it for the connection's life (with the
   * session middleware's writeHead/end wrappers, closures over the request and the session), and
   * deletes a property of the request after the upgrade, which turns the request, kept as
   * `socket.request`, into a dictionary-mode object: ~2.7 KB more per idle connection in all. A
   * handshake's response never carries the session cookie (the session exists before a socket may
   * connect), so the response object has nothing to do.
   */
  const readSession = (req: SessionRequest) =>
    new Promise<void>((resolve, reject) =>
      deps.session(req as never, {} as never, (err?: unknown) => (err ? reject(err) : resolve())),
    );

  // Session ids from the handshake to the connection handler (kept here, never in socket.data).
  const sessionIds = new WeakMap<ChatSocket, string>();
  io.use((socket, next) => {
    const req = socket.request as SessionRequest;
    readSession(req).then(
      () => admit(socket, req, next),
      (err: unknown) => {
        log.warn({ err }, 'session read failed on a handshake');
        next(new Error('unavailable'));
      },
    );
  });

  /** After the session read: identity into socket.data, connection limits; refuses without a signed-in session. */
  function admit(socket: ChatSocket, req: SessionRequest, next: (err?: Error) => void): void {
    const username = req.session?.user?.username;
    if (!username || !req.sessionID) return next(new Error('unauthorized'));
    const sessionId = req.sessionID;
    sessionIds.set(socket, sessionId);
    // Socket.IO keeps the handshake request for the socket's lifetime: drop the session objects
    // express-session hung on it (kilobytes per idle connection) once identity is read. Assigned,
    // not deleted: a delete turns the request into a dictionary-mode object (+1.6 KB per connection).
    req.session = undefined;
    req.sessionStore = undefined;
    req.sessionID = undefined;
    req._parsedUrl = undefined;
    req._parsedOriginalUrl = undefined;
    const ip = clientIp(req, config.trustProxy);
    // Per user does the real work; per address is a loose ceiling (a NAT'd office shares one).
    Promise.all([
      deps.limits.consume('connect_user', username),
      deps.limits.consume('connect_ip', ip),
      // Issue 14: a session that outlived its user's suspension (a sign-in racing it) connects no socket.
      deps.moderation.isSuspended(username),
    ]).then(
      ([, , suspended]) => {
        if (suspended) return next(new Error('suspended'));
        socket.data = {
          user: username,
          sessionHash: hashSessionId(sessionId),
          ip,
          room: null,
          restricted: false,
          revoked: null,
          lastTypingAt: 0,
          directory: handshakeAuthSchema.safeParse(socket.handshake.auth).success,
        };
        next();
      },
      (err: unknown) =>
        next(new Error(err instanceof Error && 'code' in err ? String(err.code) : 'unavailable')),
    );
  }

  const bySession = new Map<string, SessionEntry>();
  let leaving = false;

  const endLocal = (hash: unknown) => {
    if (typeof hash !== 'string') return;
    for (const socket of bySession.get(hash)?.sockets ?? []) socket.disconnect(true);
  };
  io.on('logout', endLocal);

  /**
   * One timer per instance (no per-socket timers): every session with a socket here is checked in
   * the store. A session used over its sockets since its last touch, and touched longer than TTL/4
   * ago, gets its TTL renewed (EXPIRE, the same as an HTTP request's touch): at most one write per
   * session per TTL/4, whatever the message rate. A session gone from the store (expired, signed
   * out, ended by an operator) has its sockets here disconnected, so an ended session stops
   * posting within one sweep on every instance, even one that missed the logout broadcast.
   */
  const ttlS = config.sessionTtlS;
  const touchEveryMs = (ttlS * 1000) / 4;
  let sweeping = false;
  async function sweep(): Promise<void> {
    if (sweeping) return;
    sweeping = true;
    try {
      const entries = [...bySession];
      for (let i = 0; i < entries.length; i += SWEEP_BATCH) {
        const batch = entries.slice(i, i + SWEEP_BATCH);
        const now = Date.now();
        // One command per key (keys of different sessions may sit on different cluster slots).
        const alive = await Promise.all(
          batch.map(([, entry]) => {
            const key = keys.sessions + entry.sessionId;
            if (!entry.active || now - entry.touchedAt < touchEveryMs) return redis.data.exists(key);
            entry.active = false;
            entry.touchedAt = now;
            return redis.data.expire(key, ttlS);
          }),
        );
        batch.forEach(([hash, entry], j) => {
          if (Number(alive[j]) !== 0) return;
          const user = entry.sockets.values().next().value?.data.user;
          log.info({ user, sockets: entry.sockets.size }, 'session ended; disconnecting its sockets');
          endLocal(hash);
        });
      }
    } catch (err) {
      log.debug({ err }, 'session sweep failed; retrying on the next tick');
    } finally {
      sweeping = false;
    }
  }
  const sweepTimer = setInterval(() => void sweep(), Math.min(config.sessionSweepMs, touchEveryMs));
  sweepTimer.unref();

  // Listeners shared by every socket (each reads its socket from `this`): an idle connection
  // carries no closures of its own.
  function onDisconnect(this: ChatSocket, reason: string): void {
    const { user, sessionHash } = this.data;
    deps.metrics.socketsConnected.dec();
    const entry = bySession.get(sessionHash);
    entry?.sockets.delete(this);
    if (entry?.sockets.size === 0) bySession.delete(sessionHash);
    log.debug({ user, reason }, 'socket disconnected');
    if (leaving) return;
    enqueue(this, () =>
      onChatDisconnect(this, chatDeps).catch((err: unknown) =>
        log.debug({ err, user }, 'presence update on disconnect failed'),
      ),
    );
  }

  /** Marks the session used (see sweep); events nobody handles still get an answer when they ask for one. */
  function onAny(this: ChatSocket, event: unknown, ...args: unknown[]): void {
    const entry = bySession.get(this.data.sessionHash);
    if (entry) entry.active = true;
    const ack = args.at(-1);
    if (typeof event === 'string' && KNOWN_EVENTS.has(event)) return;
    if (typeof ack === 'function') ack({ success: false, error: 'Unknown event.', code: 'invalid_payload' });
  }

  async function setUp(socket: ChatSocket): Promise<void> {
    const { user } = socket.data;
    try {
      const count = await deps.presence.connect(user);
      if (count === 1) sync.userStatus(user, 'online');
      sync.markOnline(user);
      await directory.greet(socket);
      if (sync.online > 0) socket.emit('onlineUsers', sync.online);
    } catch (err) {
      log.warn({ err, user }, 'connection setup failed; asking the client to reconnect');
      socket.conn.close();
    }
  }

  io.on('connection', (socket) => {
    // Handlers first, synchronously: nothing the client emits right after connecting is lost.
    for (const [event, fn] of chatListeners) socket.on(event, fn);
    socket.on('disconnect', onDisconnect);
    socket.onAny(onAny);
    roomChange(socket.join(userSocketRoom(socket.data.user)), log, userSocketRoom(socket.data.user));
    const { sessionHash } = socket.data;
    let entry = bySession.get(sessionHash);
    if (!entry) {
      entry = { sessionId: sessionIds.get(socket) ?? '', sockets: new Set(), active: false, touchedAt: 0 };
      bySession.set(sessionHash, entry);
    }
    entry.sockets.add(socket);
    sessionIds.delete(socket);
    deps.metrics.socketsConnected.inc();
    enqueue(socket, () => setUp(socket));
  });

  let closed: Promise<void> | undefined;
  return {
    io,
    adapter,
    endSession(sessionId) {
      const hash = hashSessionId(sessionId);
      io.serverSideEmit('logout', hash);
      endLocal(hash);
    },
    async drain(windowMs) {
      const sockets = [...io.of('/').sockets.values()];
      await Promise.all(
        sockets.map(
          (socket) =>
            new Promise<void>((resolve) => {
              // Closing the transport (not a server disconnect) makes clients reconnect by themselves.
              setTimeout(() => {
                socket.conn.close();
                resolve();
              }, Math.random() * windowMs);
            }),
        ),
      );
    },
    async leave() {
      leaving = true;
      await sync.leave();
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        sync.stop();
        notices.stop();
        offResubscribe();
        clearInterval(recheckTimer);
        clearInterval(sweepTimer);
        void io.close(() => resolve());
      });
      return closed;
    },
  };
}
