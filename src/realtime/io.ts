import { createHash } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import type { Session, SessionData } from 'express-session';
import { Server } from 'socket.io';
import type { Config } from '../config.js';
import type { SessionMiddleware } from '../http/session.js';
import { redisMajorVersion, type RedisClients } from '../redis/clients.js';
import type { Keys } from '../redis/keys.js';
import { createChatListeners, onChatDisconnect, type ChatDeps } from './chat-handlers.js';
import { CLIENT_EVENTS, type ChatServer, type ChatSocket } from './events.js';
import { isAllowedOrigin } from './origin.js';
import { PresenceSync } from './presence-sync.js';
import { enqueue } from './socket-tasks.js';

type SessionRequest = IncomingMessage & {
  session?: Session & Partial<SessionData>;
  sessionID?: string;
  sessionStore?: unknown;
  _parsedUrl?: unknown;
  _parsedOriginalUrl?: unknown;
  _query?: Record<string, string>;
};

export interface RealtimeDeps extends Omit<ChatDeps, 'io' | 'sync'> {
  httpServer: HttpServer;
  config: Readonly<Config>;
  redis: RedisClients;
  keys: Keys;
  session: SessionMiddleware;
  users: ConstructorParameters<typeof PresenceSync>[2];
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
    maxHttpBufferSize: 32 * 1024,
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
      ? createShardedAdapter(redis.pub, redis.sub, {
          channelPrefix: keys.adapterChannel,
          subscriptionMode: 'dynamic',
        })
      : createAdapter(redis.pub, redis.sub, { key: keys.adapterChannel, requestsTimeout: 5_000 }),
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
  const chatDeps: ChatDeps = { ...deps, io, sync };
  const chatListeners = createChatListeners(chatDeps);

  // The session is read once, on the handshake request: later polling requests carry the engine sid.
  io.engine.use((req: SessionRequest, res: ServerResponse, next: (err?: unknown) => void) => {
    if (req._query?.sid !== undefined) return next();
    deps.session(req as never, res as never, next);
  });

  io.use((socket, next) => {
    const req = socket.request as SessionRequest;
    const username = req.session?.user?.username;
    if (!username || !req.sessionID) return next(new Error('unauthorized'));
    const sessionId = req.sessionID;
    // Socket.IO keeps the handshake request for the socket's lifetime: drop the session objects
    // express-session hung on it (kilobytes per idle connection) once identity is read.
    delete req.session;
    delete req.sessionStore;
    delete req.sessionID;
    delete req._parsedUrl;
    delete req._parsedOriginalUrl;
    const ip = clientIp(req, config.trustProxy);
    // Per user does the real work; per address is a loose ceiling (a NAT'd office shares one).
    Promise.all([deps.limits.consume('connect_user', username), deps.limits.consume('connect_ip', ip)]).then(
      () => {
        socket.data = {
          user: username,
          sessionHash: hashSessionId(sessionId),
          ip,
          room: null,
          lastTypingAt: 0,
        };
        next();
      },
      (err: unknown) =>
        next(new Error(err instanceof Error && 'code' in err ? String(err.code) : 'unavailable')),
    );
  });

  const bySession = new Map<string, Set<ChatSocket>>();
  let leaving = false;

  const endLocal = (hash: unknown) => {
    if (typeof hash !== 'string') return;
    for (const socket of bySession.get(hash) ?? []) socket.disconnect(true);
  };
  io.on('logout', endLocal);

  // Listeners shared by every socket (each reads its socket from `this`): an idle connection
  // carries no closures of its own.
  function onDisconnect(this: ChatSocket, reason: string): void {
    const { user, sessionHash } = this.data;
    deps.metrics.socketsConnected.dec();
    const set = bySession.get(sessionHash);
    set?.delete(this);
    if (set?.size === 0) bySession.delete(sessionHash);
    log.debug({ user, reason }, 'socket disconnected');
    if (leaving) return;
    enqueue(this, () =>
      onChatDisconnect(this, chatDeps).catch((err: unknown) =>
        log.debug({ err, user }, 'presence update on disconnect failed'),
      ),
    );
  }

  /** Events nobody handles still get an answer when they ask for one. */
  function onUnknown(event: unknown, ...args: unknown[]): void {
    const ack = args.at(-1);
    if (typeof event === 'string' && KNOWN_EVENTS.has(event)) return;
    if (typeof ack === 'function') ack({ success: false, error: 'Unknown event.', code: 'invalid_payload' });
  }

  async function setUp(socket: ChatSocket): Promise<void> {
    const { user } = socket.data;
    try {
      const count = await deps.presence.connect(user);
      if (count === 1) sync.userStatus(user, 'online');
      sync.markOnline();
      socket.emit('update-rooms', await deps.rooms.list());
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
    socket.onAny(onUnknown);
    const { sessionHash } = socket.data;
    const set = bySession.get(sessionHash) ?? new Set();
    set.add(socket);
    bySession.set(sessionHash, set);
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
        void io.close(() => resolve());
      });
      return closed;
    },
  };
}
