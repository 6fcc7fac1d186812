import type { Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Message, ReadMarker, UnreadRoom } from '../../src/protocol.js';
import { connect, emitAck, nextEvent, record, signUp, startApp, type TestApp } from '../helpers/app.js';

/**
 * Issue 14, read markers and mentions: `mark-read` only moves forward and is clamped to the room's
 * latest seq, reaches the user's other sockets on every instance as `read-marker`, survives a new
 * connection; `unread` counts unread messages and mentions of the reader.
 */

let a: TestApp;
let b: TestApp;
const sockets: Socket[] = [];
let roomCounter = 0;
const roomName = (base = 'Reads') => `${base} ${++roomCounter} ${Math.random().toString(36).slice(2, 6)}`;

async function socketOf(app: TestApp, cookie: string): Promise<Socket> {
  const socket = await connect(app.url, cookie);
  sockets.push(socket);
  return socket;
}

async function user(app: TestApp = a) {
  const { username, cookie } = await signUp(app.url);
  return { username, cookie, socket: await socketOf(app, cookie) };
}

async function send(socket: Socket, text: string): Promise<Message> {
  const ack = await emitAck(socket, 'message', { text });
  expect(ack.success).toBe(true);
  return ack.message as Message;
}

async function unreadOf(socket: Socket, rooms?: string[]): Promise<UnreadRoom[]> {
  const ack = await emitAck(socket, 'unread', ...(rooms ? [{ rooms }] : []));
  expect(ack.success).toBe(true);
  return ack.rooms as UnreadRoom[];
}

beforeAll(async () => {
  a = await startApp({ name: 'reads' });
  b = await startApp({ name: 'reads', prefix: a.prefix });
});
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
});

describe('mark-read', () => {
  it('moves forward only, clamps to the latest seq, and tells the other tabs on every instance', async () => {
    const alice = await user(a);
    const bob = await user(a);
    const bobOther = await socketOf(b, bob.cookie);
    const room = roomName();
    await emitAck(alice.socket, 'create-room', room);
    await emitAck(alice.socket, 'join-room', room);
    await emitAck(bob.socket, 'join-room', room);
    for (let i = 1; i <= 5; i++) await send(alice.socket, `m${i}`);

    const toSelf = record<ReadMarker>(bob.socket, 'read-marker');
    const toOther = record<ReadMarker>(bobOther, 'read-marker');
    const told = nextEvent<ReadMarker>(bobOther, 'read-marker');
    expect(await emitAck(bob.socket, 'mark-read', { room, seq: 3 })).toEqual({
      success: true,
      room,
      readSeq: 3,
    });
    expect(await told).toEqual({ room, readSeq: 3 });
    // Never back: the ack answers the stored marker, nobody is told.
    expect(await emitAck(bob.socket, 'mark-read', { room, seq: 2 })).toEqual({
      success: true,
      room,
      readSeq: 3,
    });
    // Clamped to the room's latest seq.
    const clamped = nextEvent<ReadMarker>(bobOther, 'read-marker', (m) => m.readSeq === 5);
    expect(await emitAck(bob.socket, 'mark-read', { room, seq: 999 })).toEqual({
      success: true,
      room,
      readSeq: 5,
    });
    await clamped;
    await new Promise((r) => setTimeout(r, 150));
    expect(toSelf).toEqual([]);
    expect(toOther).toEqual([
      { room, readSeq: 3 },
      { room, readSeq: 5 },
    ]);
    // Another user's marker is their own.
    expect(await unreadOf(alice.socket, [room])).toEqual([
      { room, readSeq: 0, latestSeq: 5, unread: 5, mentions: 0 },
    ]);
  });

  it('refuses an unknown room and a bad seq', async () => {
    const alice = await user(a);
    expect(await emitAck(alice.socket, 'mark-read', { room: 'No such room here', seq: 1 })).toMatchObject({
      success: false,
      code: 'room_not_found',
    });
    expect(await emitAck(alice.socket, 'mark-read', { room: 'x', seq: -1 })).toMatchObject({
      success: false,
      code: 'invalid_payload',
    });
  });
});

describe('unread', () => {
  it("counts unread messages and mentions of the user's own rooms, surviving a new connection", async () => {
    const alice = await user(a);
    const bob = await user(b);
    const room = roomName();
    const quiet = roomName('Quiet');
    await emitAck(alice.socket, 'create-room', room);
    await emitAck(alice.socket, 'create-room', quiet);
    await emitAck(bob.socket, 'join-room', quiet);
    await emitAck(bob.socket, 'join-room', room);
    await emitAck(alice.socket, 'join-room', room);
    await send(alice.socket, 'no mention here');
    await send(alice.socket, `hi @${bob.username.toUpperCase()}, see a@b.com and @nobody_at_all_here`);
    await send(alice.socket, `again @${bob.username}.`);
    expect(await emitAck(bob.socket, 'mark-read', { room, seq: 1 })).toMatchObject({ readSeq: 1 });

    // A new connection (another device) sees the same marker; the default is the user's rooms.
    const later = await socketOf(a, bob.cookie);
    const mine = await unreadOf(later);
    expect(mine).toEqual([
      { room, readSeq: 1, latestSeq: 3, unread: 2, mentions: 2 },
      { room: quiet, readSeq: 0, latestSeq: 0, unread: 0, mentions: 0 },
    ]);
    // Reading past a mention takes it off the count; rooms asked for: existing ones only.
    await emitAck(later, 'mark-read', { room, seq: 2 });
    expect(await unreadOf(bob.socket, [room, 'No such room here', room])).toEqual([
      { room, readSeq: 2, latestSeq: 3, unread: 1, mentions: 1 },
    ]);
    // The sender is never counted as mentioning themself; alice was not mentioned.
    expect((await unreadOf(alice.socket, [room]))[0]?.mentions).toBe(0);
  });

  it('counts at most 10 mentioned users per message, and mentions added by an edit', async () => {
    const alice = await user(a);
    const others = await Promise.all(Array.from({ length: 11 }, () => user(b)));
    const room = roomName();
    await emitAck(alice.socket, 'create-room', room);
    await emitAck(alice.socket, 'join-room', room);
    await send(alice.socket, others.map((o) => `@${o.username}`).join(' '));
    const counts = await Promise.all(
      others.map(async (o) => (await unreadOf(o.socket, [room]))[0]?.mentions),
    );
    expect(counts).toEqual([...Array<number>(10).fill(1), 0]);
    const plain = await send(alice.socket, 'nobody yet');
    const last = others[10];
    if (!last) throw new Error('unreachable');
    await emitAck(alice.socket, 'edit-message', { room, seq: plain.seq, text: `now @${last.username}` });
    expect((await unreadOf(last.socket, [room]))[0]).toMatchObject({ mentions: 1, unread: 2 });
  });

  it('refuses a malformed query', async () => {
    const alice = await user(a);
    expect(await emitAck(alice.socket, 'unread', { rooms: 'all' })).toMatchObject({
      success: false,
      code: 'invalid_payload',
    });
  });
});

describe('a deleted room', () => {
  it('leaves no read marker nor mention behind for a new room of the same name', async () => {
    const owner = await user(a);
    const reader = await user(b);
    const name = roomName('Reborn');
    expect((await emitAck(owner.socket, 'create-room', name)).success).toBe(true);
    await emitAck(owner.socket, 'join-room', name);
    await emitAck(reader.socket, 'join-room', name);
    for (let i = 1; i <= 5; i++) await send(owner.socket, `old ${i} @${reader.username}`);
    expect(await emitAck(reader.socket, 'mark-read', { room: name, seq: 3 })).toMatchObject({ readSeq: 3 });
    expect(await emitAck(owner.socket, 'delete-room', { room: name })).toEqual({ success: true });

    // The name is free again: a new room of it starts at seq 1 and holds one unread message.
    expect((await emitAck(owner.socket, 'create-room', name)).success).toBe(true);
    await emitAck(owner.socket, 'join-room', name);
    await send(owner.socket, 'the first message of the new room');
    expect(await unreadOf(reader.socket, [name])).toEqual([
      { room: name, readSeq: 0, latestSeq: 1, unread: 1, mentions: 0 },
    ]);
    expect(await emitAck(reader.socket, 'mark-read', { room: name, seq: 1 })).toMatchObject({ readSeq: 1 });
  });
});

describe('a deleted message', () => {
  it('no longer counts as a mention of the people it named', async () => {
    const sender = await user(a);
    const reader = await user(b);
    const name = roomName('Retracted');
    expect((await emitAck(sender.socket, 'create-room', name)).success).toBe(true);
    await emitAck(sender.socket, 'join-room', name);
    const kept = await send(sender.socket, `hi @${reader.username}`);
    const gone = await send(sender.socket, `oops @${reader.username}`);
    expect(await unreadOf(reader.socket, [name])).toMatchObject([{ unread: 2, mentions: 2 }]);
    expect(await emitAck(sender.socket, 'delete-message', { room: name, seq: gone.seq })).toMatchObject({
      success: true,
    });
    expect(await unreadOf(reader.socket, [name])).toMatchObject([{ unread: 2, mentions: 1 }]);
    expect(kept.seq).toBeLessThan(gone.seq);
  });
});

describe('an edited message', () => {
  it('mentions only the people its new text names', async () => {
    const sender = await user(a);
    const reader = await user(b);
    const name = roomName('Reworded');
    expect((await emitAck(sender.socket, 'create-room', name)).success).toBe(true);
    await emitAck(sender.socket, 'join-room', name);
    const sent = await send(sender.socket, `hi @${reader.username}`);
    expect(await unreadOf(reader.socket, [name])).toMatchObject([{ mentions: 1 }]);
    const edited = await emitAck(sender.socket, 'edit-message', {
      room: name,
      seq: sent.seq,
      text: 'hi all',
    });
    expect(edited).toMatchObject({ success: true, message: { text: 'hi all' } });
    expect(await unreadOf(reader.socket, [name])).toMatchObject([{ unread: 1, mentions: 0 }]);
  });
});
