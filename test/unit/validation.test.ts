import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import {
  credentialsSchema,
  historyQuerySchema,
  joinSchema,
  messageSchema,
  parse,
  roomNameSchema,
  typingSchema,
} from '../../src/protocol.js';

const fails = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof AppError && err.code === 'invalid_payload';
  }
  return false;
};

describe('credentials', () => {
  it('accepts the documented username set and password sizes', () => {
    expect(parse(credentialsSchema, { username: 'al.ice_-9', password: '12345678' })).toEqual({
      username: 'al.ice_-9',
      password: '12345678',
    });
    expect(parse(credentialsSchema, { username: 'abc', password: 'é'.repeat(36) }).password).toHaveLength(36);
  });

  it.each([
    ['short name', { username: 'ab', password: 'password1' }],
    ['long name', { username: 'a'.repeat(33), password: 'password1' }],
    ['name with a space', { username: 'al ice', password: 'password1' }],
    ['name with a key separator', { username: 'al:ice', password: 'password1' }],
    ['name with braces', { username: '{alice}', password: 'password1' }],
    ['short password', { username: 'alice', password: '1234567' }],
    ['password over 72 bytes', { username: 'alice', password: 'é'.repeat(37) }],
    ['number password', { username: 'alice', password: 12345678 }],
    ['array name', { username: ['alice'], password: 'password1' }],
    ['missing fields', {}],
    ['null', null],
  ])('refuses %s', (_name, body) => {
    expect(fails(() => parse(credentialsSchema, body))).toBe(true);
  });
});

describe('room names', () => {
  it('trims and NFC-normalises', () => {
    expect(parse(roomNameSchema, '  General  ')).toBe('General');
    expect(parse(roomNameSchema, 'Cafe\u0301')).toBe('Café');
    expect(parse(roomNameSchema, 'Ünïcödé chat #1 (fun) & more!')).toBe('Ünïcödé chat #1 (fun) & more!');
    expect(parse(roomNameSchema, 'x'.repeat(64))).toHaveLength(64);
  });

  it.each([
    ['empty', '   '],
    ['too long', 'x'.repeat(65)],
    ['a key separator', 'a:b'],
    ['a hash tag', 'a{b}'],
    ['a pipe', 'a|b'],
    ['markup', '<script>'],
    ['a control character', 'a\u0000b'],
    ['a leading dash', '-room'],
    ['a number', 42],
    ['an object', { name: 'x' }],
  ])('refuses %s', (_name, value) => {
    expect(fails(() => parse(roomNameSchema, value))).toBe(true);
  });
});

describe('join, message, typing, history', () => {
  it('takes a name or {room, since}', () => {
    expect(parse(joinSchema, 'General')).toEqual({ room: 'General', since: undefined });
    expect(parse(joinSchema, { room: 'General', since: 4 })).toEqual({ room: 'General', since: 4 });
    expect(fails(() => parse(joinSchema, { room: 'General', since: -1 }))).toBe(true);
    expect(fails(() => parse(joinSchema, { room: 'General', since: 1.5 }))).toBe(true);
    expect(fails(() => parse(joinSchema, { room: 'General', since: '3' }))).toBe(true);
  });

  it('takes message text up to 2000 characters with an optional clientId', () => {
    expect(parse(messageSchema, { text: 'hi' })).toEqual({ text: 'hi' });
    expect(parse(messageSchema, { text: ' x ', clientId: 'a-b_C9' })).toEqual({
      text: ' x ',
      clientId: 'a-b_C9',
    });
    expect(parse(messageSchema, { text: 'y'.repeat(2000) }).text).toHaveLength(2000);
    for (const bad of [
      { text: '' },
      { text: '   ' },
      { text: 'y'.repeat(2001) },
      { text: 5 },
      { text: 'x', clientId: 'a b' },
      'hi',
      null,
    ]) {
      expect(fails(() => parse(messageSchema, bad))).toBe(true);
    }
  });

  it('ignores a client-sent sender', () => {
    expect(parse(messageSchema, { text: 'hi', sender: 'mallory' })).toEqual({ text: 'hi' });
  });

  it('takes typing as a boolean only', () => {
    expect(parse(typingSchema, true)).toBe(true);
    expect(fails(() => parse(typingSchema, 'true'))).toBe(true);
  });

  it('bounds history queries', () => {
    expect(parse(historyQuerySchema, {})).toEqual({ limit: 50 });
    expect(parse(historyQuerySchema, { before: '10', limit: '5' })).toEqual({ before: 10, limit: 5 });
    expect(fails(() => parse(historyQuerySchema, { limit: '1000' }))).toBe(true);
    expect(fails(() => parse(historyQuerySchema, { before: 'abc' }))).toBe(true);
  });
});
