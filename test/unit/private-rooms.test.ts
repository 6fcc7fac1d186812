import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import {
  chatRoomRefSchema,
  createRoomSchema,
  dmName,
  joinSchema,
  parse,
  roomMembersQuerySchema,
  roomNameSchema,
  roomSchema,
  USERNAME_MAX_LENGTH,
  USERNAME_MIN_LENGTH,
} from '../../src/protocol.js';

/** DM names and the room references of issue 14 (docs/protocol.md, "Private rooms and DMs"). */

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return err instanceof AppError ? err.code : 'thrown';
  }
  return undefined;
};

const username = fc.stringMatching(
  new RegExp(`^[A-Za-z0-9_.-]{${USERNAME_MIN_LENGTH},${USERNAME_MAX_LENGTH}}$`),
);

describe('DM names', () => {
  it('are the same for both people, whatever the case, and always a valid room reference', () => {
    fc.assert(
      fc.property(username, username, (a, b) => {
        const name = dmName(a, b);
        expect(dmName(b.toUpperCase(), a)).toBe(name);
        expect(parse(chatRoomRefSchema, name)).toBe(name);
        // Never a room name: no public or private room can take it.
        expect(roomNameSchema.safeParse(name).success).toBe(false);
      }),
    );
    expect(dmName('Bob', 'alice')).toBe('@alice+bob');
  });

  it('refuses DM-like names that are not canonical', () => {
    for (const bad of ['@Alice+bob', '@al+bob', '@alice', '@alice+bob+carol', '@alice+', '@{x}+bob'])
      expect(
        code(() => parse(chatRoomRefSchema, bad)),
        bad,
      ).toBe('invalid_payload');
  });
});

describe('room references and create-room', () => {
  it('take room names as roomNameSchema does, and DM names, in join-room too', () => {
    expect(parse(chatRoomRefSchema, '  General ')).toBe('General');
    expect(parse(joinSchema, '@alice+bob').room).toBe('@alice+bob');
    expect(parse(joinSchema, { room: '@alice+bob', since: 3 })).toMatchObject({
      room: '@alice+bob',
      since: 3,
    });
    expect(code(() => parse(chatRoomRefSchema, 'x'.repeat(300)))).toBe('invalid_payload');
    expect(code(() => parse(chatRoomRefSchema, 42))).toBe('invalid_payload');
  });

  it('create-room takes a name (public) or { name, visibility }', () => {
    expect(parse(createRoomSchema, 'Lobby')).toEqual({ name: 'Lobby', visibility: 'public' });
    expect(parse(createRoomSchema, { name: 'Lobby' })).toEqual({ name: 'Lobby', visibility: 'public' });
    expect(parse(createRoomSchema, { name: 'Lobby', visibility: 'private' })).toEqual({
      name: 'Lobby',
      visibility: 'private',
    });
    // A DM is opened with open-dm, never created by name.
    expect(code(() => parse(createRoomSchema, { name: 'Lobby', visibility: 'dm' }))).toBe('invalid_payload');
    expect(code(() => parse(createRoomSchema, '@alice+bob'))).toBe('invalid_payload');
  });

  it('room-members pages with a cursor of member names only', () => {
    expect(parse(roomMembersQuerySchema, { room: 'Lobby' })).toMatchObject({ limit: 100 });
    expect(code(() => parse(roomMembersQuerySchema, { room: 'Lobby', cursor: '{x}' }))).toBe(
      'invalid_payload',
    );
    expect(code(() => parse(roomMembersQuerySchema, { room: 'Lobby', limit: 1001 }))).toBe('invalid_payload');
  });

  it('keeps rooms stored before visibility existed valid (public)', () => {
    const old = { name: 'Old', createdBy: 'alice', createdAt: '2020-01-01T00:00:00.000Z' };
    expect(roomSchema.parse(old)).toEqual(old);
  });
});
