import fc from 'fast-check';
import { JSON_BODY_LIMIT, NGINX_BODY_LIMIT, SESSION_COOKIE } from '../limits.js';
import {
  HOSTILE_KEYS,
  HUGE_LENGTHS,
  hostileString,
  hostileValue,
  hugeString,
  mutateObject,
  perturbString,
} from './values.js';

/** Parts of a fuzzed HTTP request: path segments, queries, cookies, Authorization, bodies. */

/** Header values Node's client accepts (latin-1 without control characters). */
export function headerSafe(s: string): string {
  return s.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?').slice(0, 2048);
}

/** Percent-encodes like encodeURIComponent, but lone surrogates become raw (invalid UTF-8) escapes. */
export function encodeSegment(s: string): string {
  let out = '';
  for (const ch of s) {
    try {
      out += encodeURIComponent(ch);
    } catch {
      const c = ch.charCodeAt(0);
      out += [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('');
    }
  }
  return out;
}

/** Raw path segments: broken percent-encoding, traversal, separators. */
const RAW_SEGMENTS: readonly string[] = [
  ...['%ZZ', '%', '%E0%A4%A', '%FF', '%C0%AF', '%ED%A0%80', '%00', '%2F', '..', '%2e%2e', '.', 'a;b'],
  ...['a%3Bb', '%0D%0ASet-Cookie:%20x=1', '%7Btag%7D', '*', 'General%23x', '%F0%9F%98%80', '%u0041'],
];

export function roomSegment(rooms: readonly string[]): fc.Arbitrary<string> {
  const room = fc.constantFrom(...rooms);
  const raw = fc.constantFrom(...RAW_SEGMENTS);
  return fc.oneof(
    { weight: 4, arbitrary: room.map(encodeSegment) },
    { weight: 3, arbitrary: perturbString(room, { maxLength: 600 }).map(encodeSegment) },
    { weight: 2, arbitrary: raw },
    { weight: 1, arbitrary: fc.tuple(room, raw).map(([r, s]) => encodeSegment(r) + s) },
    { weight: 2, arbitrary: hostileString({ maxLength: 1200 }).map(encodeSegment) },
  );
}

export const queryValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(1, 2, 5, 10, 50, 99, 100).map(String) },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      ...['', '0', '-1', '101', '1.5', '1e3', '1e308', '9007199254740993', 'NaN', 'Infinity', '0x10'],
      ...['%205', '5%20', 'abc', '%ZZ', '%00', 'true', '[]', '-0', '00001'],
    ),
  },
  { weight: 1, arbitrary: hostileString({ maxLength: 600 }).map(encodeSegment) },
);

/** `?before=…&limit=…` with repeats, arrays, objects and stray separators. */
export const historyQuery: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      {
        weight: 8,
        arbitrary: fc.tuple(fc.constantFrom('before', 'limit'), queryValue).map(([k, v]) => `${k}=${v}`),
      },
      {
        weight: 1,
        arbitrary: fc.tuple(fc.constantFrom('before[]', 'limit[]'), queryValue).map(([k, v]) => `${k}=${v}`),
      },
      {
        weight: 1,
        arbitrary: fc.constantFrom('before[x]=1', 'limit[x]=1', '&&&', '=', '==', '?', '%', 'before'),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.constantFrom(...HOSTILE_KEYS), queryValue)
          .map(([k, v]) => `${encodeSegment(k)}=${v}`),
      },
    ),
    { maxLength: 4 },
  )
  .map((parts) => (parts.length === 0 ? '' : `?${parts.join('&')}`));

/**
 * A Cookie header, symbolic where it names a live session (resolved when sent): a stable cookie
 * (never logged out), one from the pool that logout may empty, or a literal.
 */
export type CookieRef =
  { stable: number; garbage?: 'before' | 'after' } | { pool: number } | { literal: string };

export function cookieRef(volatile: boolean): fc.Arbitrary<CookieRef | undefined> {
  const literal = fc
    .constantFrom(
      ...['C=', 'C=garbage', 'C=s%3Agarbage.signature', 'C=s:abc.def', 'C=%ZZ', 'C="quoted"'],
      ...[`C=s%3A${'A'.repeat(32)}.${'B'.repeat(43)}`, 'C=a; C=b', '__proto__=x; constructor=y'],
      ...['C=\u00ff\u00fe', `C=${'x'.repeat(3000)}`, ';;;=;'],
    )
    .map((c) => c.replace(/\bC=/g, `${SESSION_COOKIE}=`));

  const stable = volatile ? 0 : 1;
  return fc.oneof(
    { weight: volatile ? 1 : 3, arbitrary: fc.constant(undefined) },
    { weight: 8 * stable, arbitrary: fc.nat().map((k) => ({ stable: k })) },
    { weight: 3, arbitrary: fc.nat().map((k) => ({ pool: k })) },
    { weight: 3, arbitrary: literal.map((l) => ({ literal: l })) },
    {
      weight: stable,
      arbitrary: fc
        .tuple(fc.nat(), fc.constantFrom<'before' | 'after'>('before', 'after'))
        .map(([k, g]) => ({ stable: k, garbage: g })),
    },
  );
}

/** An Authorization header, symbolic where it carries the cluster's token (resolved when sent). */
export type AuthRef = { token: (typeof TOKEN_FORMS)[number] } | { literal: string };
const TOKEN_FORMS = [
  'exact',
  'lower',
  'double-space',
  'trailing',
  'suffix',
  'chopped',
  'basic',
  'bare',
  'bare-prefix',
] as const;

export const authRef: fc.Arbitrary<AuthRef | undefined> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: fc.constant({ token: 'exact' as const }) },
  { weight: 3, arbitrary: fc.constantFrom(...TOKEN_FORMS).map((token) => ({ token })) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(
        'Bearer',
        'Bearer ',
        `Bearer ${'A'.repeat(3000)}`,
        'Bearer \u00ff\u00fe',
        'Bearer null',
        'Bearer undefined',
      )
      .map((literal) => ({ literal })),
  },
  {
    weight: 1,
    arbitrary: hostileString({ maxLength: 1500 }).map((s) => ({ literal: headerSafe(`Bearer ${s}`) })),
  },
);

export function resolveAuth(ref: AuthRef, token: string): string {
  if ('literal' in ref) return ref.literal;
  switch (ref.token) {
    case 'exact':
      return `Bearer ${token}`;
    case 'lower':
      return `bearer ${token}`;
    case 'double-space':
      return `Bearer  ${token}`;
    case 'trailing':
      return `Bearer ${token} `;
    case 'suffix':
      return `Bearer ${token}x`;
    case 'chopped':
      return `Bearer ${token.slice(0, -1)}`;
    case 'basic':
      return `Basic ${Buffer.from(`admin:${token}`).toString('base64')}`;
    case 'bare':
      return token;
    case 'bare-prefix':
      return `Bearer${token}`;
  }
}

const MALFORMED_JSON: readonly string[] = [
  ...['', '{', '}', '{"username":', '{"username":"a","password":}', 'nul', 'null', 'true', '"string"'],
  ...[
    '123',
    '[1,2',
    '[]',
    '\uFEFF{}',
    '{"a":1}garbage',
    '{"a":1}{"b":2}',
    "{'username':'x'}",
    '{"username":"x",}',
  ],
  ...['{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"polluted":true}}}'],
  '{"username":"\\ud800","password":"\\udfff\\udfff\\udfff"}',
  '{"username":"a\\u0000b","password":"password123"}',
  '{"username":1e999,"password":-1e999}',
  '{"username":"alice","username":"bob","password":"password123"}',
];

const jsonText = (value: unknown): Buffer => {
  try {
    return Buffer.from(JSON.stringify(value) ?? 'null');
  } catch {
    return Buffer.from('null');
  }
};

/** A JSON or not-quite-JSON body for the auth routes: credentials of known and new users, mutated. */
export function authBody(ctx: {
  users: readonly { username: string; password: string }[];
  newUsers: readonly string[];
}): fc.Arbitrary<Buffer> {
  const username = fc.oneof(
    fc.constantFrom(...ctx.users.map((u) => u.username)),
    fc.constantFrom(...ctx.newUsers),
  );
  const password = fc.constantFrom(
    ...ctx.users.map((u) => u.password),
    ...['password123', 'wrong-password', 'x'.repeat(72), '€'.repeat(24), '€'.repeat(25), 'short'],
  );
  const opts = { maxLength: 20_000 };
  return fc.oneof(
    { weight: 12, arbitrary: mutateObject(fc.record({ username, password }), opts).map(jsonText) },
    { weight: 6, arbitrary: hostileValue(opts).map(jsonText) },
    { weight: 6, arbitrary: fc.constantFrom(...MALFORMED_JSON).map((s) => Buffer.from(s)) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom(100, 1000, 7000, 9000), fc.boolean())
        .map(([depth, arr]) =>
          Buffer.from(
            arr
              ? `${'['.repeat(depth)}1${']'.repeat(depth)}`
              : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
          ),
        ),
    },
    {
      weight: 2,
      arbitrary: hugeString(HUGE_LENGTHS).map((p) =>
        Buffer.from(JSON.stringify({ username: 'x', password: p })),
      ),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          fc.constantFrom(1, 64, 2048, JSON_BODY_LIMIT + 10),
          fc.uint8Array({ minLength: 1, maxLength: 64 }),
        )
        .map(([n, b]) => Buffer.alloc(n, Buffer.from(b))),
    },
    { weight: 1, arbitrary: fc.constant(Buffer.alloc(NGINX_BODY_LIMIT + 8 * 1024, '{')) },
  );
}
