import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WHO_PAGE_MAX } from '../../src/protocol.js';
import { createKeys, PRESENCE_BUCKETS, presenceBucketOf } from '../../src/redis/keys.js';
import { createPresenceStore, type PresenceStore } from '../../src/store/presence.js';
import { connect, emitAck, eventually, signUp, startApp, type TestApp } from '../helpers/app.js';
import { uniquePrefix } from '../helpers/prefix.js';

/**
 * Presence partitioned over buckets, against the real Redis of the tier (standalone, or a Redis
 * Cluster where the buckets sit on every master): counts exact across buckets with many users and
 * two tabs, a crashed instance reaped in every bucket, a lost lease resynced, `who` paged.
 * The stores run through an app's own data client, so each topology's client is the one tested.
 */
let app: TestApp;
const sockets: Socket[] = [];

beforeAll(async () => {
  app = await startApp({ name: 'presence' });
});

afterAll(async () => {
  for (const s of sockets) s.close();
  await app?.close();
});

/** Two presence stores (instances) under a fresh prefix, both registered (holding every lease). */
async function twoInstances(leaseMs = 60_000) {
  const keys = createKeys(uniquePrefix('presence-store'));
  const make = (id: string) =>
    createPresenceStore(app.server.redis.data, keys, {
      instanceId: id,
      leaseMs,
      startedAt: new Date().toISOString(),
    });
  const a = make('inst-a');
  const b = make('inst-b');
  await a.heartbeat({ connections: 0 }, true);
  await b.heartbeat({ connections: 0 }, true);
  return { keys, a, b };
}

/** Distinct online users as the instances compute it: the sum of every bucket's count. */
async function online(store: PresenceStore): Promise<number> {
  const counts = await store.counts(Array.from({ length: PRESENCE_BUCKETS }, (_, i) => i));
  return counts.buckets.reduce((n, c) => n + c.online, 0);
}

/** Every name `who` lists, walking all pages of `limit`. */
async function walk(store: PresenceStore, limit: number): Promise<{ names: string[]; pages: number }> {
  const names: string[] = [];
  let cursor = '';
  let pages = 0;
  for (;;) {
    const page = await store.page(cursor, limit);
    pages++;
    expect(page.users.length).toBeLessThanOrEqual(limit);
    names.push(...page.users);
    if (page.next === null) return { names, pages };
    cursor = page.next;
  }
}

const users = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}${i}`);
const rooms = ['North', 'South', 'East', 'West', 'Lobby', 'Garden'];

describe('presence over buckets', () => {
  it('spreads the users of this test over many buckets', () => {
    expect(new Set(users(300, 'u').map(presenceBucketOf)).size).toBe(PRESENCE_BUCKETS);
    expect(new Set(rooms.map(presenceBucketOf)).size).toBeGreaterThan(3);
  });

  it('counts distinct users exactly across buckets and instances (two tabs are one user) and per room', async () => {
    const { a, b } = await twoInstances();
    const names = users(300, 'u');
    // Every user on a; every third also has a tab on b; every fifth a second tab on a.
    await Promise.all(names.map((u) => a.connect(u)));
    await Promise.all(names.filter((_, i) => i % 3 === 0).map((u) => b.connect(u)));
    const twice = await Promise.all(names.filter((_, i) => i % 5 === 0).map((u) => a.connect(u)));
    expect(twice.every((c) => c !== null && c >= 2)).toBe(true);
    expect(await online(a)).toBe(300);

    // Each user's first tab joins room i mod 6; b's tabs join room (i + 1) mod 6.
    await Promise.all(names.map((u, i) => a.move(u, null, rooms[i % 6] ?? null)));
    await Promise.all(
      names
        .filter((_, i) => i % 3 === 0)
        .map((u) => b.move(u, null, rooms[(names.indexOf(u) + 1) % 6] ?? null)),
    );
    const expected = new Map(rooms.map((r) => [r, new Set<string>()]));
    names.forEach((u, i) => {
      expected.get(rooms[i % 6] ?? '')?.add(u);
      if (i % 3 === 0) expected.get(rooms[(i + 1) % 6] ?? '')?.add(u);
    });
    const members = await a.roomMembers(rooms);
    for (const r of rooms) expect(members.get(r), r).toBe(expected.get(r)?.size);

    // Disconnect one tab of the two-tab users on a: still online; then everyone on a goes.
    await Promise.all(names.filter((_, i) => i % 5 === 0).map((u) => a.disconnect(u, null)));
    expect(await online(a)).toBe(300);
    const left = await Promise.all(names.map((u, i) => a.disconnect(u, rooms[i % 6] ?? null)));
    expect(left.filter((c) => c === 0)).toHaveLength(200);
    expect(await online(b)).toBe(100);
    const after = await b.roomMembers(rooms);
    const bOnly = new Map(rooms.map((r) => [r, 0]));
    names.forEach((_, i) => {
      if (i % 3 === 0) bOnly.set(rooms[(i + 1) % 6] ?? '', (bOnly.get(rooms[(i + 1) % 6] ?? '') ?? 0) + 1);
    });
    for (const r of rooms) expect(after.get(r), r).toBe(bOnly.get(r));
  });

  it('reaps a crashed instance in every bucket: its users leave every count, the others stay', async () => {
    const { a, b, keys } = await twoInstances(1500);
    const names = users(200, 'c');
    await Promise.all(names.map((u, i) => b.connect(u).then(() => b.move(u, null, rooms[i % 6] ?? null))));
    // Half of them also on a, in the same rooms: they must stay.
    const survivors = names.filter((_, i) => i % 2 === 0);
    await Promise.all(
      survivors.map((u) => a.connect(u).then(() => a.move(u, null, rooms[names.indexOf(u) % 6] ?? null))),
    );
    expect(await online(a)).toBe(200);
    const bucketsOfB = new Set(names.map(presenceBucketOf));
    expect(bucketsOfB.size).toBe(PRESENCE_BUCKETS);

    // b crashes: no more heartbeats. a keeps beating; once b's leases lapse a reaps b everywhere.
    const crashed = Date.now();
    let reaped: string[] = [];
    const changed = new Set<number>();
    await eventually(async () => {
      const beat = await a.heartbeat({ connections: 0 });
      for (const bucket of beat.changedBuckets) changed.add(bucket);
      reaped = [...new Set([...reaped, ...beat.reaped])];
      return (await online(a)) === survivors.length;
    }, 'b reaped');
    expect(Date.now() - crashed).toBeGreaterThanOrEqual(1000);
    expect(reaped).toEqual(['inst-b']);
    expect(changed.size).toBe(PRESENCE_BUCKETS);
    const members = await a.roomMembers(rooms);
    for (const [i, r] of rooms.entries()) {
      expect(members.get(r), r).toBe(survivors.filter((u) => names.indexOf(u) % 6 === i).length);
    }
    for (let bucket = 0; bucket < PRESENCE_BUCKETS; bucket++) {
      expect(await app.server.redis.data.exists(keys.presenceInstance(bucket, 'inst-b'))).toBe(0);
    }
    expect((await walk(a, 37)).names.sort()).toEqual([...survivors].sort());
    // b comes back (a stall, not a death): its next write answers null, its heartbeat re-applies all.
    expect(await b.connect('late')).toBeNull();
    const beat = await b.heartbeat({ connections: 0 });
    expect(beat.resynced).toHaveLength(PRESENCE_BUCKETS);
    expect(await online(a)).toBe(201);
    const whole = await a.roomMembers(rooms);
    for (const [i, r] of rooms.entries()) {
      expect(whole.get(r), r).toBe(names.filter((_, k) => k % 6 === i).length);
    }
  });

  it('resyncs a bucket whose lease vanished (a Redis node that lost writes), exactly', async () => {
    const { a, keys } = await twoInstances();
    const names = users(120, 'r');
    await Promise.all(names.map((u) => a.connect(u)));
    await Promise.all(names.map((u) => a.connect(u)));
    const bucket = presenceBucketOf('r7');
    const inBucket = names.filter((u) => presenceBucketOf(u) === bucket);
    // The bucket's data is gone (as after a failover to a replica that lagged).
    for (const key of [
      keys.presenceLeases(bucket),
      keys.presenceOnline(bucket),
      keys.presenceNames(bucket),
      keys.presenceInstance(bucket, 'inst-a'),
    ])
      await app.server.redis.data.del(key);
    expect(await online(a)).toBe(120 - inBucket.length);
    expect(await a.connect('r7')).toBeNull();
    const beat = await a.heartbeat({ connections: 0 });
    expect(beat.resynced).toEqual([bucket]);
    expect(await online(a)).toBe(120);
    // r7 now has three connections: one disconnect leaves it online, as the local truth says.
    expect(await a.disconnect('r7', null)).toBe(2);
  });

  it('pages who: every online user exactly once, pages at most `limit`, a foreign cursor refused', async () => {
    const { a, b } = await twoInstances();
    const names = users(250, 'w');
    await Promise.all(names.map((u) => a.connect(u)));
    await Promise.all(names.slice(0, 100).map((u) => b.connect(u)));
    for (const limit of [1, 7, 100, WHO_PAGE_MAX]) {
      const { names: seen, pages } = await walk(a, limit);
      expect(seen.length, `limit ${limit}`).toBe(250);
      expect(new Set(seen).size).toBe(250);
      expect(pages).toBeGreaterThanOrEqual(Math.ceil(250 / limit));
    }
    await expect(a.page('99:x', 10)).rejects.toMatchObject({ code: 'invalid_payload' });
    await expect(a.page('nonsense', 10)).rejects.toMatchObject({ code: 'invalid_payload' });
  });
});

describe('who over a socket', () => {
  it('answers the first page without a payload, pages with { cursor, limit }, refuses a bad payload', async () => {
    const signed = await Promise.all(Array.from({ length: 12 }, () => signUp(app.url)));
    for (const s of signed) sockets.push(await connect(app.url, s.cookie));
    const me = sockets.at(-1) as Socket;
    const mine = signed.map((s) => s.username);
    await eventually(async () => {
      const first = await emitAck(me, 'who');
      return mine.every((u) => (first.users as string[]).includes(u));
    }, 'all online');
    const first = await emitAck(me, 'who');
    expect(first).toMatchObject({ success: true, next: null });
    expect(first.users as string[]).toEqual(
      [...(first.users as string[])].sort((x, y) => x.localeCompare(y)),
    );

    const seen: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 100; pages++) {
      const page = await emitAck(me, 'who', { limit: 5, ...(cursor ? { cursor } : {}) });
      expect(page.success).toBe(true);
      expect((page.users as string[]).length).toBeLessThanOrEqual(5);
      seen.push(...(page.users as string[]));
      if (page.next === null) break;
      cursor = page.next as string;
    }
    expect(seen.sort()).toEqual([...(first.users as string[])].sort());

    expect(await emitAck(me, 'who', { limit: WHO_PAGE_MAX + 1 })).toMatchObject({ code: 'invalid_payload' });
    expect(await emitAck(me, 'who', { cursor: 'nope' })).toMatchObject({ code: 'invalid_payload' });
    expect(await emitAck(me, 'who', 'text')).toMatchObject({ code: 'invalid_payload' });
  });
});
