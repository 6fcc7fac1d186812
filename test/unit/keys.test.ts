import { describe, expect, it } from 'vitest';
import { createKeys } from '../../src/redis/keys.js';

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
      k.presenceOnline,
      k.presenceRoom('General'),
      k.presenceInstance('app-1'),
      k.presenceLeases,
      k.presenceInfo,
      k.presenceVersion,
      k.adapterChannel,
      k.readyChannel('app-1'),
      k.rateLimit('message'),
      k.roomChanges('General'),
      k.roomMentions('General', 'Bob'),
      k.userReads('Alice'),
      k.userSessions('Alice'),
      k.suspendedUsers,
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
  });

  it("keeps a user's read markers and sessions under one key whatever the case, mentions too", () => {
    expect(k.userReads('Alice')).toBe(k.userReads('alice'));
    expect(k.userSessions('Alice')).toBe(k.userSessions('alice'));
    expect(k.roomMentions('General', 'Bob')).toBe(k.roomMentions('General', 'bob'));
  });

  it('keeps all presence keys on one slot', () => {
    const tags = new Set(
      [
        k.presenceOnline,
        k.presenceRoom('a'),
        k.presenceInstance('i'),
        k.presenceLeases,
        k.presenceInfo,
        k.presenceVersion,
      ].map(hashTag),
    );
    expect([...tags]).toEqual(['presence']);
  });

  it('uses the configured prefix', () => {
    expect(createKeys('t:1:').users).toBe('t:1:users');
  });
});
