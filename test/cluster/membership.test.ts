import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message, Room } from '../../src/protocol.js';
import { startCluster, type TestCluster } from '../helpers/cluster.js';
import { connect, emitAck, nextEvent, record } from '../helpers/socket.js';
import { signUp } from '../helpers/users.js';

/**
 * Membership changes of private rooms (issue 14) across three real instances (dist/main.js, one
 * Redis): an invite made on one instance reaches the new member's sockets on the others, and a
 * removal made on one instance stops delivery to the member's sockets on the others within 1 s;
 * the first message sent after the removal's ack already misses them.
 */

const WITHIN_MS = 1000;

let cluster: TestCluster;
const sockets: Socket[] = [];
let n = 0;
const roomName = () => `Members ${++n} ${Date.now() % 100000}`;

/** A socket of the user with `cookie` on instance i. */
async function socketOn(i: number, cookie: string): Promise<Socket> {
  const socket = await connect(cluster.url(i), cookie);
  sockets.push(socket);
  return socket;
}

beforeAll(async () => {
  cluster = await startCluster({ instances: 3, nginx: false });
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await cluster?.stop();
});

describe('private room membership across instances', () => {
  it('an invite on instance 0 reaches both tabs of the member on instances 1 and 2 within 1 s', async () => {
    const owner = await signUp(cluster.url(0));
    const member = await signUp(cluster.url(1));
    const ownerSocket = await socketOn(0, owner.cookie);
    const tabs = [await socketOn(1, member.cookie), await socketOn(2, member.cookie)];
    const name = roomName();
    expect(await emitAck(ownerSocket, 'create-room', { name, visibility: 'private' })).toMatchObject({
      success: true,
    });
    const started = Date.now();
    const arrivals = tabs.map((s) =>
      nextEvent<Room>(s, 'room-added', (r) => r.name === name).then(() => Date.now() - started),
    );
    expect(await emitAck(ownerSocket, 'invite', { room: name, user: member.username })).toMatchObject({
      success: true,
    });
    const took = await Promise.all(arrivals);
    console.info(`[figures] invite → room-added on the other instances: ${took.join(' / ')} ms`);
    expect(Math.max(...took)).toBeLessThan(WITHIN_MS);
    // The member may now join on either instance.
    for (const s of tabs)
      expect(await emitAck(s, 'join-room', { room: name, since: 0 })).toMatchObject({ success: true });
  });

  it('a removal on instance 0 stops delivery to the member on instances 1 and 2 at once', async () => {
    const owner = await signUp(cluster.url(0));
    const member = await signUp(cluster.url(1));
    const witness = await signUp(cluster.url(2));
    const ownerSocket = await socketOn(0, owner.cookie);
    const memberTabs = [await socketOn(1, member.cookie), await socketOn(2, member.cookie)];
    const witnessTabs = [await socketOn(1, witness.cookie), await socketOn(2, witness.cookie)];
    const name = roomName();
    await emitAck(ownerSocket, 'create-room', { name, visibility: 'private' });
    for (const user of [member.username, witness.username])
      expect(await emitAck(ownerSocket, 'invite', { room: name, user })).toMatchObject({ success: true });
    for (const s of [ownerSocket, ...memberTabs, ...witnessTabs])
      expect(await emitAck(s, 'join-room', name)).toMatchObject({ success: true });

    // Delivery works before the removal.
    const before = memberTabs.map((s) => nextEvent<Message>(s, 'chat-message', (m) => m.text === 'before'));
    await emitAck(ownerSocket, 'message', { text: 'before' });
    await Promise.all(before);

    const received = memberTabs.map((s) => record<Message>(s, 'chat-message'));
    const started = Date.now();
    const removedNotices = memberTabs.map((s) =>
      nextEvent<{ room: string }>(s, 'room-removed', (r) => r.room === name).then(() => Date.now() - started),
    );
    expect(await emitAck(ownerSocket, 'remove-member', { room: name, user: member.username })).toMatchObject({
      success: true,
    });
    // The first message after the ack: the witnesses on both instances get it, the removed member not.
    const witnessed = witnessTabs.map((s) =>
      nextEvent<Message>(s, 'chat-message', (m) => m.text === 'after'),
    );
    await emitAck(ownerSocket, 'message', { text: 'after' });
    await Promise.all(witnessed);
    const took = await Promise.all(removedNotices);
    console.info(`[figures] remove-member → room-removed on the other instances: ${took.join(' / ')} ms`);
    expect(Math.max(...took)).toBeLessThan(WITHIN_MS);
    // One more round trip on each removed socket: anything sent to it before has arrived.
    for (const s of memberTabs) await emitAck(s, 'who');
    for (const r of received) expect(r.map((m) => m.text)).toEqual([]);
    // Nor can it post, on either instance.
    for (const s of memberTabs)
      expect(await emitAck(s, 'message', { text: 'still here?' })).toMatchObject({ code: 'not_member' });
  });
});
