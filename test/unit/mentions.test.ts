import { describe, expect, it } from 'vitest';
import { MENTIONS_PER_MESSAGE_MAX, mentionsIn } from '../../src/protocol.js';

/** `@username` tokens (issue 14): which a text mentions, case-blind, distinct, at most 10. */
describe('mentionsIn', () => {
  it('finds @names anywhere, lower-cased and distinct, in order', () => {
    expect(mentionsIn('@Alice hi, (@bob) and @ALICE again: @carol.')).toEqual(['alice', 'bob', 'carol']);
  });

  it('ignores addresses, too short or too long tokens, and a bare @', () => {
    expect(mentionsIn('mail a@bob.com, @ab, @, @@, x@carol')).toEqual([]);
    expect(mentionsIn(`@${'a'.repeat(33)} @${'b'.repeat(32)}`)).toEqual(['b'.repeat(32)]);
  });

  it('keeps a name ending in letters, dropping sentence punctuation after it', () => {
    expect(mentionsIn('thanks @dave.- and @e_v.e!')).toEqual(['dave', 'e_v.e']);
  });

  it('stops at the cap', () => {
    const text = Array.from({ length: 15 }, (_, i) => `@user${i}`).join(' ');
    expect(mentionsIn(text)).toHaveLength(MENTIONS_PER_MESSAGE_MAX);
    expect(mentionsIn(text)[0]).toBe('user0');
  });
});
