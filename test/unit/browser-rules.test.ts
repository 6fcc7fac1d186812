import { describe, expect, it } from 'vitest';
import type { Message, Room } from '../../src/protocol.js';

/**
 * The browser's rules for issue 14 (public/js, plain JS outside the TS project: loaded by path and
 * typed here): which Edit/Delete buttons a message gets (the server's rules, docs/protocol.md), how a
 * DM is named on screen, and the sentences for the new error codes.
 */

interface Permissions {
  edit: boolean;
  delete: boolean;
}
type Who = { me: string; admin: boolean; editWindowMs: number };
type Fail = { success: false; code: string; error: string; retryAfterMs?: number };

const actionsModule = '../../public/js/chat/message-actions.js';
const roomsModule = '../../public/js/chat/rooms.js';
const errorsModule = '../../public/js/chat/error-text.js';
const { messagePermissions } = (await import(actionsModule)) as {
  messagePermissions: (who: Who, room: Room | undefined, message: Message, now?: number) => Permissions;
};
const { dmPeer, isDmName } = (await import(roomsModule)) as {
  dmPeer: (room: Room | undefined, name: string, me: string) => string;
  isDmName: (name: string) => boolean;
};
const { actionError, accessError } = (await import(errorsModule)) as {
  actionError: (fail: Fail, what: string) => string;
  accessError: (fail: Fail, shown: string) => string | null;
};

const WINDOW = 15 * 60_000;
const NOW = Date.parse('2026-01-01T12:00:00Z');
const at = (msAgo: number) => new Date(NOW - msAgo).toISOString();
const message = (sender: string, msAgo: number, extra: Partial<Message> = {}): Message => ({
  id: 'm1',
  seq: 1,
  roomId: 'general',
  text: 'hello',
  sender,
  timestamp: at(msAgo),
  ...extra,
});
const room = (createdBy: string, visibility?: Room['visibility']): Room => ({
  name: visibility === 'dm' ? '@alice+bob' : 'general',
  createdBy,
  createdAt: at(WINDOW * 10),
  ...(visibility ? { visibility } : {}),
});
const alice: Who = { me: 'alice', admin: false, editWindowMs: WINDOW };

describe('Edit and Delete buttons', () => {
  it('gives the sender both within the window (any case of the name), neither after it', () => {
    expect(messagePermissions(alice, room('carol'), message('Alice', 1000), NOW)).toEqual({
      edit: true,
      delete: true,
    });
    expect(messagePermissions(alice, room('carol'), message('alice', WINDOW + 1), NOW)).toEqual({
      edit: false,
      delete: false,
    });
    expect(
      messagePermissions({ ...alice, editWindowMs: 0 }, room('carol'), message('alice', 0), NOW),
    ).toEqual({
      edit: false,
      delete: false,
    });
  });

  it('lets a room owner and an operator delete anything (never edit), but not the opener of a DM', () => {
    const bobs = message('bob', WINDOW * 2);
    expect(messagePermissions(alice, room('alice', 'private'), bobs, NOW)).toEqual({
      edit: false,
      delete: true,
    });
    expect(messagePermissions(alice, room('carol'), bobs, NOW)).toEqual({ edit: false, delete: false });
    expect(messagePermissions(alice, room('alice', 'dm'), bobs, NOW)).toEqual({ edit: false, delete: false });
    expect(messagePermissions({ ...alice, admin: true }, room('carol', 'dm'), bobs, NOW)).toEqual({
      edit: false,
      delete: true,
    });
    expect(messagePermissions(alice, undefined, bobs, NOW)).toEqual({ edit: false, delete: false });
  });

  it('offers nothing on a tombstone', () => {
    const tombstone = message('alice', 1000, { text: '', deleted: true });
    expect(messagePermissions({ ...alice, admin: true }, room('alice'), tombstone, NOW)).toEqual({
      edit: false,
      delete: false,
    });
  });
});

describe('DM names on screen', () => {
  it('shows the other person: from the record, else from the @a+b name', () => {
    const dm = { ...room('Alice', 'dm'), members: ['Alice', 'Bob'] as [string, string] };
    expect(dmPeer(dm, dm.name, 'alice')).toBe('Bob');
    expect(dmPeer(undefined, '@alice+bob', 'BOB')).toBe('alice');
    expect(isDmName('@alice+bob')).toBe(true);
    expect(isDmName('general')).toBe(false);
  });
});

describe('error sentences for the new codes', () => {
  const fail = (code: string): Fail => ({ success: false, code, error: 'server text' });

  it.each([
    ['not_member', 'You are not a member of this conversation.'],
    ['edit_window_passed', 'Too late: messages can be edited or deleted only for a while after sending.'],
    ['suspended', 'This account is suspended.'],
    ['member_limit', 'This room has reached its member limit.'],
  ])('explains %s', (code, reason) => {
    expect(actionError(fail(code), 'edit the message')).toBe(`Could not edit the message: ${reason}`);
  });

  it('falls back to the server text, and says when to retry a rate limit', () => {
    expect(actionError(fail('internal'), 'invite bob')).toBe('Could not invite bob: Server text.');
    expect(actionError({ ...fail('rate_limited'), retryAfterMs: 3000 }, 'invite bob')).toMatch(
      /try again in 3/,
    );
  });

  it('explains a refused join of a private room', () => {
    expect(accessError(fail('not_member'), 'Secret')).toBe('You are not a member of “Secret” (any more).');
    expect(accessError(fail('room_not_found'), 'Secret')).toBeNull();
  });
});
