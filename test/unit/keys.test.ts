import { describe, expect, it } from 'vitest';
import calculateSlot from 'cluster-key-slot';
import { createKeys, PRESENCE_BUCKETS, PRESENCE_TAGS, presenceBucketOf } from '../../src/redis/keys.js';

/** The part of a key Redis Cluster hashes: the first {…} with content, else the whole key. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  const close = key.indexOf('}', open + 1);
  return open >= 0 && close > open + 1 ? key.slice(open + 1, close) : key;
}

describe('keys', () => {
  const k = createKeys('chat:');

  it('puts every key under the prefix', () => {
    const all = [
      k.users,
      k.user('alice'),
      k.usersMigrated,
      k.rooms,
      k.roomIdentities,
      k.roomDirectory,
      k.roomsByAge,
      k.roomsHidden,
      k.roomMembers('General'),
      k.userRooms('Alice'),
      k.roomMessages('General'),
      k.roomSeq('General'),
      k.roomEpoch('General'),
      k.roomDedupe('General', 'bob', 'c1'),
      k.sessions,
      k.presenceOnline(0),
      k.presenceNames(0),
      k.presenceRoom('General'),
      k.presenceInstance(0, 'app-1'),
      k.presenceLeases(0),
      k.presenceInfo,
      k.presenceVersion(0),
      k.adapterChannel,
      k.readyChannel('app-1'),
      k.rateLimit('message'),
      k.roomChanges('General'),
      k.roomMentions('General', 'Bob'),
      k.roomMentioned('General'),
      k.roomReaders('General'),
      k.userReads('Alice'),
      k.userSessions('Alice'),
      k.userSuspended('Alice'),
    ];
    for (const key of all) expect(key.startsWith('chat:')).toBe(true);
    expect(new Set(all).size).toBe(all.length);
  });

  it('keeps one room on one cluster slot', () => {
    const tags = new Set(
      [
        k.roomMessages('Gen eral'),
        k.roomSeq('Gen eral'),
        k.roomEpoch('Gen eral'),
        k.roomDedupe('Gen eral', 'bob', 'x'),
        k.roomMembers('Gen eral'),
        k.roomChanges('Gen eral'),
        k.roomMentions('Gen eral', 'Bob'),
        k.roomMentions('Gen eral', 'carol'),
        k.roomMentioned('Gen eral'),
        k.roomReaders('Gen eral'),
      ].map(hashTag),
    );
    expect([...tags]).toEqual(['Gen eral']);
  });

  it('keeps the room directory and its identity index on one slot', () => {
    expect(hashTag(k.roomIdentities)).toBe(hashTag(k.rooms));
    // The create script writes all four in one step.
    expect(hashTag(k.roomDirectory)).toBe(hashTag(k.rooms));
    expect(hashTag(k.roomsByAge)).toBe(hashTag(k.rooms));
    expect(hashTag(k.roomsHidden)).toBe(hashTag(k.rooms));
  });

  it("keeps a user's rooms under one key whatever the case of the name", () => {
    expect(k.userRooms('Alice')).toBe(k.userRooms('alice'));
    expect(hashTag(k.userRooms('Alice'))).toBe('alice');
    expect(hashTag(k.user('alice'))).toBe('alice');
  });

  it("keeps a user's read markers and sessions under one key whatever the case, mentions too", () => {
    expect(k.userReads('Alice')).toBe(k.userReads('alice'));
    expect(k.userSessions('Alice')).toBe(k.userSessions('alice'));
    // Asked by every sign-in and handshake: in the user's own slot, never one key for all users.
    expect(hashTag(k.userSuspended('Alice'))).toBe('alice');
    expect(k.roomMentions('General', 'Bob')).toBe(k.roomMentions('General', 'bob'));
  });

  it("keeps each presence bucket's keys on one slot, rooms and users in their bucket", () => {
    for (const b of [0, 17, PRESENCE_BUCKETS - 1]) {
      const tags = new Set(
        [
          k.presenceOnline(b),
          k.presenceNames(b),
          k.presenceInstance(b, 'i'),
          k.presenceLeases(b),
          k.presenceVersion(b),
        ].map(hashTag),
      );
      expect([...tags]).toEqual([PRESENCE_TAGS[b]]);
    }
    expect(hashTag(k.presenceRoom('Gen eral'))).toBe(PRESENCE_TAGS[presenceBucketOf('Gen eral')]);
  });

  it('spreads the presence buckets evenly over the cluster slots and over 2, 3, 4 or 6 masters', () => {
    expect(new Set(PRESENCE_TAGS).size).toBe(PRESENCE_BUCKETS);
    const slots = PRESENCE_TAGS.map((t) => calculateSlot(t));
    slots.forEach((slot, i) => {
      const width = 16384 / PRESENCE_BUCKETS;
      expect(slot, PRESENCE_TAGS[i]).toBeGreaterThanOrEqual(i * width + width / 3);
      expect(slot, PRESENCE_TAGS[i]).toBeLessThanOrEqual(i * width + (2 * width) / 3);
    });
    for (const masters of [2, 3, 4, 6]) {
      // `--cluster create` gives master m the slots from floor(m × 16384 / masters).
      const owner = (slot: number) =>
        Array.from({ length: masters }, (_, m) => Math.floor((m * 16384) / masters)).filter(
          (lo) => lo <= slot,
        ).length - 1;
      const share = new Array<number>(masters).fill(0);
      for (const slot of slots) share[owner(slot)] = (share[owner(slot)] ?? 0) + 1;
      expect(share, `${masters} masters`).toEqual(
        new Array<number>(masters).fill(PRESENCE_BUCKETS / masters),
      );
    }
  });

  it('spreads users over the presence buckets evenly', () => {
    const per = new Array<number>(PRESENCE_BUCKETS).fill(0);
    const n = 48_000;
    for (let i = 0; i < n; i++) {
      const b = presenceBucketOf(`user${i}`);
      per[b] = (per[b] ?? 0) + 1;
    }
    const mean = n / PRESENCE_BUCKETS;
    expect(Math.max(...per) / mean).toBeLessThan(1.1);
    expect(Math.min(...per) / mean).toBeGreaterThan(0.9);
  });

  it('uses the configured prefix', () => {
    expect(createKeys('t:1:').users).toBe('t:1:users');
  });
});
