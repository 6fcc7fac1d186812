import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import {
  canonicalText,
  displayName,
  hasVisible,
  nameIdentity,
  toWellFormedText,
} from '../../src/text-rules.js';
import { messageSchema, parse, roomNameSchema, usernameSchema } from '../../src/protocol.js';

const refused = (fn: () => unknown): boolean => {
  try {
    fn();
  } catch (err) {
    return err instanceof AppError && err.code === 'invalid_payload';
  }
  return false;
};

/** Characters of the classes the rules are about, mixed with plain letters. */
const INVISIBLE = [
  '\u200B',
  '\u200C',
  '\u200D',
  '\u2060',
  '\uFEFF',
  '\u3164',
  '\u115F',
  '\u1160',
  '\uFFA0',
  '\u034F',
  '\uFE0F',
  '\u{E0041}',
  '\u00AD',
];
const SPACES = [' ', '\n', '\t', '\u00A0', '\u2003', '\u3000', '\u2028'];
const MARKS = ['\u0301', '\u0308', '\u0327', '\u20DD'];
const SURROGATES = ['\uD83D', '\uDE00', '\uDBFF', '\uDC00'];
const CASES = ['A', 'a', 'ß', 'ẞ', 'Σ', 'ς', 'σ', 'İ', 'ı', 'Ǆ', 'ǅ', 'ǆ', 'Ａ', 'ﬁ', 'é', 'e\u0301', '😀'];
const piece = fc.constantFrom(...INVISIBLE, ...SPACES, ...MARKS, ...SURROGATES, ...CASES);
/** Strings over the interesting classes, and arbitrary UTF-16 strings (lone surrogates included). */
const text = fc.oneof(
  fc.array(piece, { maxLength: 12 }).map((a) => a.join('')),
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
);
const isWellFormed = (s: string) =>
  !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

describe('text rules (properties over arbitrary strings)', () => {
  it('canonical text is well-formed, NFC, idempotent and survives a UTF-8 round trip unchanged', () => {
    fc.assert(
      fc.property(text, (s) => {
        const c = canonicalText(s);
        expect(isWellFormed(c)).toBe(true);
        expect(c.normalize('NFC')).toBe(c);
        expect(canonicalText(c)).toBe(c);
        expect(Buffer.from(c, 'utf8').toString('utf8')).toBe(c);
      }),
      { numRuns: 2000 },
    );
  });

  it('identity is idempotent, ignores case, width, invisible characters and spacing', () => {
    fc.assert(
      fc.property(text, (s) => {
        const id = nameIdentity(s);
        expect(nameIdentity(id)).toBe(id);
        expect(nameIdentity(s.toUpperCase())).toBe(nameIdentity(s.toLowerCase()));
        expect(nameIdentity(`\u200B ${s}\u3164 `)).toBe(id);
        expect(isWellFormed(id)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('a display name keeps the spelling, is a fixed point, and is empty exactly when nothing shows', () => {
    fc.assert(
      fc.property(text, (s) => {
        const d = displayName(s);
        expect(displayName(d)).toBe(d);
        expect(nameIdentity(d)).toBe(nameIdentity(s));
        if (!hasVisible(s)) expect(d).toBe('');
      }),
      { numRuns: 2000 },
    );
  });

  it('names that read the same share one identity; different names do not', () => {
    const id = nameIdentity('Weekend Hiking');
    for (const same of [
      'weekend hiking',
      'WEEKEND HIKING',
      'Weekend  Hiking',
      'Ｗｅｅｋｅｎｄ Hiking',
      'Week\u200Bend Hiking',
      'Weekend\u3164Hiking'.replace('\u3164', ' '),
    ])
      expect(nameIdentity(same)).toBe(id);
    expect(nameIdentity('Straße')).toBe(nameIdentity('STRASSE'));
    expect(nameIdentity('Café')).toBe(nameIdentity('CAFE\u0301'));
    expect(nameIdentity('Weekend Hikes')).not.toBe(id);
  });

  it('replaces lone surrogates with U+FFFD and keeps pairs', () => {
    expect(toWellFormedText('a\uD83Db')).toBe('a\uFFFDb');
    expect(toWellFormedText('cut here \uD83D')).toBe('cut here \uFFFD');
    expect(toWellFormedText('\uDC00x')).toBe('\uFFFDx');
    expect(toWellFormedText('ok 😀')).toBe('ok 😀');
  });
});

describe('the browser composer', () => {
  it('calls the same texts blank as the server (property)', async () => {
    // The browser module is plain JS outside the TS project: loaded by path, typed here.
    const browserFormat = '../../public/js/chat/format.js';
    const { hasVisibleText } = (await import(browserFormat)) as { hasVisibleText: (t: string) => boolean };
    fc.assert(
      fc.property(text, (s) => {
        expect(hasVisibleText(s)).toBe(hasVisible(s));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('schemas use the rules', () => {
  it.each([
    ['a zero-width space', '\u200B'],
    ['joiners', '\u200B\u200C\u200D\u2060'],
    ['white space and zero-width spaces', ' \u200B\n\u200B '],
    ['a Hangul filler', '\u3164'],
    ['a byte-order mark', '\uFEFF'],
    ['a braille blank', '\u2800 \u2800'],
  ])('refuses a message of only %s like an empty one', (_what, value) => {
    expect(refused(() => parse(messageSchema, { text: value }))).toBe(true);
  });

  it('canonicalizes message text: lone surrogates become U+FFFD, NFC', () => {
    expect(parse(messageSchema, { text: 'a\uD83Db' }).text).toBe('a\uFFFDb');
    expect(parse(messageSchema, { text: 'cut here \uD83D' }).text).toBe('cut here \uFFFD');
    expect(parse(messageSchema, { text: 'Cafe\u0301' }).text).toBe('Café');
    expect(parse(messageSchema, { text: '👨‍👩‍👧 ok' }).text).toBe('👨‍👩‍👧 ok');
  });

  it.each([['\u3164'], ['\u3164\u3164\u3164'], ['\u115F\u1160'], ['\u200B'], ['\uFFA0']])(
    'refuses a room name with nothing visible (%j)',
    (value) => {
      expect(refused(() => parse(roomNameSchema, value))).toBe(true);
    },
  );

  it('drops invisible characters from a room name and keeps the rest of the spelling', () => {
    expect(parse(roomNameSchema, '\u3164Weekend Hiking\u200B')).toBe('Weekend Hiking');
    expect(parse(roomNameSchema, 'Weekend\u200B Hiking')).toBe('Weekend Hiking');
  });

  it('every accepted message and room name is canonical and visible (property)', () => {
    fc.assert(
      fc.property(text, (s) => {
        const msg = messageSchema.safeParse({ text: s });
        if (msg.success) {
          expect(canonicalText(msg.data.text)).toBe(msg.data.text);
          expect(hasVisible(msg.data.text)).toBe(true);
        }
        const room = roomNameSchema.safeParse(s);
        if (room.success) {
          expect(displayName(room.data)).toBe(room.data);
          expect(nameIdentity(room.data)).not.toBe('');
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a valid username is its own display name and its identity is its lower case', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_.-]{3,32}$/), (name) => {
        expect(parse(usernameSchema, name)).toBe(name);
        expect(nameIdentity(name)).toBe(name.toLowerCase());
      }),
    );
  });
});
