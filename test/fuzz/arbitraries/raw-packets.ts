import fc from 'fast-check';
import { CLIENT_EVENTS } from '../limits.js';
import { UNKNOWN_EVENTS } from './socket-events.js';
import { hostileValue } from './values.js';

/**
 * Malformed Socket.IO packets written straight to an Engine.IO connection: broken types, ids,
 * namespaces, JSON, reserved event names, and binary packets whose attachments do not match.
 * A case is the list of frames to send in order (one, or a binary packet and its attachments).
 */
export type RawFrames = (string | Buffer)[];

const json: fc.Arbitrary<string> = hostileValue({ maxLength: 4096 }).map((v) => {
  try {
    return JSON.stringify(v) ?? 'null';
  } catch {
    return 'null';
  }
});

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((b) => Buffer.from(b));

const frame: fc.Arbitrary<string | Buffer> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '',
      '2',
      '2[',
      '2]',
      '2["who"',
      '2{}',
      '2[]',
      '2[null]',
      '2[{}]',
      '2[[]]',
      '2"who"',
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
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
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '2["disconnect"]',
      '2["connect"]',
      '2["newListener","x"]',
      '2["removeListener"]',
      '2["disconnecting"]',
      '2["connect_error"]',
    ),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.nat(1e9), fc.constantFrom(...CLIENT_EVENTS, ...UNKNOWN_EVENTS), json)
      .map(([id, event, body]) => `2${id}[${JSON.stringify(event)},${body}]`),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('42', '-1', '1.5', 'null', 'true', '{}', '[]'), json)
      .map(([e, b]) => `2[${e},${b}]`),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('-1', '1e3', '99999999999999999999', 'abc', '0x1')
      .map((id) => `2${id}["who"]`),
  },
  { weight: 1, arbitrary: fc.constant('2/admin,["who"]') },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom('1', '2', '0', '-1', '999'), fc.constantFrom('0', '1', '-1', '"x"', 'null'))
      .map(([n, num]) => `5${n}-["message",{"_placeholder":true,"num":${num}}]`),
  },
  { weight: 1, arbitrary: json.map((b) => `2${b}`) },
  { weight: 2, arbitrary: bytes(64) },
  {
    weight: 1,
    arbitrary: fc
      .string({
        unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
        minLength: 1,
        maxLength: 30,
      })
      .map((s) => `2${s}`),
  },
);

const PLACEHOLDER = '{"_placeholder":true,"num":0}';

const BODIES = {
  protoText: () => `["message",{"__proto__":{"text":"via the prototype"}},${PLACEHOLDER}]`,
  protoRoom: () => `["join-room",{"__proto__":{"room":"General"}},${PLACEHOLDER}]`,
  constructor: () => `["create-room",{"constructor":{"prototype":{"polluted":true}}},${PLACEHOLDER}]`,
  binaryText: () => `["message",{"text":${PLACEHOLDER}}]`,
  deep: (d: number) => `["who",${'['.repeat(d)}${PLACEHOLDER}${']'.repeat(d)}]`,
  missing: () => `["who",{"_placeholder":true,"num":1}]`,
  nullProto: () => `["who",{"_placeholder":true,"num":0,"__proto__":null}]`,
};

/** A BINARY_EVENT with its attachments: prototype keys, deep nesting, wrong counts, ack ids. */
const binaryPacket: fc.Arbitrary<RawFrames> = fc
  .record({
    id: fc.option(fc.nat(1e6).map(String), { nil: '' }),
    depth: fc.constantFrom(10, 1000, 15000),
    body: fc.constantFrom(...(Object.keys(BODIES) as (keyof typeof BODIES)[])),
    attachments: fc.constantFrom(1, 1, 1, 2, 0),
    sendExtra: fc.boolean(),
    payloads: fc.array(bytes(32), { minLength: 3, maxLength: 3 }),
  })
  .map(({ id, depth, body, attachments, sendExtra, payloads }) => [
    `5${attachments}-${id}${BODIES[body](depth)}`,
    ...payloads.slice(0, attachments + (sendExtra ? 1 : 0)),
  ]);

export const rawPacket: fc.Arbitrary<RawFrames> = fc.oneof(
  { weight: 85, arbitrary: frame.map((f) => [f]) },
  { weight: 15, arbitrary: binaryPacket },
);
