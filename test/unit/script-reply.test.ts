import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { decodeReply, ScriptReplyError } from '../../src/redis/script.js';

describe('decodeReply', () => {
  const schema = z.tuple([z.number().int(), z.array(z.string())]);

  it('returns the typed reply when the shape matches', () => {
    expect(decodeReply('t', schema, [1, ['a', 'b']])).toEqual([1, ['a', 'b']]);
  });

  it.each([
    ['not an array', 'OK'],
    ['a string where a number belongs', ['1', []]],
    ['a missing element', [1]],
    ['a number in a string list', [1, ['a', 2]]],
  ])('refuses %s with ScriptReplyError (code internal) naming the script', (_what, reply) => {
    let caught: unknown;
    try {
      decodeReply('presence_reap', schema, reply);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ScriptReplyError);
    const err = caught as ScriptReplyError;
    expect(err.code).toBe('internal');
    expect(err.status).toBe(500);
    expect(err.script).toBe('presence_reap');
    expect(err.message).toContain('presence_reap');
  });
});
