import type { Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  dmName,
  MEMBERS_MAX,
  type Message,
  type Room,
  type RoomsHome,
  type TypingNotice,
} from '../../src/protocol.js';
import { createKeys } from '../../src/redis/keys.js';
import { createMemberStore } from '../../src/store/members.js';
import { createMessageStore } from '../../src/store/messages.js';
import { createRoomStore } from '../../src/store/rooms.js';
import {
  connect,
  emitAck,
  eventually,
  getJson,
  nextEvent,
  record,
  signUp,
  startApp,
  type TestApp,
} from '../helpers/app.js';

/**
 * Private rooms and DMs (issue 14) on two instances sharing one Redis: every path a non-member
 * could read or post through is refused with `not_member` (or `forbidden` for owner actions), DMs
 * reach the other person online and offline, and a removal takes effect on the other instance.
 */

let a: TestApp;
let b: TestApp;
const sockets: Socket[] = [];
let counter = 0;
const roomName = (base = 'Secret') => `${base} ${++counter} ${Math.random().toString(36).slice(2, 6)}`;

interface User {
  username: string;
  cookie: string;
  socket: Socket;
  home: RoomsHome;
}

/** A socket speaking the room directory for `cookie` on `app`; resolves with its `rooms-home`. */
async function open(app: TestApp, username: string, cookie: string): Promise<User> {
  const socket = await connect(app.url, cookie, { auth: { directory: true } });
  sockets.push(socket);
  const home = await nextEvent<RoomsHome>(socket, 'rooms-home');
  return { username, cookie, socket, home };
}

/** A new user with a directory socket on `app`. */
async function user(app: TestApp = a): Promise<User> {
  const { username, cookie } = await signUp(app.url);
  return open(app, username, cookie);
}

/** A private room of `owner` with `invitees` invited. */
async function privateRoom(owner: User, ...invitees: User[]): Promise<string> {
  const name = roomName();
  const created = await emitAck(owner.socket, 'create-room', { name, visibility: 'private' });
  expect(created).toMatchObject({
    success: true,
    room: { name, createdBy: owner.username, visibility: 'private' },
  });
  for (const u of invitees) {
    const ack = await emitAck(owner.socket, 'invite', { room: name, user: u.username });
    expect(ack).toMatchObject({ success: true, room: name, user: u.username });
  }
  return name;
}

/** One more round trip: every packet the server sent before its answer has arrived. */
const flush = (socket: Socket) => emitAck(socket, 'who');

beforeAll(async () => {
  a = await startApp({ name: 'private' });
  b = await startApp({ name: 'private', prefix: a.prefix });
});
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
});

describe('private rooms: a non-member is refused on every path', () => {
  it('is never listed: not in room-created, list-rooms, GET /api/rooms, room-stats of the newest', async () => {
    const owner = await user(a);
    const watcher = await user(b);
    const legacy = await connect(b.url, watcher.cookie);
    sockets.push(legacy);
    const created = record<Room>(watcher.socket, 'room-created');
    const name = await privateRoom(owner);
    const publicName = roomName('Open');
    const announced = nextEvent<Room>(watcher.socket, 'room-created', (r) => r.name === publicName);
    const newest = nextEvent<Room[]>(legacy, 'update-rooms', (rs) => rs.some((r) => r.name === publicName));
    await emitAck(owner.socket, 'create-room', publicName);
    await announced;
    expect(created.map((r) => r.name)).not.toContain(name);
    expect((await newest).map((r) => r.name)).not.toContain(name);
    const page = await emitAck(watcher.socket, 'list-rooms', { q: name });
    expect(page).toMatchObject({ success: true, rooms: [] });
    const http = await getJson(`${a.url}/api/rooms?q=${encodeURIComponent(name)}`, watcher.cookie);
    expect(http.body).toMatchObject({ success: true, rooms: [] });
    const stats = await emitAck(watcher.socket, 'room-stats');
    expect((stats.rooms as { name: string }[]).map((r) => r.name)).not.toContain(name);
    // The owner's own list has it, after a reload too.
    const again = await open(b, owner.username, owner.cookie);
    expect(again.home.mine.map((r) => r.name)).toContain(name);
  });

  it('join-room, with and without since, answers not_member and sends no history', async () => {
    const owner = await user(a);
    const stranger = await user(b);
    const name = await privateRoom(owner);
    await emitAck(owner.socket, 'join-room', name);
    await emitAck(owner.socket, 'message', { text: 'secret one' });
    const history = record<Message[]>(stranger.socket, 'previous-messages');
    expect(await emitAck(stranger.socket, 'join-room', name)).toMatchObject({
      success: false,
      code: 'not_member',
    });
    expect(await emitAck(stranger.socket, 'join-room', { room: name, since: 0 })).toMatchObject({
      success: false,
      code: 'not_member',
    });
    // By identity too: another spelling of the name is the same private room.
    expect(await emitAck(stranger.socket, 'join-room', name.toUpperCase())).toMatchObject({
      code: 'not_member',
    });
    expect(history).toEqual([]);
    // Not in the room: a message is refused as before, typing goes nowhere.
    expect(await emitAck(stranger.socket, 'message', { text: 'hi' })).toMatchObject({ code: 'not_in_room' });
    const typing = record<TypingNotice>(owner.socket, 'typing');
    stranger.socket.emit('typing', true);
    await flush(stranger.socket);
    await flush(owner.socket);
    expect(typing).toEqual([]);
  });

  it('GET /api/rooms/:room/messages answers 403 not_member; a member reads it', async () => {
    const owner = await user(a);
    const member = await user(a);
    const stranger = await user(a);
    const name = await privateRoom(owner, member);
    await emitAck(owner.socket, 'join-room', name);
    await emitAck(owner.socket, 'message', { text: 'for members' });
    const url = `${b.url}/api/rooms/${encodeURIComponent(name)}/messages`;
    const refused = await getJson(url, stranger.cookie);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ success: false, code: 'not_member' });
    const ok = await getJson(url, member.cookie);
    expect(ok.status).toBe(200);
    expect((ok.body.messages as Message[]).map((m) => m.text)).toEqual(['for members']);
  });

  it('room-stats leaves the room out as if missing; room-members answers not_member', async () => {
    const owner = await user(a);
    const stranger = await user(b);
    const name = await privateRoom(owner);
    const stats = await emitAck(stranger.socket, 'room-stats', { rooms: [name] });
    expect(stats).toMatchObject({ success: true, rooms: [] });
    const own = await emitAck(owner.socket, 'room-stats', { rooms: [name] });
    expect(own).toMatchObject({ success: true, rooms: [{ name, latestSeq: 0 }] });
    expect(await emitAck(stranger.socket, 'room-members', { room: name })).toMatchObject({
      success: false,
      code: 'not_member',
    });
    expect(await emitAck(owner.socket, 'room-members', { room: name })).toMatchObject({
      success: true,
      members: [owner.username],
      next: null,
    });
  });

  it('invite, remove-member and delete-room by a non-owner answer forbidden', async () => {
    const owner = await user(a);
    const member = await user(a);
    const stranger = await user(b);
    const name = await privateRoom(owner, member);
    for (const actor of [member, stranger]) {
      expect(await emitAck(actor.socket, 'invite', { room: name, user: stranger.username })).toMatchObject({
        code: 'forbidden',
      });
      expect(await emitAck(actor.socket, 'delete-room', { room: name })).toMatchObject({ code: 'forbidden' });
    }
    expect(
      await emitAck(stranger.socket, 'remove-member', { room: name, user: member.username }),
    ).toMatchObject({
      code: 'forbidden',
    });
    // The owner cannot be removed, not even by itself.
    expect(await emitAck(owner.socket, 'remove-member', { room: name, user: owner.username })).toMatchObject({
      code: 'forbidden',
    });
    // Leaving a room one is not in: not_member.
    expect(
      await emitAck(stranger.socket, 'remove-member', { room: name, user: stranger.username }),
    ).toMatchObject({
      code: 'not_member',
    });
    // Invitations go to existing users only; public rooms take none.
    expect(await emitAck(owner.socket, 'invite', { room: name, user: 'nobody_by_that_name' })).toMatchObject({
      code: 'not_found',
    });
    const publicName = roomName('Open');
    await emitAck(owner.socket, 'create-room', publicName);
    expect(await emitAck(owner.socket, 'invite', { room: publicName, user: member.username })).toMatchObject({
      code: 'forbidden',
    });
  });

  it('caps the members at MEMBERS_MAX with member_limit', async () => {
    const owner = await user(a);
    const late = await user(a);
    const name = await privateRoom(owner);
    const key = createKeys(a.prefix).roomMembers(name);
    const filler = Array.from({ length: MEMBERS_MAX - 1 }, (_, i) => ({ score: 0, value: `filler${i}` }));
    await a.server.redis.data.zAdd(key, filler);
    expect(await emitAck(owner.socket, 'invite', { room: name, user: late.username })).toMatchObject({
      success: false,
      code: 'member_limit',
    });
    // Paged in name order.
    const first = await emitAck(owner.socket, 'room-members', { room: name, limit: 600 });
    expect((first.members as string[]).length).toBe(600);
    const second = await emitAck(owner.socket, 'room-members', {
      room: name,
      cursor: first.next,
      limit: 600,
    });
    expect((second.members as string[]).length).toBe(MEMBERS_MAX - 600);
    expect(second.next).toBeNull();
  });
});

describe('the append script checks the members itself', () => {
  it('refuses a non-member in the same step that stores (a socket the adapter did not reach yet)', async () => {
    const owner = await user(a);
    const member = await user(a);
    const name = await privateRoom(owner, member);
    const store = createMessageStore(a.server.redis.data, createKeys(a.prefix), {
      historySize: 10,
      historyOnJoin: 5,
      dedupeWindowS: 60,
    });
    expect((await store.append(name, member.username, 'in', undefined, true)).message?.seq).toBe(1);
    expect(await emitAck(owner.socket, 'remove-member', { room: name, user: member.username })).toMatchObject(
      {
        success: true,
      },
    );
    await expect(store.append(name, member.username, 'out', 'c1', true)).rejects.toMatchObject({
      code: 'not_member',
    });
    expect((await store.page(name, undefined, 10)).messages.map((m) => m.text)).toEqual(['in']);
  });
});

describe('invite and removal across instances', () => {
  it('an invite reaches the member on the other instance (room-added) and its list after a reload', async () => {
    const owner = await user(a);
    const member = await user(b);
    const added = nextEvent<Room>(member.socket, 'room-added');
    const name = await privateRoom(owner, member);
    expect(await added).toMatchObject({ name, visibility: 'private' });
    expect(await emitAck(member.socket, 'join-room', { room: name, since: 0 })).toMatchObject({
      success: true,
    });
    const again = await open(a, member.username, member.cookie);
    expect(again.home.mine.map((r) => r.name)).toContain(name);
    // Idempotent: a second invite answers the same and sends nothing new.
    const extra = record<Room>(member.socket, 'room-added');
    expect(await emitAck(owner.socket, 'invite', { room: name, user: member.username })).toMatchObject({
      success: true,
    });
    await flush(owner.socket);
    await flush(member.socket);
    expect(extra).toEqual([]);
  });

  it('a removed member stops receiving and posting at once on its instance; typing is dropped', async () => {
    const owner = await user(a);
    const removed = await user(b);
    const stays = await user(b);
    const name = await privateRoom(owner, removed, stays);
    for (const u of [owner, removed, stays])
      expect((await emitAck(u.socket, 'join-room', name)).success).toBe(true);
    const gotByRemoved = record<Message>(removed.socket, 'chat-message');
    const typingSeen = record<TypingNotice>(owner.socket, 'typing');
    const notice = nextEvent<{ room: string }>(removed.socket, 'room-removed');
    expect(
      await emitAck(owner.socket, 'remove-member', { room: name, user: removed.username }),
    ).toMatchObject({
      success: true,
      room: name,
      user: removed.username,
    });
    expect(await notice).toEqual({ room: name });
    // The owner's next message reaches the remaining member on b, not the removed one.
    const arrived = nextEvent<Message>(stays.socket, 'chat-message', (m) => m.text === 'after removal');
    await emitAck(owner.socket, 'message', { text: 'after removal' });
    await arrived;
    await flush(removed.socket);
    expect(gotByRemoved.map((m) => m.text)).not.toContain('after removal');
    // Posting, typing, re-joining and the history are refused.
    expect(await emitAck(removed.socket, 'message', { text: 'still here?' })).toMatchObject({
      code: 'not_member',
    });
    removed.socket.emit('typing', true);
    const stayTyping = nextEvent<TypingNotice>(owner.socket, 'typing', (t) => t.user === stays.username);
    stays.socket.emit('typing', true);
    await stayTyping;
    expect(typingSeen.filter((t) => t.user === removed.username)).toEqual([]);
    expect(await emitAck(removed.socket, 'join-room', { room: name, since: 0 })).toMatchObject({
      code: 'not_member',
    });
    const http = await getJson(`${a.url}/api/rooms/${encodeURIComponent(name)}/messages`, removed.cookie);
    expect(http.body).toMatchObject({ code: 'not_member' });
    // Instance b took the removed socket out of the room's presence too: two people are in it.
    await eventually(async () => {
      const stats = await emitAck(owner.socket, 'room-stats', { rooms: [name] });
      return (stats.rooms as { members: number }[])[0]?.members === 2;
    }, 'the room counts the owner and the remaining member only');
    const again = await open(a, removed.username, removed.cookie);
    expect(again.home.mine.map((r) => r.name)).not.toContain(name);
  });

  it('a member may leave by removing itself; an operator may remove anyone', async () => {
    const operatorName = `op${Math.random().toString(36).slice(2, 8)}`;
    const app = await startApp({ name: 'private-op', prefix: a.prefix, env: { ADMIN_USERS: operatorName } });
    try {
      const owner = await user(a);
      const leaver = await user(a);
      const other = await user(a);
      const { cookie } = await signUp(app.url, operatorName);
      const operator = await open(app, operatorName, cookie);
      const name = await privateRoom(owner, leaver, other);
      // An operator moderates; it does not read private rooms it is not a member of.
      expect(await emitAck(operator.socket, 'join-room', name)).toMatchObject({ code: 'not_member' });
      expect(
        await emitAck(leaver.socket, 'remove-member', { room: name, user: leaver.username }),
      ).toMatchObject({
        success: true,
      });
      expect(await emitAck(leaver.socket, 'join-room', name)).toMatchObject({ code: 'not_member' });
      expect(
        await emitAck(operator.socket, 'remove-member', { room: name, user: other.username }),
      ).toMatchObject({
        success: true,
      });
      const list = await emitAck(owner.socket, 'room-members', { room: name });
      expect(list.members).toEqual([owner.username]);
      // Neither the operator nor the one who left reads the room on any path or acts as its owner.
      for (const u of [operator, leaver]) {
        const http = await getJson(`${a.url}/api/rooms/${encodeURIComponent(name)}/messages`, u.cookie);
        expect(http.status).toBe(403);
        expect(await emitAck(u.socket, 'room-stats', { rooms: [name] })).toMatchObject({ rooms: [] });
        expect(await emitAck(u.socket, 'room-members', { room: name })).toMatchObject({ code: 'not_member' });
        expect(await emitAck(u.socket, 'invite', { room: name, user: other.username })).toMatchObject({
          code: 'forbidden',
        });
      }
      expect(
        await emitAck(leaver.socket, 'remove-member', { room: name, user: leaver.username }),
      ).toMatchObject({
        code: 'not_member',
      });
      expect(await emitAck(leaver.socket, 'delete-room', { room: name })).toMatchObject({
        code: 'forbidden',
      });
      expect(await emitAck(operator.socket, 'delete-room', { room: name })).toMatchObject({ success: true });
      // A DM: the operator neither invites into it nor removes from it, but may delete it.
      const dm = await emitAck(owner.socket, 'open-dm', { user: other.username });
      const dmRoom = (dm.room as Room).name;
      expect(await emitAck(operator.socket, 'invite', { room: dmRoom, user: leaver.username })).toMatchObject(
        {
          code: 'forbidden',
        },
      );
      expect(
        await emitAck(operator.socket, 'remove-member', { room: dmRoom, user: other.username }),
      ).toMatchObject({
        code: 'forbidden',
      });
      expect(await emitAck(operator.socket, 'delete-room', { room: dmRoom })).toMatchObject({
        success: true,
      });
    } finally {
      await app.close();
    }
  });
});

describe('a removal whose adapter messages were lost', () => {
  it('is applied by the periodic re-check of the members (SEQ_NOTICE_MS)', async () => {
    const app = await startApp({ name: 'private-recheck', prefix: a.prefix, env: { SEQ_NOTICE_MS: '500' } });
    try {
      const owner = await user(a);
      const { username, cookie } = await signUp(app.url);
      const member = await open(app, username, cookie);
      const name = await privateRoom(owner, member);
      for (const u of [owner, member])
        expect((await emitAck(u.socket, 'join-room', name)).success).toBe(true);
      // The member set changes in Redis without any broadcast: as if pub/sub dropped them.
      await a.server.redis.data.zRem(createKeys(a.prefix).roomMembers(name), username.toLowerCase());
      const started = Date.now();
      await nextEvent<{ room: string }>(member.socket, 'room-removed', (r) => r.room === name, 3000);
      expect(Date.now() - started).toBeLessThan(1500);
      const got = record<Message>(member.socket, 'chat-message');
      await emitAck(owner.socket, 'message', { text: 'after the re-check' });
      await flush(member.socket);
      expect(await emitAck(member.socket, 'message', { text: 'me?' })).toMatchObject({ code: 'not_member' });
      expect(got).toEqual([]);
    } finally {
      await app.close();
    }
  });
});

describe('a deletion whose adapter messages were lost, its name reused for a private room', () => {
  it('lets a socket left in the old public room neither post into nor hear the private one', async () => {
    const app = await startApp({ name: 'private-reuse', prefix: a.prefix, env: { SEQ_NOTICE_MS: '500' } });
    try {
      const owner = await user(a);
      const { username, cookie } = await signUp(app.url);
      const stale = await open(app, username, cookie);
      const name = roomName('Reused');
      expect((await emitAck(owner.socket, 'create-room', name)).success).toBe(true);
      expect((await emitAck(stale.socket, 'join-room', name)).success).toBe(true);
      // The room is deleted in Redis without any broadcast: as if pub/sub dropped them.
      const keys = createKeys(a.prefix);
      await createRoomStore(a.server.redis.data, keys).delete(name);
      await createMemberStore(a.server.redis.data, keys).purge(name);
      const got = record<Message>(stale.socket, 'chat-message');
      const told = record<{ room: string }>(stale.socket, 'room-deleted');
      const created = await emitAck(owner.socket, 'create-room', { name, visibility: 'private' });
      expect(created).toMatchObject({ success: true, room: { visibility: 'private' } });
      expect((await emitAck(owner.socket, 'join-room', name)).success).toBe(true);
      // A member of the new room on the same instance shares its adapter room, and stays.
      const other = await signUp(app.url);
      const member = await open(app, other.username, other.cookie);
      await emitAck(owner.socket, 'invite', { room: name, user: member.username });
      expect((await emitAck(member.socket, 'join-room', name)).success).toBe(true);
      const memberTold = record<{ room: string }>(member.socket, 'room-deleted');
      const memberGot = record<Message>(member.socket, 'chat-message');
      expect(await emitAck(stale.socket, 'message', { text: 'let me in' })).toMatchObject({
        success: false,
        code: 'not_member',
      });
      // The periodic re-check takes the socket out of the room: no event of the private room reaches it.
      await eventually(() => told.some((r) => r.room === name), 'room-deleted from the re-check', 3000);
      await emitAck(owner.socket, 'message', { text: 'members only' });
      await flush(stale.socket);
      expect(got).toEqual([]);
      await flush(member.socket);
      expect(memberTold).toEqual([]);
      expect(memberGot.map((m) => m.text)).toEqual(['members only']);
      const history = await getJson(`${a.url}/api/rooms/${encodeURIComponent(name)}/messages`, owner.cookie);
      expect((history.body as { messages: Message[] }).messages.map((m) => m.text)).toEqual(['members only']);
    } finally {
      await app.close();
    }
  });
});

describe('direct messages', () => {
  it('are idempotent, reach the other person online on another instance, and nobody else', async () => {
    const alice = await user(a);
    const bob = await user(b);
    const carol = await user(b);
    const added = nextEvent<Room>(bob.socket, 'room-added');
    const first = await emitAck(alice.socket, 'open-dm', { user: bob.username.toUpperCase() });
    const name = dmName(alice.username, bob.username);
    expect(first).toMatchObject({
      success: true,
      room: { name, visibility: 'dm', createdBy: alice.username },
    });
    expect([...((first.room as Room).members ?? [])].sort()).toEqual([alice.username, bob.username].sort());
    expect(await added).toMatchObject({ name });
    const second = await emitAck(bob.socket, 'open-dm', { user: alice.username });
    expect(second).toMatchObject({ success: true, room: first.room });
    for (const u of [alice, bob]) expect((await emitAck(u.socket, 'join-room', name)).success).toBe(true);
    const got = nextEvent<Message>(bob.socket, 'chat-message');
    await emitAck(alice.socket, 'message', { text: 'just us' });
    expect((await got).text).toBe('just us');
    expect(await emitAck(carol.socket, 'join-room', name)).toMatchObject({ code: 'not_member' });
    expect(await emitAck(carol.socket, 'join-room', { room: name, since: 0 })).toMatchObject({
      code: 'not_member',
    });
    const http = await getJson(`${a.url}/api/rooms/${encodeURIComponent(name)}/messages`, carol.cookie);
    expect(http.status).toBe(403);
    expect(await emitAck(carol.socket, 'room-members', { room: name })).toMatchObject({ code: 'not_member' });
    expect(await emitAck(alice.socket, 'room-members', { room: name })).toMatchObject({
      members: [alice.username, bob.username].map((u) => u.toLowerCase()).sort(),
    });
    // Nobody invites into or removes from a DM.
    expect(await emitAck(alice.socket, 'invite', { room: name, user: carol.username })).toMatchObject({
      code: 'forbidden',
    });
    expect(await emitAck(alice.socket, 'remove-member', { room: name, user: bob.username })).toMatchObject({
      code: 'forbidden',
    });
    // Deleting it is for the one who opened it (or an operator).
    expect(await emitAck(bob.socket, 'delete-room', { room: name })).toMatchObject({ code: 'forbidden' });
    expect(await emitAck(carol.socket, 'delete-room', { room: name })).toMatchObject({ code: 'forbidden' });
    const deleted = nextEvent<{ room: string }>(bob.socket, 'room-deleted', (r) => r.room === name);
    expect(await emitAck(alice.socket, 'delete-room', { room: name })).toEqual({ success: true });
    await deleted;
  });

  it('shows in the rooms-home of the other person who was offline', async () => {
    const alice = await user(a);
    const { username, cookie } = await signUp(b.url);
    const ack = await emitAck(alice.socket, 'open-dm', { user: username });
    expect(ack.success).toBe(true);
    const bob = await open(b, username, cookie);
    expect(bob.home.mine.map((r) => r.name)).toContain(dmName(alice.username, username));
    expect(bob.home.directory.rooms.map((r) => r.name)).not.toContain(dmName(alice.username, username));
  });

  it('refuses a DM with oneself (invalid_payload) and with nobody (not_found)', async () => {
    const alice = await user(a);
    expect(await emitAck(alice.socket, 'open-dm', { user: alice.username })).toMatchObject({
      code: 'invalid_payload',
    });
    expect(await emitAck(alice.socket, 'open-dm', { user: 'nobody_by_that_name' })).toMatchObject({
      code: 'not_found',
    });
  });
});

describe('delete-room', () => {
  it('deletes a private room: members told, every path answers room_not_found, lists forget it', async () => {
    const owner = await user(a);
    const member = await user(b);
    const name = await privateRoom(owner, member);
    await emitAck(member.socket, 'join-room', name);
    await emitAck(owner.socket, 'message', { text: 'soon gone' });
    const told = nextEvent<{ room: string }>(member.socket, 'room-deleted');
    expect(await emitAck(owner.socket, 'delete-room', { room: name })).toEqual({ success: true });
    expect(await told).toEqual({ room: name });
    expect(await emitAck(member.socket, 'message', { text: 'anyone?' })).toMatchObject({
      code: 'not_member',
    });
    expect(await emitAck(member.socket, 'join-room', name)).toMatchObject({ code: 'room_not_found' });
    const http = await getJson(`${a.url}/api/rooms/${encodeURIComponent(name)}/messages`, owner.cookie);
    expect(http.body).toMatchObject({ code: 'room_not_found' });
    const again = await open(a, member.username, member.cookie);
    expect(again.home.mine.map((r) => r.name)).not.toContain(name);
    // The name is free again, with an empty history.
    expect((await emitAck(owner.socket, 'create-room', name)).success).toBe(true);
    const fresh = await emitAck(owner.socket, 'join-room', name);
    expect(fresh).toMatchObject({ success: true, latestSeq: 0 });
  });

  it('deletes a public room: directory clients told, gone from the directory', async () => {
    const owner = await user(a);
    const watcher = await user(b);
    const name = roomName('Public');
    const announced = nextEvent<Room>(watcher.socket, 'room-created', (r) => r.name === name);
    await emitAck(owner.socket, 'create-room', name);
    await announced;
    const told = nextEvent<{ room: string }>(watcher.socket, 'room-deleted', (r) => r.room === name);
    expect(await emitAck(watcher.socket, 'delete-room', { room: name })).toMatchObject({ code: 'forbidden' });
    expect(await emitAck(owner.socket, 'delete-room', { room: name })).toEqual({ success: true });
    await told;
    const page = await emitAck(watcher.socket, 'list-rooms', { q: name });
    expect(page).toMatchObject({ success: true, rooms: [] });
  });

  it('tells a socket in the room on the deleting instance, also one without the directory handshake', async () => {
    const owner = await user(a);
    const { cookie } = await signUp(a.url);
    const legacy = await connect(a.url, cookie);
    sockets.push(legacy);
    const name = roomName('Legacy');
    expect((await emitAck(owner.socket, 'create-room', name)).success).toBe(true);
    expect((await emitAck(legacy, 'join-room', name)).success).toBe(true);
    const told = nextEvent<{ room: string }>(legacy, 'room-deleted', (r) => r.room === name);
    expect(await emitAck(owner.socket, 'delete-room', { room: name })).toEqual({ success: true });
    expect(await told).toEqual({ room: name });
  });

  it("a deleted public room's name taken by someone's private room is not in a past visitor's rooms-home", async () => {
    const owner = await user(a);
    const visitor = await user(b);
    const stranger = await user(a);
    const name = roomName('Reused');
    expect((await emitAck(owner.socket, 'create-room', name)).success).toBe(true);
    expect((await emitAck(visitor.socket, 'join-room', name)).success).toBe(true);
    expect(await emitAck(owner.socket, 'delete-room', { room: name })).toEqual({ success: true });
    const created = await emitAck(stranger.socket, 'create-room', { name, visibility: 'private' });
    expect(created).toMatchObject({ success: true, room: { visibility: 'private' } });
    // The visitor's own rooms remembered the public room; the private one of that name is not theirs.
    const again = await open(b, visitor.username, visitor.cookie);
    expect(again.home.mine.map((r) => r.name)).not.toContain(name);
    expect(await emitAck(again.socket, 'join-room', name)).toMatchObject({ code: 'not_member' });
  });
});
