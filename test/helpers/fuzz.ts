import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { CLIENT_EVENTS } from '../../src/realtime/events.js';

/**
 * Fuzzing helpers: a seeded PRNG and generators of hostile values, socket events and HTTP requests.
 *
 * Replay: every case is generated from (seed, stream, index) alone, never from a shared PRNG that
 * concurrent workers advance in timing-dependent order, so `FUZZ_SEED=<seed>` regenerates exactly
 * the same cases; a failure names its case index.
 */

// ---------------------------------------------------------------------------------------------
// Seeded PRNG

/** FNV-1a of a string: turns a stream label into a number to mix into the seed. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** splitmix32 step: a good 32-bit mixer for seeding. */
function mix32(x: number): number {
  let t = (x + 0x9e3779b9) | 0;
  t = Math.imul(t ^ (t >>> 16), 0x21f0aaad);
  t = Math.imul(t ^ (t >>> 15), 0x735a2d97);
  return (t ^ (t >>> 15)) >>> 0;
}

/** sfc32: small, fast, and good enough for fuzzing; fully determined by its 32-bit seed. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(readonly seed: number) {
    this.a = mix32(seed);
    this.b = mix32(this.a);
    this.c = mix32(this.b);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** The generator of case `index` of `stream`: independent of every other case. */
  static for(seed: number, stream: string, index: number): Rng {
    return new Rng(mix32((seed ^ fnv1a(stream)) + Math.imul(index + 1, 0x9e3779b1)));
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** [0, 1) */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** Picks a generator by weight and runs it. */
  weighted<T>(entries: readonly (readonly [number, () => T])[]): T {
    const total = entries.reduce((sum, [w]) => sum + w, 0);
    let r = this.next() * total;
    for (const [w, make] of entries) {
      if (r < w) return make();
      r -= w;
    }
    const last = entries.at(-1);
    if (last === undefined) throw new Error('weighted: no entries');
    return last[1]();
  }
}

/** FUZZ_SEED from the environment (decimal or 0x hex), else a fresh random one. */
export function fuzzSeed(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.FUZZ_SEED?.trim();
  if (raw !== undefined && raw !== '') {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
      throw new Error(`FUZZ_SEED must be a uint32: ${raw}`);
    return n >>> 0;
  }
  return randomBytes(4).readUInt32BE(0);
}

// ---------------------------------------------------------------------------------------------
// Hostile values

/** socket.io's limit (src/realtime/io.ts maxHttpBufferSize) and express.json's body limit. */
export const SOCKET_MAX_BYTES = 32 * 1024;
export const JSON_BODY_LIMIT = 16 * 1024;
/** nginx.conf client_max_body_size. */
export const NGINX_BODY_LIMIT = 64 * 1024;

/** Lengths around every limit: message text, JSON body, socket packet, nginx body. */
export const HUGE_LENGTHS = [
  2000,
  2001,
  4096,
  JSON_BODY_LIMIT - 1,
  JSON_BODY_LIMIT + 1,
  SOCKET_MAX_BYTES + 1024,
  NGINX_BODY_LIMIT + 6 * 1024,
] as const;

export const UNICODE_EDGES: readonly string[] = [
  '\uD800', // lone high surrogate
  '\uDFFF', // lone low surrogate
  'a\uD800b',
  '\uDFFF\uD800', // reversed pair
  '\uDBFF\uDFFF', // U+10FFFF
  '😀👩‍👩‍👧‍👦🇫🇷',
  '\u202Eevil\u202C', // RTL override
  '\u200F\u061C', // RTL mark, Arabic letter mark
  'שלום עולם',
  'مرحبا',
  '\u200B', // zero-width space
  'a\u200Db', // zero-width joiner
  '\uFEFF', // BOM
  '\u0000',
  'a\u0000b',
  '\u0007\u0008\u001B[31m', // bell, backspace, ANSI escape
  'e\u0301', // decomposed é (NFC changes it)
  'Cafe\u0301',
  '\u212B', // angstrom sign (NFC: Å)
  'İ', // lower-cases to two code points
  'ß',
  'ﬃ',
  'Ａｂｃ１２３', // fullwidth
  '٣٤٥', // Arabic-Indic digits
  '½²', // numbers that are not decimal digits
  '\u00A0\u2003\u3000', // non-ASCII white space
  '\u0085\u2028\u2029', // NEL, line and paragraph separators
  '\uFFFE\uFFFF',
  '\u{E0001}\u{E0041}', // tag characters
  'a\u20DD', // combining enclosing circle
  'Z̴̡̪͎a̷̗͎l̸̰̓g̶̭̏o̵͚͊',
];

export const INJECTION_STRINGS: readonly string[] = [
  'a:b',
  ':',
  '{tag}',
  '}{',
  'room:{x}:messages',
  '{presence}:online',
  '*',
  '?',
  '[a-z]',
  '|',
  'u|x',
  '\r\n',
  'SET x 1\r\nPING\r\n',
  '../../etc/passwd',
  '..',
  '%00',
  '%s%n%x',
  '${jndi:ldap://x/a}',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  '"; DROP TABLE users; --',
  'null',
  'undefined',
  'NaN',
  'true',
  '[]',
  '{}',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'room:General',
  'General',
  '#',
  '0',
  '-1',
  '1e308',
  '0x10',
  ' 42 ',
];

/** Object keys worth trying: prototype pollution, protocol field names, key injection. */
export const HOSTILE_KEYS: readonly string[] = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'room',
  'name',
  'text',
  'since',
  'clientId',
  'sender',
  'roomId',
  'id',
  'seq',
  'timestamp',
  'username',
  'password',
  'user',
  'success',
  'code',
  'a:b',
  '{tag}',
  '',
  ' ',
  '\u0000',
  '\uD800',
  'ключ',
];

export const HOSTILE_NUMBERS: readonly number[] = [
  0,
  -0,
  1,
  -1,
  0.5,
  -1.5,
  2,
  7,
  100,
  101,
  2000,
  2001,
  65,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 2,
  -Number.MAX_SAFE_INTEGER,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  1e21,
  1e308,
  -1e308,
  5e-324,
  Number.EPSILON,
];

/** Sets `key` as an own enumerable property, even `__proto__` (which `o[key] = v` would not). */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function randomAscii(rng: Rng, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += String.fromCharCode(rng.int(0x20, 0x7e));
  return s;
}

/** Random UTF-16 units from the whole BMP: control characters and lone surrogates included. */
function randomBmp(rng: Rng, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += String.fromCharCode(rng.int(0, 0xffff));
  return s;
}

function randomAstral(rng: Rng, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += String.fromCodePoint(rng.int(0x10000, 0x10ffff));
  return s;
}

export function hugeString(rng: Rng, length: number): string {
  return rng.weighted<string>([
    [3, () => rng.pick(['x', 'é', ' ', '\u0000', '😀', '{']).repeat(length).slice(0, length)],
    [1, () => randomAscii(rng, length)],
    [1, () => randomBmp(rng, length)],
  ]);
}

export interface HostileOptions {
  /** Allow strings longer than this (default: all of HUGE_LENGTHS). */
  maxLength?: number;
}

export function hostileString(rng: Rng, opts: HostileOptions = {}): string {
  const max = opts.maxLength ?? Infinity;
  const huge = HUGE_LENGTHS.filter((n) => n <= max);
  return rng.weighted<string>([
    [2, () => rng.pick(['', ' ', '   ', '\t\n', '\n'])],
    [4, () => rng.pick(UNICODE_EDGES)],
    [4, () => rng.pick(INJECTION_STRINGS)],
    [2, () => randomAscii(rng, rng.int(0, 80))],
    [2, () => randomBmp(rng, rng.int(1, 40))],
    [1, () => randomAstral(rng, rng.int(1, 10))],
    [2, () => `${rng.pick(['General', 'hello', 'x'])}${rng.pick([...UNICODE_EDGES, ...INJECTION_STRINGS])}`],
    [huge.length > 0 ? 1 : 0, () => hugeString(rng, rng.pick(huge))],
  ]);
}

export function hostileNumber(rng: Rng): number {
  return rng.weighted<number>([
    [4, () => rng.pick(HOSTILE_NUMBERS)],
    [1, () => (rng.next() - 0.5) * 10 ** rng.int(0, 20)],
    [1, () => rng.int(-1000, 1000)],
  ]);
}

export function binaryValue(rng: Rng, maxLength = 2048): Buffer | Uint8Array | ArrayBuffer {
  const bytes = randomBytesFrom(rng, rng.pick([0, 1, 16, 512, maxLength].filter((n) => n <= maxLength)));
  return rng.weighted<Buffer | Uint8Array | ArrayBuffer>([
    [2, () => bytes],
    [1, () => new Uint8Array(bytes)],
    [1, () => new Uint8Array(bytes).buffer],
  ]);
}

export function randomBytesFrom(rng: Rng, length: number): Buffer {
  const buf = Buffer.alloc(length);
  for (let i = 0; i < length; i++) buf[i] = rng.int(0, 255);
  return buf;
}

/** Arrays or objects nested `depth` deep (JSON text stays small: 2 bytes a level). */
export function deepNest(rng: Rng, depth: number): unknown {
  const leaf = rng.pick<unknown>([null, 'x', 1, {}, []]);
  const asArray = rng.chance(0.5);
  let v = leaf;
  for (let i = 0; i < depth; i++) {
    if (asArray) v = [v];
    else {
      const o: Record<string, unknown> = {};
      setOwn(o, rng.chance(0.1) ? '__proto__' : 'a', v);
      v = o;
    }
  }
  return v;
}

export function hostileObject(rng: Rng, depth: number, opts: HostileOptions = {}): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const n = rng.int(0, 5);
  for (let i = 0; i < n; i++) setOwn(o, rng.pick(HOSTILE_KEYS), hostileValue(rng, depth + 1, opts));
  return o;
}

/** Any value a client could put on the wire (and some it could not, which serialise to something else). */
export function hostileValue(rng: Rng, depth = 0, opts: HostileOptions = {}): unknown {
  const leafOnly = depth >= 3;
  return rng.weighted<unknown>([
    [1, () => null],
    [1, () => undefined],
    [1, () => rng.chance(0.5)],
    [3, () => hostileNumber(rng)],
    [1, () => rng.pick([NaN, Infinity, -Infinity])], // JSON turns these into null
    [6, () => hostileString(rng, opts)],
    [leafOnly ? 0 : 2, () => Array.from({ length: rng.int(0, 5) }, () => hostileValue(rng, depth + 1, opts))],
    [leafOnly ? 0 : 3, () => hostileObject(rng, depth, opts)],
    [leafOnly ? 0 : 0.5, () => deepNest(rng, rng.pick([50, 400, 1000]))],
    [1, () => binaryValue(rng)],
    [0.3, () => new Date(rng.int(-1e13, 1e13))],
    [
      0.3,
      () => {
        const json = hostileString(rng, opts); // drawn now: toJSON may run more than once
        return { toJSON: () => json };
      },
    ],
    [0.3, () => new Map([['room', 'General']])], // JSON: {}
  ]);
}

/**
 * Near-valid variants of a valid payload: as is, one field replaced by a hostile value or slightly
 * perturbed, a field missing, extra (hostile) keys, wrapped in an array, sent as a JSON string.
 */
export function mutateObject(rng: Rng, valid: Record<string, unknown>, opts: HostileOptions = {}): unknown {
  const keys = Object.keys(valid);
  const copy = (): Record<string, unknown> => {
    const o: Record<string, unknown> = {};
    for (const k of keys) setOwn(o, k, valid[k]);
    return o;
  };
  return rng.weighted<unknown>([
    [3, () => copy()], // valid as is
    [
      5,
      () => {
        const o = copy();
        setOwn(o, rng.pick(keys), hostileValue(rng, 1, opts));
        return o;
      },
    ],
    [
      3,
      () => {
        const o = copy();
        const k = rng.pick(keys);
        const v = o[k];
        setOwn(o, k, typeof v === 'string' ? perturbString(rng, v, opts) : hostileNumber(rng));
        return o;
      },
    ],
    [
      1,
      () => {
        const o = copy();
        delete o[rng.pick(keys)];
        return o;
      },
    ],
    [
      2,
      () => {
        const o = copy();
        for (let i = rng.int(1, 3); i > 0; i--) setOwn(o, rng.pick(HOSTILE_KEYS), hostileValue(rng, 1, opts));
        return o;
      },
    ],
    [1, () => [copy()]],
    [1, () => JSON.stringify(copy())],
    [1, () => hostileValue(rng, 0, opts)],
  ]);
}

/** Small edits that keep a string close to valid: whitespace, case, one bad character, one too many. */
export function perturbString(rng: Rng, s: string, opts: HostileOptions = {}): string {
  return rng.weighted<string>([
    [2, () => `  ${s}\t`],
    [1, () => s.toUpperCase()],
    [1, () => s.toLowerCase()],
    [1, () => s.normalize('NFD')],
    [2, () => s + rng.pick([...UNICODE_EDGES, ...INJECTION_STRINGS])],
    [2, () => rng.pick([...UNICODE_EDGES, ...INJECTION_STRINGS]) + s],
    [1, () => s.slice(0, Math.max(0, s.length - 1))],
    [1, () => s.slice(0, 1)],
    [1, () => s.repeat(rng.int(2, 70)).slice(0, opts.maxLength ?? Infinity)],
    [
      1,
      () =>
        `${s.slice(0, s.length >> 1)}${rng.pick(['\u0000', ':', '{', '}', '|', '\n', '\uD800'])}${s.slice(s.length >> 1)}`,
    ],
    [1, () => hostileString(rng, opts)],
  ]);
}

// ---------------------------------------------------------------------------------------------
// Socket cases

/** The events the server handles: fuzzed alongside unknown ones. */
export const CHAT_EVENTS = CLIENT_EVENTS;
export type ChatEvent = (typeof CHAT_EVENTS)[number];

/** Events no handler knows (socket.io-client refuses its reserved names, so those go raw). */
export const UNKNOWN_EVENTS: readonly string[] = [
  '',
  'x',
  'error',
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
  'update-rooms',
  'chat-message',
  'previous-messages',
  'onlineUsers',
  'room-users',
  'presence',
  'logout',
  'connection',
  'a:b',
  '{tag}',
  '*',
  'CREATE-ROOM',
  'Message',
  'message ',
  ' who',
  'join-room\u0000',
  'who\uD800',
  'room-stats'.repeat(30),
  'ping',
  'pong',
];

/** How the case is emitted: with an ack function, without one, or with a non-function in its place. */
export type AckMode = 'ack' | 'none' | 'non-function';

export interface SocketCase {
  index: number;
  event: string;
  args: unknown[];
  mode: AckMode;
  /** Whether the handler's payload came from the near-valid generator. */
  nearValid: boolean;
}

export interface SocketContext {
  /** Rooms that exist (created before the run). */
  rooms: readonly string[];
  /** Names create-room may try; a fixed pool so repeats collide (room_exists) instead of piling up rooms. */
  newRooms: readonly string[];
}

const NO_PAYLOAD: readonly string[] = ['leave-room', 'who', 'room-stats'];

export function socketCase(seed: number, index: number, ctx: SocketContext): SocketCase {
  const rng = Rng.for(seed, 'socket', index);
  const event = rng.weighted<string>([
    [3, () => 'create-room'],
    [5, () => 'join-room'],
    [1.5, () => 'leave-room'],
    [6, () => 'message'],
    [1.5, () => 'typing'],
    [1, () => 'who'],
    [1, () => 'room-stats'],
    [2, () => rng.pick(UNKNOWN_EVENTS)],
  ]);
  const nearValid = rng.chance(0.6);
  const args: unknown[] = [];
  if (NO_PAYLOAD.includes(event)) {
    if (rng.chance(0.5)) args.push(hostileValue(rng));
  } else if (event === 'typing') {
    args.push(
      nearValid
        ? rng.pick<unknown>([true, false, 'true', 1, 0, null, [true], { typing: true }])
        : hostileValue(rng),
    );
  } else if (nearValid) {
    args.push(nearValidPayload(rng, event, ctx));
  } else {
    args.push(hostileValue(rng));
  }
  // Extra arguments after the payload.
  if (rng.chance(0.12)) for (let i = rng.int(1, 3); i > 0; i--) args.push(hostileValue(rng, 1));
  const mode: AckMode =
    event === 'typing'
      ? rng.chance(0.7)
        ? 'none'
        : 'non-function'
      : rng.weighted<AckMode>([
          [86, () => 'ack'],
          [8, () => 'none'],
          [6, () => 'non-function'],
        ]);
  if (mode === 'non-function') args.push(rng.pick<unknown>(['ack', 0, null, {}, [], true, 'function () {}']));
  return { index, event, args, mode, nearValid };
}

function nearValidPayload(rng: Rng, event: string, ctx: SocketContext): unknown {
  switch (event) {
    case 'create-room': {
      const name = rng.pick(ctx.newRooms);
      return rng.weighted<unknown>([
        [3, () => name],
        [4, () => perturbString(rng, name)],
        [1, () => perturbString(rng, rng.pick(ctx.rooms))],
        [1, () => mutateObject(rng, { name })],
        [1, () => 'R'.repeat(rng.pick([64, 65, 256, 257]))],
      ]);
    }
    case 'join-room': {
      const room = rng.pick(ctx.rooms);
      return rng.weighted<unknown>([
        [3, () => room],
        [2, () => perturbString(rng, room)],
        [2, () => mutateObject(rng, { room })],
        [
          3,
          () =>
            mutateObject(rng, {
              room,
              since: rng.pick([0, 1, 5, 40, 1000, Number.MAX_SAFE_INTEGER]),
            }),
        ],
      ]);
    }
    case 'message': {
      const text = rng.weighted<string>([
        [4, () => `fuzz ${rng.int(0, 1e6)}`],
        [1, () => rng.pick(UNICODE_EDGES)],
        [1, () => 'm'.repeat(rng.pick([1999, 2000]))],
      ]);
      const valid: Record<string, unknown> = { text };
      if (rng.chance(0.6)) valid.clientId = rng.pick([`c${rng.int(0, 50)}`, 'a'.repeat(64), 'A-b_9']);
      return mutateObject(rng, valid);
    }
    default:
      return hostileValue(rng);
  }
}

/** Whether a value is sent as a binary attachment by socket.io. */
export function isBinary(v: unknown): v is Buffer | ArrayBuffer | ArrayBufferView {
  return v instanceof ArrayBuffer || ArrayBuffer.isView(v);
}

/**
 * What socket.io-client's encoder does to a packet with binary attachments before JSON.stringify
 * (socket.io-parser's deconstructPacket): binaries become placeholders and objects are copied key by
 * key with plain assignment, so an own `__proto__` key is dropped (primitive value) or swaps the
 * copy's prototype (object value) instead of being sent.
 */
function deconstructLikeClient(data: unknown, buffers: number[], viaToJSON = false): unknown {
  if (!data) return data;
  if (isBinary(data)) {
    buffers.push(data.byteLength);
    return { _placeholder: true, num: buffers.length - 1 };
  }
  if (Array.isArray(data)) return data.map((v: unknown) => deconstructLikeClient(v, buffers));
  if (typeof data === 'object' && !(data instanceof Date)) {
    const o = data as Record<string, unknown>;
    if (typeof o.toJSON === 'function' && !viaToJSON)
      return deconstructLikeClient((o.toJSON as () => unknown)(), buffers, true);
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(o)) copy[key] = deconstructLikeClient(o[key], buffers);
    return copy;
  }
  return data;
}

/**
 * Sizes of the frames socket.io sends for `emit(event, ...args)` over WebSocket: the text frame
 * (JSON with placeholders for binaries) and each binary attachment. maxHttpBufferSize is enforced
 * per frame (ws maxPayload).
 */
export function frameSizes(event: string, args: readonly unknown[]): { text: number; binaries: number[] } {
  let found = false;
  const plain = JSON.stringify([event, ...args], function (this: unknown, key: string, value: unknown) {
    if (isBinary((this as Record<string, unknown>)[key])) found = true;
    return value;
  });
  // "4" (engine message) + "5"/"2" + attachments "N-" + ack id + JSON.
  const overhead = 24;
  if (!found) return { text: Buffer.byteLength(plain ?? '') + overhead, binaries: [] };
  const binaries: number[] = [];
  try {
    const json = JSON.stringify(deconstructLikeClient([event, ...args], binaries));
    return { text: Buffer.byteLength(json ?? '') + overhead, binaries };
  } catch {
    return { text: 0, binaries: [] }; // the client's encoder throws on it too: nothing is sent
  }
}

/**
 * The arguments as the server's handlers see them: JSON round trip of what the client encoder
 * sends (binary attachments stand in as `{ binary: true }`).
 */
export function serverView(event: string, args: readonly unknown[]): unknown[] {
  let found = false;
  const plain = JSON.stringify([event, ...args], function (this: unknown, key: string, value: unknown) {
    if (isBinary((this as Record<string, unknown>)[key])) {
      found = true;
      return { binary: true };
    }
    return value;
  });
  let text: string | undefined;
  try {
    text = found
      ? JSON.stringify(deconstructLikeClient([event, ...args], []), (_k, v: unknown) =>
          typeof v === 'object' && v !== null && Object.prototype.hasOwnProperty.call(v, '_placeholder')
            ? { binary: true }
            : v,
        )
      : plain;
  } catch {
    return []; // the client's encoder throws on it too: nothing is sent
  }
  const parsed: unknown = JSON.parse(text ?? '[]');
  return Array.isArray(parsed) ? parsed.slice(1) : [];
}

/** 'fits', 'over' (the server must close the socket), or 'edge' (too close to call). */
export function sizeClass(event: string, args: readonly unknown[], limit = SOCKET_MAX_BYTES) {
  const { text, binaries } = frameSizes(event, args);
  const largest = Math.max(text, ...binaries);
  if (largest <= limit - 64) return 'fits' as const;
  if (largest >= limit + 64) return 'over' as const;
  return 'edge' as const;
}

/** Total bytes of a case (for polling transports, which batch several packets into one POST). */
export function totalBytes(event: string, args: readonly unknown[]): number {
  const { text, binaries } = frameSizes(event, args);
  return text + binaries.reduce((s, n) => s + Math.ceil((n * 4) / 3) + 2, 0);
}

/** Malformed socket.io packets (engine.io message payloads), sent raw on a throwaway socket. */
/**
 * Malformed socket.io packets (engine.io message payloads), sent raw on a throwaway socket: one
 * frame, or a binary packet's frames (placeholder packet, then attachments).
 */
export function rawPacket(seed: number, index: number): (string | Buffer)[] {
  const rng = Rng.for(seed, 'raw', index);
  if (rng.chance(0.15)) return rawBinaryPacket(rng);
  return [rawFrame(rng)];
}

/** A BINARY_EVENT with its attachment: prototype keys, deep nesting, wrong counts, ack ids. */
function rawBinaryPacket(rng: Rng): (string | Buffer)[] {
  const id = rng.chance(0.7) ? String(rng.int(0, 1e6)) : '';
  const placeholder = '{"_placeholder":true,"num":0}';
  const depth = rng.pick([10, 1000, 15000]);
  const body = rng.weighted<string>([
    [3, () => `["message",{"__proto__":{"text":"via the prototype"}},${placeholder}]`],
    [1, () => `["join-room",{"__proto__":{"room":"General"}},${placeholder}]`],
    [1, () => `["create-room",{"constructor":{"prototype":{"polluted":true}}},${placeholder}]`],
    [1, () => `["message",{"text":${placeholder}}]`],
    [2, () => `["who",${'['.repeat(depth)}${placeholder}${']'.repeat(depth)}]`],
    [1, () => `["who",{"_placeholder":true,"num":1}]`],
    [1, () => `["who",{"_placeholder":true,"num":0,"__proto__":null}]`],
  ]);
  const attachments = rng.pick([1, 1, 1, 2, 0]);
  const frames: (string | Buffer)[] = [`5${attachments}-${id}${body}`];
  for (let i = 0; i < rng.pick([attachments, attachments, attachments + 1]); i++)
    frames.push(randomBytesFrom(rng, rng.int(0, 32)));
  return frames;
}

function rawFrame(rng: Rng): string | Buffer {
  const json = () => {
    try {
      return JSON.stringify(hostileValue(rng, 1, { maxLength: 4096 })) ?? 'null';
    } catch {
      return 'null';
    }
  };
  return rng.weighted<string | Buffer>([
    [
      3,
      () => rng.pick(['', '2', '2[', '2]', '2["who"', '2{}', '2[]', '2[null]', '2[{}]', '2[[]]', '2"who"']),
    ],
    [
      2,
      () =>
        rng.pick([
          '0',
          '0{}',
          '0/admin,',
          '0/admin,{}',
          '1',
          '1/admin,',
          '3',
          '3[]',
          '31[]',
          '4',
          '4"x"',
          '6',
          '7',
          '9',
          '99',
        ]),
    ],
    [
      2,
      () =>
        rng.pick([
          '2["disconnect"]',
          '2["connect"]',
          '2["newListener","x"]',
          '2["removeListener"]',
          '2["disconnecting"]',
          '2["connect_error"]',
        ]),
    ],
    [
      2,
      () => `2${rng.int(0, 1e9)}[${JSON.stringify(rng.pick([...CHAT_EVENTS, ...UNKNOWN_EVENTS]))},${json()}]`,
    ],
    [1, () => `2[${rng.pick(['42', '-1', '1.5', 'null', 'true', '{}', '[]'])},${json()}]`],
    [1, () => `2${rng.pick(['-1', '1e3', '99999999999999999999', 'abc', '0x1'])}["who"]`],
    [1, () => `2/admin,["who"]`],
    [
      2,
      () =>
        `5${rng.pick(['1', '2', '0', '-1', '999'])}-["message",{"_placeholder":true,"num":${rng.pick(['0', '1', '-1', '"x"', 'null'])}}]`,
    ],
    [1, () => `51-["message",{"_placeholder":true,"num":0}]`],
    [1, () => `2${json()}`],
    [2, () => randomBytesFrom(rng, rng.int(0, 64))],
    [1, () => `2${randomBmp(rng, rng.int(1, 30))}`],
  ]);
}

// ---------------------------------------------------------------------------------------------
// HTTP cases

export type Target = 'nginx' | 0 | 1 | 2;

export interface HttpCase {
  index: number;
  /** A route label for the figures (not the fuzzed path). */
  route: string;
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body?: Buffer;
  target: Target;
  /** username/password of the body when it parses as a JSON object (oracle for register/login). */
  credentials?: { username: unknown; password: unknown };
}

export interface HttpContext {
  rooms: readonly string[];
  /** Session cookies that stay valid for the whole run (never logged out). */
  stableCookies: readonly string[];
  /** Session cookies that logout may destroy; refilled by successful sign-ins. */
  cookies: readonly string[];
  users: readonly { username: string; password: string }[];
  /** Usernames register may try: a fixed pool, so repeats collide instead of piling up bcrypt work. */
  newUsers: readonly string[];
  metricsToken: string;
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'PROPFIND', 'PURGE'] as const;

const CONTENT_TYPES: readonly (string | undefined)[] = [
  'application/json',
  'application/json',
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset="UTF-8"',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'application/json; charset=bogus',
  'application/vnd.api+json',
  'application/x+json',
  'APPLICATION/JSON',
  'text/plain',
  'text/html',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  '*/*',
  ';;;',
  'application/json, text/plain',
  '',
  undefined,
];

const MALFORMED_JSON: readonly string[] = [
  '',
  '{',
  '}',
  '{"username":',
  '{"username":"a","password":}',
  'nul',
  'null',
  'true',
  '"string"',
  '123',
  '[1,2',
  '[]',
  '\uFEFF{}',
  '{"a":1}garbage',
  '{"a":1}{"b":2}',
  "{'username':'x'}",
  '{"username":"x",}',
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '{"username":"\\ud800","password":"\\udfff\\udfff\\udfff"}',
  '{"username":"a\\u0000b","password":"password123"}',
  '{"username":1e999,"password":-1e999}',
  '{"username":"alice","username":"bob","password":"password123"}',
];

/** Header values Node's client accepts (latin-1 without control characters). */
function headerSafe(s: string): string {
  return s.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?').slice(0, 2048);
}

/** Percent-encodes like encodeURIComponent, but lone surrogates become raw (invalid UTF-8) escapes. */
function encodeSegment(s: string): string {
  let out = '';
  for (const ch of s) {
    try {
      out += encodeURIComponent(ch);
    } catch {
      const c = ch.charCodeAt(0);
      out +=
        `%${(0xe0 | (c >> 12)).toString(16)}%${(0x80 | ((c >> 6) & 0x3f)).toString(16)}%${(0x80 | (c & 0x3f)).toString(16)}`.toUpperCase();
    }
  }
  return out;
}

/** Raw path segments: broken percent-encoding, traversal, separators. */
const RAW_SEGMENTS: readonly string[] = [
  '%ZZ',
  '%',
  '%E0%A4%A',
  '%FF',
  '%C0%AF',
  '%ED%A0%80',
  '%00',
  '%2F',
  '..',
  '%2e%2e',
  '.',
  'a;b',
  'a%3Bb',
  '%0D%0ASet-Cookie:%20x=1',
  '%7Btag%7D',
  '*',
  'General%23x',
  '%F0%9F%98%80',
  '%u0041',
];

function roomSegment(rng: Rng, rooms: readonly string[]): string {
  return rng.weighted<string>([
    [4, () => encodeSegment(rng.pick(rooms))],
    [3, () => encodeSegment(perturbString(rng, rng.pick(rooms), { maxLength: 600 }))],
    [2, () => rng.pick(RAW_SEGMENTS)],
    [1, () => `${encodeSegment(rng.pick(rooms))}${rng.pick(RAW_SEGMENTS)}`],
    [2, () => encodeSegment(hostileString(rng, { maxLength: 1200 }))],
  ]);
}

function queryValue(rng: Rng): string {
  return rng.weighted<string>([
    [4, () => String(rng.pick([1, 2, 5, 10, 50, 99, 100]))],
    [
      4,
      () =>
        rng.pick([
          '',
          '0',
          '-1',
          '101',
          '1.5',
          '1e3',
          '1e308',
          '9007199254740993',
          'NaN',
          'Infinity',
          '0x10',
          '%205',
          '5%20',
          'abc',
          '%ZZ',
          '%00',
          'true',
          '[]',
          '-0',
          '00001',
        ]),
    ],
    [1, () => encodeSegment(hostileString(rng, { maxLength: 600 }))],
  ]);
}

function historyQuery(rng: Rng): string {
  const parts: string[] = [];
  for (const name of ['before', 'limit']) {
    if (rng.chance(0.55)) parts.push(`${name}=${queryValue(rng)}`);
    if (rng.chance(0.08)) parts.push(`${name}=${queryValue(rng)}`); // repeated parameter
    if (rng.chance(0.05)) parts.push(`${name}[]=${queryValue(rng)}`);
    if (rng.chance(0.04)) parts.push(`${name}[x]=1`);
  }
  if (rng.chance(0.1)) parts.push(`${encodeSegment(rng.pick(HOSTILE_KEYS))}=${queryValue(rng)}`);
  if (rng.chance(0.05)) parts.push(rng.pick(['&&&', '=', '==', '?', '%', 'before']));
  return parts.length === 0 ? '' : `?${parts.join('&')}`;
}

/**
 * A Cookie header. `volatile`: the request may end its session (logout destroys it; sign-in and
 * register regenerate it), so the stable cookies are never sent with it.
 */
function cookieHeader(rng: Rng, ctx: HttpContext, volatile: boolean): string | undefined {
  const stable = volatile ? 0 : 1;
  return rng.weighted<string | undefined>([
    [volatile ? 1 : 3, () => undefined],
    [8 * stable, () => rng.pick(ctx.stableCookies)],
    [ctx.cookies.length > 0 ? 3 : 0, () => rng.pick(ctx.cookies)],
    [
      3,
      () =>
        rng.pick([
          'chat.sid=',
          'chat.sid=garbage',
          'chat.sid=s%3Agarbage.signature',
          'chat.sid=s:abc.def',
          'chat.sid=%ZZ',
          'chat.sid="quoted"',
          `chat.sid=s%3A${'A'.repeat(32)}.${'B'.repeat(43)}`,
          'chat.sid=a; chat.sid=b',
          '__proto__=x; constructor=y',
          'chat.sid=\u00ff\u00fe',
          `chat.sid=${'x'.repeat(3000)}`,
          ';;;=;',
        ]),
    ],
    [stable, () => `${rng.pick(ctx.stableCookies)}; chat.sid=garbage`],
    [stable, () => `chat.sid=garbage; ${rng.pick(ctx.stableCookies)}`],
  ]);
}

function authorization(rng: Rng, token: string): string | undefined {
  return rng.weighted<string | undefined>([
    [2, () => undefined],
    [3, () => `Bearer ${token}`],
    [
      4,
      () =>
        rng.pick([
          'Bearer',
          'Bearer ',
          `bearer ${token}`,
          `Bearer  ${token}`,
          `Bearer ${token} `,
          `Bearer ${token}x`,
          `Bearer ${token.slice(0, -1)}`,
          `Basic ${Buffer.from(`admin:${token}`).toString('base64')}`,
          `Bearer ${'A'.repeat(3000)}`,
          token,
          'Bearer \u00ff\u00fe',
          'Bearer null',
          'Bearer undefined',
        ]),
    ],
    [1, () => headerSafe(`Bearer ${hostileString(rng, { maxLength: 1500 })}`)],
  ]);
}

/** A JSON or not-quite-JSON body, and the credentials it carries when it parses as a JSON object. */
function fuzzBody(rng: Rng, ctx: HttpContext): { body: Buffer; credentials?: HttpCase['credentials'] } {
  const body = rng.weighted<Buffer>([
    [
      6,
      () => {
        const known = rng.pick(ctx.users);
        const username = rng.chance(0.5) ? known.username : rng.pick(ctx.newUsers);
        const password = rng.chance(0.6)
          ? known.password
          : rng.pick([
              'password123',
              'wrong-password',
              'x'.repeat(72),
              '€'.repeat(24),
              '€'.repeat(25),
              'short',
            ]);
        return jsonText(mutateObject(rng, { username, password }, { maxLength: 20_000 }));
      },
    ],
    [3, () => jsonText(hostileValue(rng, 0, { maxLength: 20_000 }))],
    [3, () => Buffer.from(rng.pick(MALFORMED_JSON))],
    [
      1,
      () => {
        const depth = rng.pick([100, 1000, 7000, 9000]);
        const open = rng.chance(0.5) ? '[' : '{"a":';
        const close = open === '[' ? ']' : '}';
        return Buffer.from(open.repeat(depth) + '1' + close.repeat(depth));
      },
    ],
    [
      1,
      () => Buffer.from(JSON.stringify({ username: 'x', password: hugeString(rng, rng.pick(HUGE_LENGTHS)) })),
    ],
    [1, () => randomBytesFrom(rng, rng.pick([1, 64, 2048, JSON_BODY_LIMIT + 10]))],
    [0.5, () => Buffer.alloc(NGINX_BODY_LIMIT + 8 * 1024, '{')],
  ]);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return { body };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { body };
  const o = parsed as Record<string, unknown>;
  return { body, credentials: { username: o.username, password: o.password } };
}

function jsonText(value: unknown): Buffer {
  try {
    return Buffer.from(JSON.stringify(value) ?? 'null');
  } catch {
    return Buffer.from('null');
  }
}

export function httpCase(seed: number, index: number, ctx: HttpContext): HttpCase {
  const rng = Rng.for(seed, 'http', index);
  const target = rng.weighted<Target>([
    [4, () => 'nginx'],
    [2, () => 0],
    [2, () => 1],
    [2, () => 2],
  ]);
  const headers: Record<string, string | string[]> = {};
  const route = rng.weighted<string>([
    [3, () => 'POST /auth/register'],
    [4, () => 'POST /auth/login'],
    [1.5, () => 'POST /auth/logout'],
    [2, () => 'GET /auth/me'],
    [2, () => 'GET /api/rooms'],
    [6, () => 'GET /api/rooms/:room/messages'],
    [1.5, () => 'GET /api/status'],
    [1.5, () => 'GET /metrics'],
    [1.5, () => 'GET /socket.io/'],
    [1, () => 'GET other'],
  ]);
  const [routeMethod = 'GET', routePath = '/'] = route.split(' ');
  // Mostly the route's own method; sometimes another one.
  const method = rng.chance(0.85) ? routeMethod : rng.pick(METHODS);
  let path = routePath;
  let body: Buffer | undefined;
  let credentials: HttpCase['credentials'];

  switch (route) {
    case 'GET /api/rooms/:room/messages':
      path = `/api/rooms/${roomSegment(rng, ctx.rooms)}/messages${historyQuery(rng)}`;
      break;
    case 'GET /socket.io/':
      path = `/socket.io/?${rng.pick(['EIO=4', 'EIO=3', 'EIO=5', 'EIO=x', 'EIO=', ''])}&transport=${rng.pick(['polling', 'websocket', 'xhr', '', '%00'])}${rng.chance(0.5) ? `&sid=${rng.pick(['', 'x', 'AAAAAAAAAAAAAAAAAAAA', '%ZZ', encodeSegment(hostileString(rng, { maxLength: 200 }))])}` : ''}${rng.chance(0.3) ? '&b64=1' : ''}${rng.chance(0.3) ? `&t=${queryValue(rng)}` : ''}`;
      break;
    case 'GET other':
      path = rng.pick([
        '/',
        '/auth',
        '/auth/',
        '/api',
        '/api/',
        '/api/rooms/',
        '/api/rooms//messages',
        '/api/rooms/General',
        '/api/rooms/General/messages/extra',
        '/AUTH/LOGIN',
        '/auth/register/',
        '/auth/me/',
        '/api/ROOMS',
        '/%ZZ',
        '/auth/%ZZ',
        '/..%2f..%2fetc%2fpasswd',
        '/chat.html',
        '/%2e%2e/%2e%2e/etc/passwd',
        '/__proto__',
        '/api/__proto__',
        '/auth/constructor',
        '/readyz',
        '/healthz',
        '/metrics/',
        `/${'a'.repeat(1000)}`,
      ]);
      break;
    default:
      break;
  }
  if (rng.chance(0.05) && !path.includes('?'))
    path += `?${encodeSegment(hostileString(rng, { maxLength: 400 }))}`;

  const isAuthPost = routePath.startsWith('/auth/') && routeMethod === 'POST';
  if ((isAuthPost && method === 'POST') || rng.chance(0.08)) {
    const b = fuzzBody(rng, ctx);
    body = b.body;
    credentials = b.credentials;
    const type = rng.pick(CONTENT_TYPES);
    if (type !== undefined) headers['content-type'] = type;
    if (rng.chance(0.07)) {
      const enc = rng.pick(['gzip', 'deflate', 'br', 'identity', 'x-bogus', 'gzip, gzip', 'GZIP']);
      headers['content-encoding'] = enc;
      if (enc === 'gzip' && rng.chance(0.5)) body = gzipSync(body); // a real one, then maybe garbage
    }
  }
  const cookie = cookieHeader(rng, ctx, method === 'POST' && path.toLowerCase().startsWith('/auth'));
  if (cookie !== undefined) headers.cookie = headerSafe(cookie);
  if (route === 'GET /api/status' || route === 'GET /metrics' || rng.chance(0.05)) {
    const auth = authorization(rng, ctx.metricsToken);
    if (auth !== undefined) headers.authorization = auth;
  }
  if (rng.chance(0.06))
    headers['x-forwarded-for'] = rng.pick([
      '1.2.3.4',
      'a:b',
      '',
      '1.1.1.1, 2.2.2.2',
      '::1',
      '999.1.1.1',
      headerSafe(hostileString(rng, { maxLength: 200 })),
    ]);
  if (rng.chance(0.04))
    headers.origin = rng.pick(['http://evil.example', 'null', '', '%ZZ', 'http://127.0.0.1']);
  if (rng.chance(0.04)) headers.accept = rng.pick(['text/html', '*/*', 'application/json;q=0', '']);
  if (rng.chance(0.03) && target !== 'nginx') headers.host = rng.pick(['evil.example', '[::1', 'a:b:c', '']);
  return { index, route, method, path, headers, body, target, credentials };
}

// ---------------------------------------------------------------------------------------------
// HTTP client

export interface FuzzResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** One request with any method, headers and a binary body; rejects on a transport error or after timeoutMs. */
export function sendHttp(
  base: string,
  c: Pick<HttpCase, 'method' | 'path' | 'headers' | 'body'>,
  timeoutMs = 10_000,
): Promise<FuzzResponse> {
  return new Promise((resolve, reject) => {
    const url = new URL(base);
    const big = (c.body?.length ?? 0) > JSON_BODY_LIMIT;
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: c.method,
        path: c.path,
        headers: c.body === undefined ? c.headers : { ...c.headers, 'content-length': String(c.body.length) },
        // A refused big body may leave the connection half-written: never reuse one.
        agent: big ? false : keepAlive,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.once('timeout', () => req.destroy(new Error(`${c.method} ${c.path.slice(0, 80)} timed out`)));
    req.once('error', reject);
    req.end(c.body);
  });
}

export function closeHttpAgent(): void {
  keepAlive.destroy();
}

// ---------------------------------------------------------------------------------------------
// Log scanning and small utilities

export interface LogFinding {
  file: string;
  /** crash: fatal, unhandled rejection, uncaught exception or non-JSON output (a Node trace); error: level 50. */
  kind: 'crash' | 'error';
  line: string;
}

/** Lines of an instance's pino JSON log that signal a crash or a hidden failure. */
export function scanLog(file: string): LogFinding[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [{ file, kind: 'crash', line: '(log file missing)' }];
  }
  const found: LogFinding[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let level: number | undefined;
    try {
      const parsed: unknown = JSON.parse(line);
      if (
        typeof parsed === 'object' &&
        parsed !== null &&
        'level' in parsed &&
        typeof parsed.level === 'number'
      )
        level = parsed.level;
    } catch {
      level = undefined;
    }
    const short = line.slice(0, 800);
    if (level === undefined || level >= 60 || /unhandled.?rejection|uncaught/i.test(line))
      found.push({ file, kind: 'crash', line: short });
    else if (level >= 50) found.push({ file, kind: 'error', line: short });
  }
  return found;
}

/** A short, safe preview of any value for failure messages. */
export function preview(v: unknown, max = 160): string {
  let s: string;
  try {
    s =
      JSON.stringify(v, (_k, value: unknown) =>
        isBinary(value)
          ? `<binary ${value.byteLength} B>`
          : typeof value === 'string' && value.length > 60
            ? `${value.slice(0, 40)}…(${value.length})`
            : value,
      ) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** Runs `worker(i)` for i = 0..count-1 with at most `concurrency` at once. */
export async function runPool(
  count: number,
  concurrency: number,
  worker: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      for (let i = next++; i < count; i = next++) await worker(i);
    }),
  );
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Error codes of docs/protocol.md. */
export const ERROR_CODES: readonly string[] = [
  'invalid_payload',
  'unauthorized',
  'forbidden',
  'not_found',
  'username_taken',
  'invalid_credentials',
  'room_exists',
  'room_not_found',
  'not_in_room',
  'rate_limited',
  'unavailable',
  'payload_too_large',
  'internal',
];
