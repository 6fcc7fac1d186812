import type { Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Message, MessageDeleted } from '../../src/protocol.js';
import {
  connect,
  emitAck,
  getJson,
  nextEvent,
  postJson,
  record,
  signUp,
  startApp,
  uniqueUser,
  type TestApp,
} from '../helpers/app.js';

/**
 * Issue 14, edit and delete: who may change a message, the window, idempotent retries, and that
 * history pages and catch-up with `since` show the final state, across two instances.
 */

let a: TestApp;
let b: TestApp;
/** A third instance of the same cluster whose edit window is short (EDIT_WINDOW_MS). */
let short: TestApp;
const SHORT_WINDOW_MS = 300;
const operatorName = uniqueUser('op');
const sockets: Socket[] = [];
let roomCounter = 0;
const roomName = (base = 'Edits') => `${base} ${++roomCounter} ${Math.random().toString(36).slice(2, 6)}`;

async function user(app: TestApp = a, username?: string) {
  const { username: name, cookie } = await signUp(app.url, username);
  const socket = await connect(app.url, cookie);
  sockets.push(socket);
  return { username: name, cookie, socket };
}

type User = Awaited<ReturnType<typeof user>>;

/** The operator (ADMIN_USERS), signed up once, signed in again on `app` for each test. */
async function operator(app: TestApp): Promise<User> {
  const res = await postJson(`${app.url}/auth/login`, { username: operatorName, password: 'password123' });
  expect(res.status).toBe(200);
  const socket = await connect(app.url, res.cookie);
  sockets.push(socket);
  return { username: operatorName, cookie: res.cookie ?? '', socket };
}

/** A room created by `owner`, joined by all `members` (owner included). */
async function roomWith(owner: User, ...members: User[]): Promise<string> {
  const name = roomName();
  expect((await emitAck(owner.socket, 'create-room', name)).success).toBe(true);
  for (const m of [owner, ...members])
    expect((await emitAck(m.socket, 'join-room', name)).success).toBe(true);
  return name;
}

async function send(u: User, text: string): Promise<Message> {
  const ack = await emitAck(u.socket, 'message', { text });
  expect(ack.success).toBe(true);
  return ack.message as Message;
}

beforeAll(async () => {
  const env = { HISTORY_SIZE: '10', HISTORY_ON_JOIN: '5', ADMIN_USERS: operatorName };
  a = await startApp({ name: 'changes', env });
  b = await startApp({ name: 'changes', prefix: a.prefix, env });
  short = await startApp({
    name: 'changes',
    prefix: a.prefix,
    env: { ...env, EDIT_WINDOW_MS: String(SHORT_WINDOW_MS) },
  });
});
beforeAll(async () => {
  await signUp(a.url, operatorName);
});
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close(), short?.close()]);
});

describe('edit-message', () => {
  it('lets the sender edit: the ack and every member on both instances get the final state', async () => {
    const alice = await user(a);
    const bob = await user(b);
    const room = await roomWith(alice, bob);
    const sent = await send(alice, 'helo wrold');
    const heard = nextEvent<Message>(bob.socket, 'message-updated');
    const ack = await emitAck(alice.socket, 'edit-message', { room, seq: sent.seq, text: '  hello world ' });
    expect(ack.success).toBe(true);
    const edited = ack.message as Message;
    expect(edited).toMatchObject({
      id: sent.id,
      seq: sent.seq,
      sender: alice.username,
      timestamp: sent.timestamp,
      text: '  hello world ',
      roomId: room,
    });
    expect(Date.parse(edited.editedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(sent.timestamp));
    expect(edited.deleted).toBeUndefined();
    expect(await heard).toEqual(edited);
  });

  it('is idempotent: the same edit twice answers the same message', async () => {
    const alice = await user(a);
    const room = await roomWith(alice);
    const sent = await send(alice, 'first');
    const one = await emitAck(alice.socket, 'edit-message', { room, seq: sent.seq, text: 'second' });
    const two = await emitAck(alice.socket, 'edit-message', { room, seq: sent.seq, text: 'second' });
    expect(one.success).toBe(true);
    expect(two).toEqual(one);
  });

  it('refuses anyone but the sender, even the room owner and an operator', async () => {
    const owner = await user(a);
    const bob = await user(b);
    const op = await operator(a);
    const room = await roomWith(owner, bob, op);
    const sent = await send(bob, 'mine');
    for (const other of [owner, op]) {
      expect(
        await emitAck(other.socket, 'edit-message', { room, seq: sent.seq, text: 'theirs' }),
      ).toMatchObject({
        success: false,
        code: 'forbidden',
      });
    }
  });

  it('refuses after the edit window with edit_window_passed', async () => {
    const owner = await user(short);
    const alice = await user(short);
    const room = await roomWith(owner, alice);
    const sent = await send(alice, 'quick');
    expect(
      await emitAck(alice.socket, 'edit-message', { room, seq: sent.seq, text: 'in time' }),
    ).toMatchObject({
      success: true,
    });
    await new Promise((r) => setTimeout(r, SHORT_WINDOW_MS + 50));
    expect(await emitAck(alice.socket, 'edit-message', { room, seq: sent.seq, text: 'late' })).toMatchObject({
      success: false,
      code: 'edit_window_passed',
    });
    expect(await emitAck(alice.socket, 'delete-message', { room, seq: sent.seq })).toMatchObject({
      success: false,
      code: 'edit_window_passed',
    });
  });

  it('answers not_found for a seq never handed out or no longer kept, room_not_found for no room', async () => {
    const alice = await user(a);
    const room = await roomWith(alice);
    const first = await send(alice, 'oldest');
    for (let i = 0; i < 10; i++) await send(alice, `filler ${i}`); // HISTORY_SIZE = 10
    expect(await emitAck(alice.socket, 'edit-message', { room, seq: first.seq, text: 'x' })).toMatchObject({
      success: false,
      code: 'not_found',
    });
    expect(await emitAck(alice.socket, 'delete-message', { room, seq: 999 })).toMatchObject({
      success: false,
      code: 'not_found',
    });
    expect(
      await emitAck(alice.socket, 'edit-message', { room: 'No such room here', seq: 1, text: 'x' }),
    ).toMatchObject({
      success: false,
      code: 'room_not_found',
    });
    expect(await emitAck(alice.socket, 'edit-message', { room, seq: 0, text: 'x' })).toMatchObject({
      success: false,
      code: 'invalid_payload',
    });
    expect(await emitAck(alice.socket, 'edit-message', { room, seq: 2, text: '   ' })).toMatchObject({
      success: false,
      code: 'invalid_payload',
    });
  });
});

describe('delete-message', () => {
  it('lets the sender delete: a tombstone keeping seq, id, sender and timestamp, told to the room', async () => {
    const alice = await user(a);
    const bob = await user(b);
    const room = await roomWith(alice, bob);
    const sent = await send(alice, 'oops');
    const heard = nextEvent<MessageDeleted>(bob.socket, 'message-deleted');
    const ack = await emitAck(alice.socket, 'delete-message', { room, seq: sent.seq });
    expect(ack.success).toBe(true);
    const tomb = ack.message as Message;
    expect(tomb).toMatchObject({
      id: sent.id,
      seq: sent.seq,
      sender: alice.username,
      timestamp: sent.timestamp,
      text: '',
      deleted: true,
    });
    expect(await heard).toEqual({ room, seq: sent.seq, id: sent.id });
    // Deleting twice answers the same tombstone; editing a tombstone finds nothing.
    expect(await emitAck(alice.socket, 'delete-message', { room, seq: sent.seq })).toEqual(ack);
    expect(await emitAck(alice.socket, 'edit-message', { room, seq: sent.seq, text: 'back' })).toMatchObject({
      success: false,
      code: 'not_found',
    });
  });

  it("lets the room's owner delete any message in it, also after the window", async () => {
    const owner = await user(short);
    const bob = await user(short);
    const room = await roomWith(owner, bob);
    const sent = await send(bob, 'rude words');
    await new Promise((r) => setTimeout(r, SHORT_WINDOW_MS + 50));
    expect(await emitAck(owner.socket, 'delete-message', { room, seq: sent.seq })).toMatchObject({
      success: true,
      message: { seq: sent.seq, deleted: true, text: '', sender: bob.username },
    });
  });

  it('lets an operator delete any message in any room', async () => {
    const owner = await user(a);
    const op = await operator(b);
    const room = await roomWith(owner);
    const sent = await send(owner, 'spam');
    expect(await emitAck(op.socket, 'delete-message', { room, seq: sent.seq })).toMatchObject({
      success: true,
      message: { seq: sent.seq, deleted: true },
    });
  });

  it('refuses a member who is neither sender, owner nor operator', async () => {
    const owner = await user(a);
    const bob = await user(b);
    const mallory = await user(a);
    const room = await roomWith(owner, bob, mallory);
    const sent = await send(bob, 'keep me');
    expect(await emitAck(mallory.socket, 'delete-message', { room, seq: sent.seq })).toMatchObject({
      success: false,
      code: 'forbidden',
    });
    const page = await getJson(`${a.url}/api/rooms/${encodeURIComponent(room)}/messages`, mallory.cookie);
    expect((page.body.messages as Message[])[0]).toMatchObject({ text: 'keep me' });
  });
});

describe('final state in history and catch-up', () => {
  it('shows edits and tombstones in history pages', async () => {
    const alice = await user(a);
    const room = await roomWith(alice);
    const one = await send(alice, 'one');
    const two = await send(alice, 'two');
    await send(alice, 'three');
    await emitAck(alice.socket, 'edit-message', { room, seq: one.seq, text: 'one, edited' });
    await emitAck(alice.socket, 'delete-message', { room, seq: two.seq });
    const page = await getJson(`${b.url}/api/rooms/${encodeURIComponent(room)}/messages`, alice.cookie);
    const messages = page.body.messages as Message[];
    expect(messages.map((m) => [m.seq, m.text, m.deleted ?? false, m.editedAt !== undefined])).toEqual([
      [3, 'three', false, false],
      [2, '', true, false],
      [1, 'one, edited', false, true],
    ]);
    // A fresh join (no since) shows the final state too.
    const other = await user(b);
    const previous = nextEvent<Message[]>(other.socket, 'previous-messages');
    await emitAck(other.socket, 'join-room', room);
    expect((await previous).map((m) => m.text)).toEqual(['three', '', 'one, edited']);
  });

  it('sends, with since, the final state of older messages changed since, besides the newer ones', async () => {
    const alice = await user(a);
    const bob = await user(b);
    const room = await roomWith(alice, bob);
    const one = await send(alice, 'one');
    const two = await send(alice, 'two');
    const three = await send(alice, 'three');
    const untouched = await send(alice, 'four');
    const join = await emitAck(bob.socket, 'join-room', room);
    const since = join.latestSeq as number;
    const epoch = join.epoch as string;
    expect(since).toBe(untouched.seq);
    // Bob goes away; meanwhile two older messages change and a new one arrives.
    bob.socket.close();
    await emitAck(alice.socket, 'edit-message', { room, seq: one.seq, text: 'one, edited' });
    await emitAck(alice.socket, 'delete-message', { room, seq: three.seq });
    await send(alice, 'five');
    const back = await user(b, undefined);
    const previous = nextEvent<Message[]>(back.socket, 'previous-messages');
    const ack = await emitAck(back.socket, 'join-room', { room, since, epoch });
    expect(ack).toMatchObject({ success: true, recovered: true });
    const got = await previous;
    expect(got.map((m) => [m.seq, m.text, m.deleted ?? false])).toEqual([
      [5, 'five', false],
      [three.seq, '', true],
      [one.seq, 'one, edited', false],
    ]);
    expect(got.some((m) => m.seq === two.seq)).toBe(false);
  });

  it('sends nothing extra to a catch-up from after the changes', async () => {
    const alice = await user(a);
    const room = await roomWith(alice);
    const one = await send(alice, 'one');
    await emitAck(alice.socket, 'edit-message', { room, seq: one.seq, text: 'one, edited' });
    await send(alice, 'two');
    const two = await send(alice, 'three');
    const seen = record<Message[]>(alice.socket, 'previous-messages');
    await emitAck(alice.socket, 'join-room', { room, since: two.seq });
    expect(seen).toEqual([[]]);
  });
});

describe('in a DM', () => {
  it('edits, deletes and marks read a message of a DM, named @a+b as everywhere else', async () => {
    const alice = await user(a);
    const bob = await user(b);
    const opened = await emitAck(alice.socket, 'open-dm', { user: bob.username });
    if (!opened.success) throw new Error(`open-dm failed: ${opened.error}`);
    const room = (opened.room as { name: string }).name;
    expect(room.startsWith('@')).toBe(true);
    for (const u of [alice, bob]) expect((await emitAck(u.socket, 'join-room', room)).success).toBe(true);
    const first = await send(alice, 'typo hree');
    const second = await send(alice, 'gone soon');
    const updated = nextEvent<Message>(bob.socket, 'message-updated');
    expect(
      await emitAck(alice.socket, 'edit-message', { room, seq: first.seq, text: 'typo here' }),
    ).toMatchObject({
      success: true,
      message: { seq: first.seq, text: 'typo here' },
    });
    expect(await updated).toMatchObject({ seq: first.seq, text: 'typo here' });
    expect(await emitAck(alice.socket, 'delete-message', { room, seq: second.seq })).toMatchObject({
      success: true,
      message: { seq: second.seq, deleted: true },
    });
    expect(await emitAck(bob.socket, 'mark-read', { room, seq: second.seq })).toEqual({
      success: true,
      room,
      readSeq: second.seq,
    });
    expect(await emitAck(bob.socket, 'unread', { rooms: [room] })).toMatchObject({
      success: true,
      rooms: [{ room, readSeq: second.seq, unread: 0 }],
    });
  });
});

describe('a retry of the original message', () => {
  it("answers the message's final state, not the text it was sent with", async () => {
    const sender = await user(a);
    const room = await roomWith(sender);
    const sent = await emitAck(sender.socket, 'message', { text: 'regret', clientId: 'retry-del' });
    const seq = (sent.message as Message).seq;
    expect(await emitAck(sender.socket, 'delete-message', { room, seq })).toMatchObject({ success: true });
    // The ack of the first send was lost, say: the client re-sends with the same clientId.
    const again = await emitAck(sender.socket, 'message', { text: 'regret', clientId: 'retry-del' });
    expect(again).toMatchObject({
      success: true,
      duplicate: true,
      message: { seq, deleted: true, text: '' },
    });

    const kept = await emitAck(sender.socket, 'message', { text: 'typo hree', clientId: 'retry-edit' });
    const keptSeq = (kept.message as Message).seq;
    await emitAck(sender.socket, 'edit-message', { room, seq: keptSeq, text: 'typo here' });
    const edited = await emitAck(sender.socket, 'message', { text: 'typo hree', clientId: 'retry-edit' });
    expect(edited).toMatchObject({ success: true, duplicate: true, message: { text: 'typo here' } });
  });
});

describe('in a DM, the one who opened it', () => {
  it("is no room owner: it cannot delete the other person's messages", async () => {
    const opener = await user(a);
    const other = await user(b);
    const opened = await emitAck(opener.socket, 'open-dm', { user: other.username });
    expect(opened).toMatchObject({ success: true, room: { createdBy: opener.username, visibility: 'dm' } });
    const room = (opened.room as { name: string }).name;
    for (const u of [opener, other]) expect((await emitAck(u.socket, 'join-room', room)).success).toBe(true);
    const theirs = await send(other, 'mine to keep');
    expect(await emitAck(opener.socket, 'delete-message', { room, seq: theirs.seq })).toMatchObject({
      success: false,
      code: 'forbidden',
    });
  });
});

describe('in a private room', () => {
  it('refuses edits, deletions and read markers of non-members with not_member and leaves the room out of their unread', async () => {
    const owner = await user(a);
    const member = await user(b);
    const outsider = await user(b);
    const room = roomName('Private edits');
    expect(await emitAck(owner.socket, 'create-room', { name: room, visibility: 'private' })).toMatchObject({
      success: true,
    });
    expect((await emitAck(owner.socket, 'invite', { room, user: member.username })).success).toBe(true);
    for (const u of [owner, member]) expect((await emitAck(u.socket, 'join-room', room)).success).toBe(true);
    const mine = await send(member, 'members only, @' + outsider.username);
    const notMember = { success: false, code: 'not_member' };
    expect(await emitAck(outsider.socket, 'edit-message', { room, seq: mine.seq, text: 'x' })).toMatchObject(
      notMember,
    );
    expect(await emitAck(outsider.socket, 'delete-message', { room, seq: mine.seq })).toMatchObject(
      notMember,
    );
    expect(await emitAck(outsider.socket, 'mark-read', { room, seq: mine.seq })).toMatchObject(notMember);
    expect(await emitAck(outsider.socket, 'unread', { rooms: [room] })).toEqual({ success: true, rooms: [] });
    // Members are not affected.
    expect(await emitAck(member.socket, 'mark-read', { room, seq: mine.seq })).toMatchObject({
      success: true,
    });
    // A removed member is an outsider from then on.
    expect((await emitAck(owner.socket, 'remove-member', { room, user: member.username })).success).toBe(
      true,
    );
    expect(await emitAck(member.socket, 'edit-message', { room, seq: mine.seq, text: 'y' })).toMatchObject(
      notMember,
    );
  });
});
