import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { toFailBody } from '../../src/errors.js';
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
    expect(err.problem.length).toBeGreaterThan(0);
    // What a client sees names no internals.
    expect(toFailBody(err)).toEqual({
      success: false,
      error: 'Something went wrong on our side.',
      code: 'internal',
    });
  });
});

describe('a logged ScriptReplyError', () => {
  it('carries the script and the problem in the log line', () => {
    const lines: string[] = [];
    const log = pino({ level: 'error' }, { write: (line: string) => void lines.push(line) });
    log.error({ err: new ScriptReplyError('append', '0: expected number') }, 'socket handler failed');
    const entry = JSON.parse(lines[0] ?? '{}') as { err?: Record<string, unknown> };
    expect(entry.err).toMatchObject({
      type: 'ScriptReplyError',
      script: 'append',
      problem: '0: expected number',
    });
  });
});
