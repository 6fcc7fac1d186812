import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import {
  authBody,
  authRef,
  cookieRef,
  encodeSegment,
  headerSafe,
  historyQuery,
  queryValue,
  roomSegment,
  type AuthRef,
  type CookieRef,
} from './http-parts.js';
import { hostileString } from './values.js';

/**
 * HTTP requests to every route, through nginx or straight to an instance: fuzzed method, path,
 * query, body, Content-Type and -Encoding, cookie, Authorization and a few other headers. Session
 * cookies and the metrics token are symbolic (`CookieRef`, `AuthRef`) and resolved when sent, so a
 * replayed seed makes the same requests against a new cluster.
 */

export type Target = 'nginx' | 0 | 1 | 2;

export interface HttpCase {
  /** A route label for the figures (not the fuzzed path). */
  route: string;
  method: string;
  path: string;
  target: Target;
  headers: Record<string, string>;
  cookie?: CookieRef;
  auth?: AuthRef;
  body?: Buffer;
}

export interface HttpContext {
  rooms: readonly string[];
  users: readonly { username: string; password: string }[];
  /** Usernames register may try: a fixed pool, so repeats collide instead of piling up bcrypt work. */
  newUsers: readonly string[];
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'PROPFIND', 'PURGE'] as const;

const CONTENT_TYPES: readonly (string | undefined)[] = [
  ...['application/json', 'application/json', 'application/json', 'application/json; charset=utf-8'],
  ...[
    'application/json; charset="UTF-8"',
    'application/json; charset=utf-16',
    'application/json; charset=latin1',
  ],
  ...[
    'application/json; charset=bogus',
    'application/vnd.api+json',
    'application/x+json',
    'APPLICATION/JSON',
  ],
  ...['text/plain', 'text/html', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=xyz'],
  ...['*/*', ';;;', 'application/json, text/plain', '', undefined],
];

const OTHER_PATHS: readonly string[] = [
  ...['/', '/auth', '/auth/', '/api', '/api/', '/api/rooms/', '/api/rooms//messages', '/api/rooms/General'],
  ...[
    '/api/rooms/General/messages/extra',
    '/AUTH/LOGIN',
    '/auth/register/',
    '/auth/me/',
    '/api/ROOMS',
    '/%ZZ',
  ],
  ...['/auth/%ZZ', '/..%2f..%2fetc%2fpasswd', '/chat.html', '/%2e%2e/%2e%2e/etc/passwd', '/__proto__'],
  ...['/api/__proto__', '/auth/constructor', '/readyz', '/healthz', '/metrics/', `/${'a'.repeat(1000)}`],
];

const ROUTES: readonly [number, string][] = [
  [6, 'POST /auth/register'],
  [8, 'POST /auth/login'],
  [3, 'POST /auth/logout'],
  [4, 'GET /auth/me'],
  [4, 'GET /api/rooms'],
  [12, 'GET /api/rooms/:room/messages'],
  [3, 'GET /api/status'],
  [3, 'GET /metrics'],
  [3, 'GET /socket.io/'],
  [2, 'GET other'],
];

function pathOf(route: string, ctx: HttpContext): fc.Arbitrary<string> {
  switch (route) {
    case 'GET /api/rooms/:room/messages':
      return fc.tuple(roomSegment(ctx.rooms), historyQuery).map(([r, q]) => `/api/rooms/${r}/messages${q}`);
    case 'GET /socket.io/':
      return fc
        .record({
          eio: fc.constantFrom('EIO=4', 'EIO=3', 'EIO=5', 'EIO=x', 'EIO=', ''),
          transport: fc.constantFrom('polling', 'websocket', 'xhr', '', '%00'),
          sid: fc.option(
            fc.oneof(
              fc.constantFrom('', 'x', 'AAAAAAAAAAAAAAAAAAAA', '%ZZ'),
              hostileString({ maxLength: 200 }).map(encodeSegment),
            ),
          ),
          b64: fc.boolean(),
          t: fc.option(queryValue),
        })
        .map(
          (p) =>
            `/socket.io/?${p.eio}&transport=${p.transport}${p.sid === null ? '' : `&sid=${p.sid}`}${p.b64 ? '&b64=1' : ''}${p.t === null ? '' : `&t=${p.t}`}`,
        );
    case 'GET other':
      return fc.constantFrom(...OTHER_PATHS);
    default:
      return fc.constant(route.split(' ')[1] ?? '/');
  }
}

const extraHeaders: fc.Arbitrary<Record<string, string>> = fc.record(
  {
    'x-forwarded-for': fc.oneof(
      fc.constantFrom('1.2.3.4', 'a:b', '', '1.1.1.1, 2.2.2.2', '::1', '999.1.1.1'),
      hostileString({ maxLength: 200 }).map(headerSafe),
    ),
    origin: fc.constantFrom('http://evil.example', 'null', '', '%ZZ', 'http://127.0.0.1'),
    accept: fc.constantFrom('text/html', '*/*', 'application/json;q=0', ''),
    host: fc.constantFrom('evil.example', '[::1', 'a:b:c', ''),
  },
  { requiredKeys: [] },
);

/** `arb`'s value `percent`% of the time, else null. */
const rarely = <T>(arb: fc.Arbitrary<T>, percent: number): fc.Arbitrary<T | null> =>
  fc.oneof({ weight: 100 - percent, arbitrary: fc.constant(null) }, { weight: percent, arbitrary: arb });

const encoding = fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x-bogus', 'gzip, gzip', 'GZIP');

export function httpCase(ctx: HttpContext): fc.Arbitrary<HttpCase> {
  // One arbitrary per route, built once: building them is the costly part.
  return fc.oneof(...ROUTES.map(([weight, r]) => ({ weight, arbitrary: routeCase(r, ctx) })));
}

function routeCase(r: string, ctx: HttpContext): fc.Arbitrary<HttpCase> {
  const [routeMethod = 'GET', routePath = '/'] = r.split(' ');
  const isAuthRoute = routePath.startsWith('/auth/') && routeMethod === 'POST';
  return fc
    .record({
      target: fc.constantFrom<Target>('nginx', 'nginx', 0, 1, 2),
      otherMethod: rarely(fc.constantFrom(...METHODS), 15),
      path: pathOf(r, ctx),
      hostileQuery: rarely(hostileString({ maxLength: 400 }), 5),
      body: isAuthRoute ? authBody(ctx) : rarely(authBody(ctx), 8),
      contentType: fc.constantFrom(...CONTENT_TYPES),
      encoding: rarely(fc.tuple(encoding, fc.boolean()), 7),
      cookieStable: cookieRef(false),
      cookieVolatile: cookieRef(true),
      auth: authRef,
      strayAuth: rarely(fc.constant(true), 5),
      headers: rarely(extraHeaders, 15),
    })
    .map((p): HttpCase => {
      const method = p.otherMethod ?? routeMethod;
      let path = p.path;
      if (p.hostileQuery !== null && !path.includes('?')) path += `?${encodeSegment(p.hostileQuery)}`;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(p.headers ?? {}))
        if (k !== 'host' || p.target !== 'nginx') headers[k] = v;
      const c: HttpCase = { route: r, method, path, target: p.target, headers };
      if (p.body !== null && (!isAuthRoute || method === 'POST')) {
        c.body = p.body;
        if (p.contentType !== undefined) headers['content-type'] = p.contentType;
        if (p.encoding !== null) {
          const [enc, real] = p.encoding;
          headers['content-encoding'] = enc;
          if (enc === 'gzip' && real) c.body = gzipSync(c.body);
        }
      }
      // A request that may end its session (logout, sign-in) never carries a stable cookie.
      const volatile = method === 'POST' && path.toLowerCase().startsWith('/auth');
      const cookie = volatile ? p.cookieVolatile : p.cookieStable;
      if (cookie !== undefined) c.cookie = cookie;
      if ((r === 'GET /api/status' || r === 'GET /metrics' || p.strayAuth !== null) && p.auth !== undefined)
        c.auth = p.auth;
      return c;
    });
}
