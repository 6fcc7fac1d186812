import type { Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ackSchemas, type Message } from '../../src/protocol.js';
import { connect, emitAck, signUp, startApp, type TestApp } from '../helpers/app.js';

/**
 * Issue 14 where both halves meet: edits, deletions and read markers of a private room are refused
 * to non-members with `not_member`, and `unread` leaves the room out for them. Runs once the
 * private-rooms protocol (`invite`) is part of src/protocol.ts; skipped before.
 */
const privateRooms = 'invite' in ackSchemas;

let app: TestApp;
const sockets: Socket[] = [];

async function user() {
  const { username, cookie } = await signUp(app.url);
  const socket = await connect(app.url, cookie);
  sockets.push(socket);
  return { username, socket };
}

beforeAll(async () => {
  if (privateRooms) app = await startApp({ name: 'changes-private' });
});
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});
afterAll(async () => {
  await app?.close();
});

describe.skipIf(!privateRooms)('message changes in a private room', () => {
  it('refuses non-members with not_member on every change path, and serves members', async () => {
    const owner = await user();
    const member = await user();
    const outsider = await user();
    const room = `Private changes ${Math.random().toString(36).slice(2, 8)}`;
    expect(await emitAck(owner.socket, 'create-room', { name: room, visibility: 'private' })).toMatchObject({
      success: true,
    });
    expect(await emitAck(owner.socket, 'invite', { room, user: member.username })).toMatchObject({
      success: true,
    });
    await emitAck(owner.socket, 'join-room', room);
    const sent = (await emitAck(owner.socket, 'message', { text: `hi @${outsider.username}` }))
      .message as Message;

    for (const [event, payload] of [
      ['edit-message', { room, seq: sent.seq, text: 'x' }],
      ['delete-message', { room, seq: sent.seq }],
      ['mark-read', { room, seq: sent.seq }],
    ] as const) {
      expect(await emitAck(outsider.socket, event, payload), event).toMatchObject({
        success: false,
        code: 'not_member',
      });
    }
    expect(await emitAck(outsider.socket, 'unread', { rooms: [room] })).toEqual({ success: true, rooms: [] });

    expect(await emitAck(member.socket, 'mark-read', { room, seq: sent.seq })).toEqual({
      success: true,
      room,
      readSeq: sent.seq,
    });
    expect(await emitAck(member.socket, 'delete-message', { room, seq: sent.seq })).toMatchObject({
      success: false,
      code: 'forbidden',
    });
    expect(
      await emitAck(owner.socket, 'edit-message', { room, seq: sent.seq, text: 'edited' }),
    ).toMatchObject({
      success: true,
      message: { text: 'edited' },
    });
  });
});
