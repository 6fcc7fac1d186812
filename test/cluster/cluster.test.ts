import { setTimeout as delay } from 'node:timers/promises';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from '../../src/store/messages.js';
import { ChatClient } from '../helpers/chat-client.js';
import { request, startCluster, type TestCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/poll.js';
import { instanceVia, socketsOn } from '../helpers/routing.js';
import { connect, emitAck, nextEvent, record } from '../helpers/socket.js';
import { signUp } from '../helpers/users.js';

let cluster: TestCluster;
const opened: { close(): void }[] = [];
const track = <T extends { close(): void }>(x: T): T => {
  opened.push(x);
  return x;
};
let n = 0;
const roomName = (base: string) => `${base} ${++n} ${Date.now() % 100000}`;

/** Sockets connected to instance i right now, from its own metrics. */
const socketsOnInstance = (i: number): Promise<number> => socketsOn(cluster.url(i), cluster.metricsToken);

beforeAll(async () => {
  // Default presence timings: the 15 s bound below is the product's, not a test setting's.
  cluster = await startCluster({ instances: 3 });
});
afterAll(async () => {
  for (const x of opened) x.close();
  await cluster?.stop();
});

describe('three instances behind nginx behave as one chat', () => {
  it('spreads users by address and delivers each message to every member exactly once', async () => {
    const ips = Array.from({ length: 12 }, (_, i) => `127.0.0.${i + 2}`);
    const served = new Map<string, string>();
    for (const ip of ips) served.set(ip, await instanceVia(cluster.nginxUrl, ip));
    expect(new Set(served.values()).size).toBeGreaterThanOrEqual(2);

    // Half through nginx with long-polling first (sticky hashing must hold the polling session),
    // half directly on chosen instances.
    const users = await Promise.all(
      ips.map((ip, i) =>
        i % 2 === 0
          ? ChatClient.create(cluster.nginxUrl, { from: ip, transports: ['polling', 'websocket'] })
          : ChatClient.create(cluster.url(i % 3)),
      ),
    );
    users.forEach(track);
    const room = roomName('Everyone');
    expect((await users[0]!.emit('create-room', room)).success).toBe(true);
    for (const u of users) expect((await u.join(room)).success).toBe(true);

    const perSender = 3;
    for (let k = 0; k < perSender; k++) {
      await Promise.all(users.map((u, i) => u.send(`from ${i} #${k}`)));
    }
    const total = users.length * perSender;
    await eventually(
      () => users.every((u) => u.seen.size === total),
      'every member saw every message',
      10_000,
    );
    for (const u of users) {
      expect(u.liveDuplicates).toBe(0);
      expect([...u.seen.keys()].sort((a, b) => a - b)).toEqual(
        Array.from({ length: total }, (_, i) => i + 1),
      );
    }
  });

  it('propagates room creation to every instance; simultaneous creation yields one room', async () => {
    const clients = await Promise.all(
      [0, 1, 2].map(async (i) => track(await connect(cluster.url(i), (await signUp(cluster.url(i))).cookie))),
    );
    const name = roomName('Once');
    const updates = clients.map((s) =>
      nextEvent<{ name: string }[]>(s, 'update-rooms', (rooms) => rooms.some((r) => r.name === name)),
    );
    const acks = await Promise.all(clients.map((s) => emitAck(s, 'create-room', name)));
    expect(acks.filter((a) => a.success)).toHaveLength(1);
    expect(acks.filter((a) => a.code === 'room_exists')).toHaveLength(2);
    for (const rooms of await Promise.all(updates))
      expect(rooms.filter((r) => r.name === name)).toHaveLength(1);
  });

  it('counts online users and room members across instances, two tabs as one', async () => {
    const watcherCookie = (await signUp(cluster.url(0))).cookie;
    const watcher = track(await connect(cluster.url(0), watcherCookie));
    const online = record<number>(watcher, 'onlineUsers');
    const roomCounts = record<{ room: string; count: number }>(watcher, 'room-users');
    const room = roomName('Counted');
    await emitAck(watcher, 'create-room', room);
    await emitAck(watcher, 'join-room', room);
    // The count settles on the cluster-wide list of names (earlier tests' sockets are still open).
    const who = async () => ((await emitAck(watcher, 'who')).users as string[]).length;
    await eventually(async () => online.at(-1) === (await who()), 'count settled');
    const base = online.at(-1) ?? 0;

    const { cookie } = await signUp(cluster.url(1));
    const tab1 = track(await connect(cluster.url(1), cookie));
    const tab2 = track(await connect(cluster.url(2), cookie));
    await eventually(() => online.at(-1) === base + 1, 'one more user for two tabs');
    await emitAck(tab1, 'join-room', room);
    await emitAck(tab2, 'join-room', room);
    await eventually(() => roomCounts.at(-1)?.count === 2, 'room has 2 distinct users');

    tab1.close();
    await delay(500);
    expect(roomCounts.at(-1)?.count).toBe(2);
    expect(online.at(-1)).toBe(base + 1);
    tab2.close();
    await eventually(() => roomCounts.at(-1)?.count === 1, 'room back to 1');
    await eventually(() => online.at(-1) === base, 'online back to base');
  });

  it('logout on one instance disconnects that session on every instance', async () => {
    const { cookie } = await signUp(cluster.url(0));
    const sockets: Socket[] = await Promise.all(
      [0, 1, 2].map(async (i) => track(await connect(cluster.url(i), cookie))),
    );
    const reasons = Promise.all(sockets.map((s) => nextEvent<string>(s, 'disconnect')));
    const res = await request(`${cluster.url(1)}/auth/logout`, { method: 'POST', headers: { cookie } });
    expect(res.status).toBe(200);
    expect(await reasons).toEqual(['io server disconnect', 'io server disconnect', 'io server disconnect']);
  });

  it('takes a SIGKILLed instance users out of the counts within 15 s', async () => {
    const watcher = track(await connect(cluster.url(0), (await signUp(cluster.url(0))).cookie));
    const roomCounts = record<{ room: string; count: number }>(watcher, 'room-users');
    const room = roomName('Crash');
    await emitAck(watcher, 'create-room', room);
    await emitAck(watcher, 'join-room', room);
    const accounts = await Promise.all([1, 2, 3].map(() => signUp(cluster.url(2))));
    const doomedNames = accounts.map((a) => a.username);
    const doomed = await Promise.all(
      accounts.map(async (a) => track(await connect(cluster.url(2), a.cookie))),
    );
    for (const s of doomed) s.io.opts.reconnection = false;
    for (const s of doomed) await emitAck(s, 'join-room', room);
    await eventually(() => roomCounts.at(-1)?.count === 4, 'room of 4');

    const killedAt = Date.now();
    await cluster.killInstance(2, 'SIGKILL');
    await eventually(() => roomCounts.at(-1)?.count === 1, 'room count without the dead instance', 15_000);
    await eventually(
      async () => {
        const who = (await emitAck(watcher, 'who')).users as string[];
        return doomedNames.every((u) => !who.includes(u));
      },
      'online list without the dead instance users',
      15_000,
    );
    const took = Date.now() - killedAt;
    expect(took).toBeLessThan(15_000);
    console.info(`[figures] SIGKILLed instance's users left the counts after ${took} ms`);
    await cluster.instances[2]!.restart();
  });

  it('drains on SIGTERM: users land on other instances, re-join, and lose nothing', async () => {
    const ips = Array.from({ length: 9 }, (_, i) => `127.0.1.${i + 2}`);
    const before = await Promise.all(cluster.instances.map((_, i) => socketsOnInstance(i)));
    const users = await Promise.all(ips.map((ip) => ChatClient.create(cluster.nginxUrl, { from: ip })));
    users.forEach(track);
    const room = roomName('Drain');
    await users[0]!.emit('create-room', room);
    for (const u of users) await u.join(room);
    // Drain the instance that really holds the most of these users (from its own socket gauge):
    // right after the previous test's restart nginx may still route an address to a fallback.
    const after = await Promise.all(cluster.instances.map((_, i) => socketsOnInstance(i)));
    const added = after.map((n, i) => n - (before[i] ?? 0));
    const index = added.indexOf(Math.max(...added));
    expect(added[index]).toBeGreaterThan(0);
    const reconnectsBefore = users.map((u) => u.reconnects);
    let sent = 0;
    const sending = (async () => {
      for (let k = 0; k < 20; k++) {
        await Promise.all(users.map((u, i) => u.send(`drain ${i}/${k}`)));
        sent += users.length;
        await delay(50);
      }
    })();
    const exit = await cluster.instances[index]!.stop('SIGTERM');
    await sending;
    expect(exit).toBe(0);
    await eventually(
      () => users.every((u) => u.connected && u.pending.size === 0),
      'everyone back with nothing pending',
      15_000,
    ).catch((err: unknown) => {
      const state = users.map((u) => ({
        c: u.socket.connected,
        b: u.connected,
        p: u.pending.size,
        r: u.reconnects,
        s: u.seen.size,
      }));
      throw new Error(`${String(err)} ${JSON.stringify(state)}`);
    });
    await eventually(() => users.every((u) => u.seen.size >= sent), 'everyone saw everything', 15_000);
    const moved = users.filter((u, i) => u.reconnects > (reconnectsBefore[i] ?? 0)).length;
    // Users of the drained instance moved (the gauge delta may include an earlier test's client
    // reconnecting meanwhile, so it is not an exact count of them).
    expect(moved).toBeGreaterThanOrEqual(1);
    const stored = await request(
      `${cluster.url((index + 1) % 3)}/api/rooms/${encodeURIComponent(room)}/messages?limit=100`,
      {
        headers: { cookie: users[0]!.cookie },
      },
    );
    const latest = (JSON.parse(stored.body) as { latestSeq: number }).latestSeq;
    expect(latest).toBe(sent);
    for (const u of users) {
      expect(u.seen.size).toBe(sent);
      expect(u.liveDuplicates).toBe(0);
      expect(new Set([...u.seen.values()].map((m: Message) => m.id)).size).toBe(sent);
    }
    await cluster.instances[index]!.restart();
  });
});
