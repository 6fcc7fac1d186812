import calculateSlot from 'cluster-key-slot';
import { createClient } from 'redis';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKeys } from '../../src/redis/keys.js';
import { connect, emitAck, eventually, signUp, startApp, type TestApp } from '../helpers/app.js';

/**
 * `who` and `room-stats` read keys of many rooms and users. On a Redis Cluster the rooms here are
 * chosen so their keys live on different masters (one room per master), so every read really
 * crosses nodes; in the other modes the same flows run on one server.
 */
const mode = inject('redisEnv').REDIS_MODE ?? 'standalone';

/** Master port per slot range, from CLUSTER SLOTS on the project's node. */
async function slotOwners(): Promise<(slot: number) => number> {
  const client = createClient({ url: inject('redisUrl') });
  await client.connect();
  try {
    const ranges = await client.clusterSlots();
    return (slot) => ranges.find((r) => r.from <= slot && slot <= r.to)?.master.port ?? -1;
  } finally {
    await client.close();
  }
}

let a: TestApp;
let b: TestApp;
const sockets: Socket[] = [];
let rooms: string[] = [];
let masters = new Set<number>();

beforeAll(async () => {
  a = await startApp({ name: 'topology' });
  b = await startApp({ name: 'topology', prefix: a.prefix });
  const keys = createKeys(a.prefix);
  if (mode === 'cluster') {
    const owner = await slotOwners();
    const byMaster = new Map<number, string>();
    for (let i = 0; byMaster.size < 3 && i < 1000; i++) {
      const name = `Spread ${i}`;
      const port = owner(calculateSlot(keys.roomSeq(name)));
      if (!byMaster.has(port)) byMaster.set(port, name);
    }
    rooms = [...byMaster.values()];
    masters = new Set(byMaster.keys());
  } else {
    rooms = ['Spread 0', 'Spread 1', 'Spread 2'];
  }
});

afterAll(async () => {
  for (const s of sockets) s.close();
  await Promise.all([a?.close(), b?.close()]);
});

describe(`rooms spread over the topology (${mode})`, () => {
  it('puts the rooms on at least two masters (cluster only)', () => {
    if (mode === 'cluster') expect(masters.size).toBeGreaterThanOrEqual(2);
    expect(rooms).toHaveLength(3);
  });

  it('answers who and room-stats across rooms on different nodes', async () => {
    const users = await Promise.all([signUp(a.url), signUp(b.url), signUp(a.url)]);
    const socks = await Promise.all(users.map((u, i) => connect(i === 1 ? b.url : a.url, u.cookie)));
    sockets.push(...socks);
    for (const r of rooms)
      expect(await emitAck(socks[0] as Socket, 'create-room', r)).toMatchObject({ success: true });
    // Room i gets i + 1 members and i + 2 messages.
    for (let i = 0; i < rooms.length; i++) {
      for (let m = 0; m <= i; m++) await emitAck(socks[m] as Socket, 'join-room', rooms[i]);
      for (let n = 0; n < i + 2; n++) {
        expect(await emitAck(socks[0] as Socket, 'message', { text: `m${n}` })).toMatchObject({
          success: true,
        });
      }
    }
    // Everyone ends in the last room; move them back so each room has its own count.
    await emitAck(socks[0] as Socket, 'join-room', rooms[0]);
    await emitAck(socks[1] as Socket, 'join-room', rooms[1]);
    await emitAck(socks[2] as Socket, 'join-room', rooms[2]);
    const expected = rooms.map((name, i) => ({ name, members: 1, latestSeq: i + 2 }));
    await eventually(
      async () => {
        const stats = (await emitAck(socks[1] as Socket, 'room-stats')).rooms as typeof expected;
        return JSON.stringify(stats) === JSON.stringify(expected);
      },
      `room-stats ${JSON.stringify(expected)}`,
    );
    const who = (await emitAck(socks[2] as Socket, 'who')).users as string[];
    expect(who).toEqual([...users.map((u) => u.username)].sort((x, y) => x.localeCompare(y)));
  });
});
