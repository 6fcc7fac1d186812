import fc from 'fast-check';

/**
 * Unicode classes that make names and texts collide or vanish for people (issue 12): invisible
 * code points, fillers, combining marks, surrogates, case variants, compatibility forms, spaces.
 * Each class is an arbitrary of short strings; `unicodeText` mixes them with ordinary letters.
 */

const range = (from: number, to: number): fc.Arbitrary<string> =>
  fc.integer({ min: from, max: to }).map((cp) => String.fromCodePoint(cp));

/** Default-ignorable code points: zero-width and direction marks, word joiners, variation selectors, tags. */
export const defaultIgnorable: fc.Arbitrary<string> = fc.oneof(
  range(0x200b, 0x200f), // ZWSP, ZWNJ, ZWJ, LRM, RLM
  range(0x2060, 0x206f), // word joiner, invisible operators, deprecated format characters
  range(0xfe00, 0xfe0f), // variation selectors
  range(0xe0000, 0xe007f), // tags
  fc.constantFrom('\u00ad', '\u034f', '\u061c', '\u180e', '\ufeff', '\u202a', '\u202e'),
);

/** Hangul fillers: letters by category, blank on screen. */
export const filler: fc.Arbitrary<string> = fc.constantFrom('\u3164', '\u115f', '\u1160', '\uffa0');

/** Combining marks, alone (nothing to combine with at the start) or stacked (zalgo). */
export const combiningMark: fc.Arbitrary<string> = fc.oneof(
  range(0x0300, 0x036f),
  range(0x20d0, 0x20ff),
  fc.constantFrom('\u0301\u0301\u0301\u0301', '\u20dd', '\u0e31', '\u093f'),
);

/** Lone high or low surrogates, reversed pairs, and valid pairs (astral characters). */
export const surrogate: fc.Arbitrary<string> = fc.oneof(
  range(0xd800, 0xdbff), // lone high
  range(0xdc00, 0xdfff), // lone low
  fc.constantFrom('\udfff\ud800', '\ud83d', '\ude00', '\ud83d\ude00', '\udbff\udfff'),
  range(0x10000, 0x10ffff),
);

/** Pairs whose case mapping is not one-to-one or not ASCII: ß/ẞ/SS, Turkish I, Greek sigma, ligatures. */
export const caseVariant: fc.Arbitrary<string> = fc.constantFrom(
  'ß',
  'ẞ',
  'SS',
  'İ',
  'ı',
  'I',
  'i',
  'Σ',
  'σ',
  'ς',
  'ﬃ',
  'K', // Kelvin sign
  'Å', // Angstrom sign
  'ǅ',
  'ǆ',
);

/** Full-width and other compatibility forms that NFKC folds to ASCII. */
export const fullWidth: fc.Arbitrary<string> = fc.oneof(
  range(0xff01, 0xff5e),
  fc.constantFrom('Ａｂｃ', '１２３', '\u2460', '\u00bd', '\u2126', '\u1d43'),
);

/** NBSP and the other non-ASCII spaces and separators. */
export const space: fc.Arbitrary<string> = fc.oneof(
  range(0x2000, 0x200a),
  fc.constantFrom('\u00a0', '\u1680', '\u202f', '\u205f', '\u3000', '\u2028', '\u2029', '\u0085'),
  fc.constantFrom(' ', '\t', '\n', '\r\n'),
);

/** Ordinary visible text around the tricky parts: ASCII, accented and non-Latin letters, emoji. */
export const visible: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 8 }) },
  { weight: 1, arbitrary: fc.constantFrom('Café', 'e\u0301', 'Ελληνικά', 'שלום', 'مرحبا', '日本語', 'Ω') },
  { weight: 1, arbitrary: fc.constantFrom('😀', '👩‍👩‍👧‍👦', '🇫🇷', '1️⃣') },
);

/** Every tricky class, weighted evenly. */
export const trickyPart: fc.Arbitrary<string> = fc.oneof(
  defaultIgnorable,
  filler,
  combiningMark,
  surrogate,
  caseVariant,
  fullWidth,
  space,
);

/**
 * A short string built from tricky parts and ordinary ones: invisible-only strings, names that differ
 * only by case or width, text cut through a surrogate pair. `maxParts` bounds its length.
 */
export function unicodeText(maxParts = 12): fc.Arbitrary<string> {
  return fc.oneof(
    {
      weight: 2,
      arbitrary: fc.array(trickyPart, { minLength: 1, maxLength: maxParts }).map((p) => p.join('')),
    },
    {
      weight: 5,
      arbitrary: fc
        .array(fc.oneof(trickyPart, visible), { minLength: 1, maxLength: maxParts })
        .map((p) => p.join('')),
    },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: maxParts }) },
    {
      weight: 1,
      arbitrary: fc
        .string({ unit: range(0, 0xffff), minLength: 1, maxLength: maxParts })
        .filter((s) => s.length > 0),
    },
  );
}

/** A string and a case, width or normalization variant of it: candidates for the same identity. */
export function lookalikePair(base: fc.Arbitrary<string>): fc.Arbitrary<[string, string]> {
  const variants: ((s: string) => string)[] = [
    (s) => s.toUpperCase(),
    (s) => s.toLowerCase(),
    (s) => s.normalize('NFD'),
    (s) => s.normalize('NFKC'),
    (s) => s.replace(/[!-~]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)), // full width
    (s) => `${s}\u200b`,
    (s) => s.replace(/ /g, '\u00a0'),
    (s) => s.replace(/i/g, 'İ').replace(/I/g, 'ı'),
  ];
  return fc
    .tuple(base, fc.integer({ min: 0, max: variants.length - 1 }))
    .map(([s, k]) => [s, (variants[k] ?? ((x: string) => x))(s)]);
}

/** Examples from the field (issue 12), tried first on every run. */
export const FIELD_NAMES: readonly string[] = [
  'Weekend Hiking',
  'weekend hiking',
  'WEEKEND HIKING',
  '\u3164',
  '\u3164\u3164\u3164',
  '\u115f\u1160',
];
export const FIELD_TEXTS: readonly string[] = [
  '\u200b',
  '\u200b\u200c\u200d\u2060',
  ' \u200b\n\u200b ',
  '\u3164',
  'a\ud83db',
  'cut here \ud83d',
];
