import fc from 'fast-check';
import { JSON_BODY_LIMIT, MESSAGE_MAX, NGINX_BODY_LIMIT, SOCKET_MAX_BYTES } from '../limits.js';
import { unicodeText } from './unicode.js';

/**
 * Hostile values a client can put on the wire: strings around every limit and with key or protocol
 * syntax, odd numbers, binary, deep nesting, prototype keys; and near-valid variants of a valid
 * payload (one field off, one key extra).
 */

/** Lengths around every limit: message text, JSON body, socket packet, nginx body. */
export const HUGE_LENGTHS: readonly number[] = [
  MESSAGE_MAX,
  MESSAGE_MAX + 1,
  4096,
  JSON_BODY_LIMIT - 1,
  JSON_BODY_LIMIT + 1,
  SOCKET_MAX_BYTES + 1024,
  NGINX_BODY_LIMIT + 6 * 1024,
];

export const INJECTION_STRINGS: readonly string[] = [
  ...['a:b', ':', '{tag}', '}{', 'room:{x}:messages', '{presence}:online', '*', '?', '[a-z]', '|', 'u|x'],
  ...['\r\n', 'SET x 1\r\nPING\r\n', '../../etc/passwd', '..', '%00', '%s%n%x', '${jndi:ldap://x/a}'],
  ...['<script>alert(1)</script>', "' OR 1=1 --", '"; DROP TABLE users; --', 'null', 'undefined', 'NaN'],
  ...['true', '[]', '{}', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'],
  ...['room:General', 'General', '#', '0', '-1', '1e308', '0x10', ' 42 ', '\u0000', 'a\u0000b'],
  ...['\u0007\u0008\u001B[31m', '\u202Eevil\u202C', 'Z̴̡̪͎a̷̗͎l̸̰̓g̶̭̏o̵͚͊', '\uFFFE\uFFFF'],
];

/** Object keys worth trying: prototype pollution, protocol field names, key injection. */
export const HOSTILE_KEYS: readonly string[] = [
  ...['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty'],
  ...['room', 'name', 'text', 'since', 'clientId', 'sender', 'roomId', 'id', 'seq', 'timestamp'],
  ...['username', 'password', 'user', 'success', 'code', 'a:b', '{tag}', '', ' ', '\u0000', '\uD800', 'ключ'],
];

const HOSTILE_NUMBERS: readonly number[] = [
  ...[0, -0, 1, -1, 0.5, -1.5, 2, 7, 100, 101, MESSAGE_MAX, MESSAGE_MAX + 1, 65],
  ...[Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, -Number.MAX_SAFE_INTEGER, 2 ** 31, 2 ** 32],
  ...[2 ** 53, 1e21, 1e308, -1e308, 5e-324, Number.EPSILON],
];

/** Sets `key` as an own enumerable property, even `__proto__` (which `o[key] = v` would not). */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Strings of an exact length made of one repeated unit, or random ASCII. */
export function hugeString(lengths: readonly number[] = HUGE_LENGTHS): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom(...lengths), fc.constantFrom('x', 'é', ' ', '\u0000', '😀', '{', 'ab\u200b'))
    .map(([n, unit]) => unit.repeat(Math.ceil(n / unit.length)).slice(0, n));
}

export interface StringOptions {
  /** No string longer than this (default: every length of HUGE_LENGTHS). */
  maxLength?: number;
}

export function hostileString(opts: StringOptions = {}): fc.Arbitrary<string> {
  const huge = HUGE_LENGTHS.filter((n) => n <= (opts.maxLength ?? Infinity));
  const edge = fc.oneof(fc.constantFrom(...INJECTION_STRINGS), unicodeText(6));
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('', ' ', '   ', '\t\n', '\n') },
    { weight: 8, arbitrary: unicodeText() },
    { weight: 8, arbitrary: fc.constantFrom(...INJECTION_STRINGS) },
    { weight: 4, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 80 }) },
    { weight: 4, arbitrary: fc.tuple(fc.constantFrom('General', 'hello', 'x'), edge).map(([a, b]) => a + b) },
    { weight: huge.length > 0 ? 1 : 0, arbitrary: hugeString(huge.length > 0 ? huge : [1]) },
  );
}

export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_NUMBERS) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.integer({ min: -1000, max: 1000 }) },
);

export const binaryValue: fc.Arbitrary<Buffer | Uint8Array | ArrayBuffer> = fc
  .tuple(fc.uint8Array({ maxLength: 2048 }), fc.constantFrom('buffer', 'uint8', 'arraybuffer'))
  .map(([bytes, kind]) =>
    kind === 'buffer' ? Buffer.from(bytes) : kind === 'uint8' ? bytes : new Uint8Array(bytes).buffer,
  );

/** Arrays or objects nested deep (JSON text stays small: 2 bytes a level). */
export const deepNest: fc.Arbitrary<unknown> = fc
  .tuple(
    fc.constantFrom(50, 400, 1000),
    fc.boolean(),
    fc.boolean(),
    fc.constantFrom<unknown>(null, 'x', 1, {}),
  )
  .map(([depth, asArray, proto, leaf]) => {
    let v = leaf;
    for (let i = 0; i < depth; i++) {
      if (asArray) v = [v];
      else {
        const o: Record<string, unknown> = {};
        setOwn(o, proto && i % 7 === 0 ? '__proto__' : 'a', v);
        v = o;
      }
    }
    return v;
  });

/** An object from key/value entries, hostile keys set as own properties. */
export function objectOf(entries: fc.Arbitrary<[string, unknown][]>): fc.Arbitrary<Record<string, unknown>> {
  return entries.map((kv) => {
    const o: Record<string, unknown> = {};
    for (const [k, v] of kv) setOwn(o, k, v);
    return o;
  });
}

/** Any value a client could put on the wire (and some it could not, which serialise to something else). */
export function hostileValue(opts: StringOptions = {}): fc.Arbitrary<unknown> {
  const str = hostileString(opts);
  const leaf: fc.Arbitrary<unknown> = fc.oneof(
    {
      weight: 10,
      arbitrary: fc.constantFrom<unknown>(null, undefined, true, false, NaN, Infinity, -Infinity),
    },
    { weight: 30, arbitrary: hostileNumber },
    { weight: 60, arbitrary: str },
    { weight: 10, arbitrary: binaryValue },
    { weight: 3, arbitrary: fc.date({ noInvalidDate: false }) },
    { weight: 3, arbitrary: str.map((json) => ({ toJSON: () => json })) },
    { weight: 3, arbitrary: fc.constant(new Map([['room', 'General']])) },
  );
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth: 3, withCrossShrink: true },
      { weight: 80, arbitrary: leaf },
      { weight: 20, arbitrary: fc.array(tie('value'), { maxLength: 5 }) },
      {
        weight: 30,
        arbitrary: objectOf(
          fc.array(fc.tuple(fc.constantFrom(...HOSTILE_KEYS), tie('value')), { maxLength: 5 }),
        ),
      },
      { weight: 5, arbitrary: deepNest },
    ),
  }));
  return value;
}

/** A small edit that keeps a string close to valid (a plain record, so a counterexample reads well). */
export type Edit =
  | { kind: 'pad' | 'upper' | 'nfd' | 'chop' }
  | { kind: 'append' | 'prepend' | 'insert' | 'replace'; s: string }
  | { kind: 'repeat'; n: number };

export function edit(opts: StringOptions = {}): fc.Arbitrary<Edit> {
  const bad = fc.oneof(fc.constantFrom(...INJECTION_STRINGS), unicodeText(4));
  return fc.oneof(
    fc.constantFrom<Edit>({ kind: 'pad' }, { kind: 'upper' }, { kind: 'nfd' }, { kind: 'chop' }),
    fc.record({ kind: fc.constantFrom('append', 'prepend', 'insert'), s: bad }),
    fc.record({ kind: fc.constant('repeat'), n: fc.integer({ min: 2, max: 70 }) }),
    fc.record({ kind: fc.constant('replace'), s: hostileString(opts) }),
  );
}

/** Applies an edit; `maxLength` caps what `repeat` makes. */
export function applyEdit(s: string, e: Edit, maxLength = Infinity): string {
  switch (e.kind) {
    case 'pad':
      return `  ${s}\t`;
    case 'upper':
      return s.toUpperCase();
    case 'nfd':
      return s.normalize('NFD');
    case 'chop':
      return s.slice(0, Math.max(0, s.length - 1));
    case 'append':
      return s + e.s;
    case 'prepend':
      return e.s + s;
    case 'insert':
      return `${s.slice(0, s.length >> 1)}${e.s}${s.slice(s.length >> 1)}`;
    case 'replace':
      return e.s;
    case 'repeat':
      return s.repeat(e.n).slice(0, maxLength);
  }
}

/** A string from `base`, slightly edited. */
export function perturbString(base: fc.Arbitrary<string>, opts: StringOptions = {}): fc.Arbitrary<string> {
  return fc.tuple(base, edit(opts)).map(([s, e]) => applyEdit(s, e, opts.maxLength));
}

/**
 * Near-valid variants of a valid payload: as is, one field replaced by a hostile value or a
 * perturbed one, a field missing, extra hostile keys, wrapped in an array, sent as a JSON string.
 */
export function mutateObject(
  valid: fc.Arbitrary<Record<string, unknown>>,
  opts: StringOptions = {},
): fc.Arbitrary<unknown> {
  const value = hostileValue(opts);
  const pickKey = (o: Record<string, unknown>, k: number) => Object.keys(o)[k % Object.keys(o).length] ?? 'x';
  const copy = (o: Record<string, unknown>) => {
    const c: Record<string, unknown> = {};
    for (const k of Object.keys(o)) setOwn(c, k, o[k]);
    return c;
  };
  return fc.oneof(
    { weight: 3, arbitrary: valid },
    {
      weight: 5,
      arbitrary: fc.tuple(valid, fc.nat(), value).map(([o, k, v]) => {
        const c = copy(o);
        setOwn(c, pickKey(o, k), v);
        return c;
      }),
    },
    {
      weight: 3,
      arbitrary: fc.tuple(valid, fc.nat(), edit(opts), hostileNumber).map(([o, k, e, n]) => {
        const c = copy(o);
        const key = pickKey(o, k);
        const v = o[key];
        setOwn(c, key, typeof v === 'string' ? applyEdit(v, e, opts.maxLength) : n);
        return c;
      }),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(valid, fc.nat()).map(([o, k]) => {
        const c = copy(o);
        delete c[pickKey(o, k)];
        return c;
      }),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          valid,
          fc.array(fc.tuple(fc.constantFrom(...HOSTILE_KEYS), value), { minLength: 1, maxLength: 3 }),
        )
        .map(([o, extra]) => {
          const c = copy(o);
          for (const [k, v] of extra) setOwn(c, k, v);
          return c;
        }),
    },
    { weight: 1, arbitrary: valid.map((o) => [o]) },
    { weight: 1, arbitrary: valid.map((o) => JSON.stringify(o)) },
    { weight: 1, arbitrary: value },
  );
}
