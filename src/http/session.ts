import { RedisStore } from 'connect-redis';
import session from 'express-session';
import type { Config } from '../config.js';
import type { RedisClients } from '../redis/clients.js';
import type { Keys } from '../redis/keys.js';

declare module 'express-session' {
  interface SessionData {
    user?: { username: string };
  }
}

export const SESSION_COOKIE = 'chat.sid';

/** One session middleware for HTTP and the Socket.IO handshake; sessions live in Redis, so any instance reads any. */
export function createSessionMiddleware(
  config: Readonly<Config>,
  redis: RedisClients['session'],
  keys: Keys,
) {
  return session({
    name: SESSION_COOKIE,
    secret: config.sessionSecret,
    store: new RedisStore({ client: redis, prefix: keys.sessions, ttl: config.sessionTtlS }),
    resave: false,
    // Each HTTP response renews the cookie's expiry; socket activity renews the stored session
    // (realtime/io.ts sweep), so an active user's session outlives SESSION_TTL_S.
    rolling: true,
    saveUninitialized: false,
    proxy: config.trustProxy !== false,
    cookie: {
      httpOnly: true,
      sameSite: 'lax',
      secure: config.cookieSecure,
      maxAge: config.sessionTtlS * 1000,
      path: '/',
    },
  });
}

export type SessionMiddleware = ReturnType<typeof createSessionMiddleware>;
