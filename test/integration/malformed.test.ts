import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_ID_MAX_LENGTH, MESSAGE_MAX, SOCKET_PACKET_MAX_BYTES } from '../../src/protocol.js';
import { connect, emitAck, getJson, signUp, startApp, type TestApp } from '../helpers/app.js';

let app: TestApp;
let socket: Socket;
let room: string;

/** Every JSON-able type and a few hostile shapes. */
const BAD_VALUES: unknown[] = [
  undefined,
  null,
  true,
  0,
  -1,
  1.5,
  Number.MAX_SAFE_INTEGER,
  '',
  '   ',
  'x'.repeat(5000),
  '<script>alert(1)</script>',
  'a:b{c}',
  [],
  ['General'],
  {},
  { room: null },
  { room: 42 },
  { room: 'General', since: -5 },
  { room: 'General', since: 'abc' },
  { text: null },
  { text: 42 },
  { text: '' },
  { text: 'y'.repeat(MESSAGE_MAX + 1) },
  { text: ['a'] },
  { text: 'ok', clientId: 'has spaces' },
  { text: 'ok', clientId: 'z'.repeat(CLIENT_ID_MAX_LENGTH + 1) },
  { __proto__: { polluted: true } },
  { constructor: { prototype: { polluted: true } } },
  Buffer.from('binary'),
];

beforeAll(async () => {
  app = await startApp({ name: 'malformed' });
  const { cookie } = await signUp(app.url);
  socket = await connect(app.url, cookie);
  room = `Safe room ${Date.now()}`;
  expect((await emitAck(socket, 'create-room', room)).success).toBe(true);
});
afterAll(async () => {
  socket?.close();
  await app?.close();
});

describe('malformed payloads', () => {
  it.each([
    'open-dm',
    'invite',
    'remove-member',
    'room-members',
    'delete-room',
    'edit-message',
    'delete-message',
    'mark-read',
    'suspend-user',
  ])('%s (issue 14) answers every bad payload with an error ack', async (event) => {
    for (const value of BAD_VALUES) {
      const ack = await emitAck(socket, event, value);
      const what = `${event} ${JSON.stringify(value)?.slice(0, 40)}`;
      expect(ack.success, what).toBe(false);
      expect(['invalid_payload', 'room_not_found', 'forbidden'], what).toContain(ack.code);
      expect(typeof ack.error).toBe('string');
    }
  });

  it('says what is wrong with a bad seq of edit-message, delete-message and mark-read', async () => {
    const cases: [unknown, RegExp][] = [
      ['1', /must be a number/],
      [1.5, /whole number/],
      [-1, /at least/],
      [1e300, /at most/],
    ];
    for (const event of ['edit-message', 'delete-message', 'mark-read']) {
      for (const [seq, says] of cases) {
        const ack = await emitAck(socket, event, { room, seq, text: 'x' });
        expect(ack, `${event} seq ${String(seq)}`).toMatchObject({ success: false, code: 'invalid_payload' });
        expect(ack.error, `${event} seq ${String(seq)}`).toMatch(says);
      }
    }
  });

  it.each(['create-room', 'join-room', 'message'])(
    '%s answers every bad payload with an error ack',
    async (event) => {
      for (const value of BAD_VALUES) {
        // `message` before any join must fail too (not_in_room or invalid_payload).
        const ack = await emitAck(socket, event, value);
        expect(ack.success, `${event} ${JSON.stringify(value)?.slice(0, 40)}`).toBe(false);
        expect(['invalid_payload', 'not_in_room', 'room_not_found', 'room_exists']).toContain(ack.code);
        expect(typeof ack.error).toBe('string');
      }
    },
  );

  it('answers bad payloads to message while in a room, and still serves good ones', async () => {
    expect((await emitAck(socket, 'join-room', room)).success).toBe(true);
    for (const value of BAD_VALUES) {
      const ack = await emitAck(socket, 'message', value);
      expect(ack).toMatchObject({ success: false, code: 'invalid_payload' });
    }
    expect(await emitAck(socket, 'message', { text: 'still fine' })).toMatchObject({
      success: true,
      message: { text: 'still fine' },
    });
  });

  it('answers extra arguments, unknown events and typing garbage without breaking', async () => {
    expect((await emitAck(socket, 'join-room', room, 'extra', 3)).success).toBe(true);
    expect(await emitAck(socket, 'no-such-event', { a: 1 })).toMatchObject({
      success: false,
      code: 'invalid_payload',
    });
    for (const value of BAD_VALUES) socket.emit('typing', value);
    socket.emit('message', { text: 'no ack requested' });
    expect((await emitAck(socket, 'who')).success).toBe(true);
    expect(socket.connected).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('drops a packet over maxHttpBufferSize by closing that socket only; the server keeps serving', async () => {
    const { cookie } = await signUp(app.url);
    const victim = await connect(app.url, cookie);
    const closed = new Promise((resolve) => victim.once('disconnect', resolve));
    victim.emit('message', { text: 'z'.repeat(SOCKET_PACKET_MAX_BYTES + 1) });
    await closed;
    expect((await getJson(`${app.url}/healthz`)).status).toBe(200);
    expect((await emitAck(socket, 'who')).success).toBe(true);
  });
});
