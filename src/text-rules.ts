/**
 * Identity and text rules: what a name "is" (so two names that read the same are one name) and
 * what text the server stores and relays (so every reader sees the same characters). Pure
 * functions, no dependencies; the zod schemas in the protocol module and the stores call them.
 * Unicode sources are named per rule; the character properties come from the regex engine's
 * Unicode tables (`\p{…}`), so they follow the Unicode version the runtime ships.
 */

/**
 * A high surrogate not followed by a low one, or a low one not preceded by a high one: text that is
 * not well-formed UTF-16 (Unicode §3.9 D91) and has no UTF-8 encoding. Each encoder replaces it
 * differently (U+FFFD, or pairs it with a neighbour), so it must not travel.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Default_Ignorable_Code_Point (DerivedCoreProperties.txt): rendered as nothing, including the
 * Hangul fillers U+115F, U+1160, U+3164, U+FFA0, zero-width spaces/joiners, variation selectors, tags. */
const DEFAULT_IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;

/** Runs of White_Space (PropList.txt). */
const WHITE_SPACE_RUN = /\p{White_Space}+/gu;

/**
 * A character that leaves a mark on screen: anything but White_Space, Default_Ignorable_Code_Point,
 * controls (Cc) and U+2800 BRAILLE PATTERN BLANK (a symbol drawn as an empty cell).
 */
const VISIBLE = /[^\p{White_Space}\p{Default_Ignorable_Code_Point}\p{Cc}\u2800]/u;
const INVISIBLE_EDGES =
  /^[\p{White_Space}\p{Default_Ignorable_Code_Point}\p{Cc}\u2800]+|[\p{White_Space}\p{Default_Ignorable_Code_Point}\p{Cc}\u2800]+$/gu;

/**
 * Text made well-formed: every lone surrogate becomes U+FFFD REPLACEMENT CHARACTER (the WHATWG
 * Encoding Standard's UTF-8 encode, i.e. `String.prototype.toWellFormed`). Chosen over refusing:
 * a cut-off emoji costs the reader one visible mark, not the whole message.
 */
export function toWellFormedText(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD');
}

/**
 * The one form message text is stored, acknowledged and relayed in: well-formed (see
 * {@link toWellFormedText}) and in Normalization Form C (UAX #15), so the ack, history, catch-up
 * and readers on every instance and adapter hold the same code points. Idempotent.
 */
export function canonicalText(text: string): string {
  return toWellFormedText(text).normalize('NFC');
}

/** True when `text` holds at least one character that renders (see VISIBLE above). */
export function hasVisible(text: string): boolean {
  return VISIBLE.test(text);
}

/** `text` without Default_Ignorable_Code_Point characters. */
export function stripIgnorables(text: string): string {
  return text.replace(DEFAULT_IGNORABLE, '');
}

/** Trims what does not render (see VISIBLE) at both ends; JS `trim` misses the fillers. */
function trimInvisible(text: string): string {
  return text.replace(INVISIBLE_EDGES, '');
}

/**
 * How a name is shown: the creator's spelling, canonical (see {@link canonicalText}), with
 * default-ignorable characters removed (they render as nothing, so they only hide collisions) and
 * white space trimmed at both ends. An empty result means the name had nothing visible.
 */
export function displayName(raw: string): string {
  // NFC again: removing an ignorable (e.g. U+034F between two marks) can change canonical order.
  return trimInvisible(stripIgnorables(canonicalText(raw))).normalize('NFC');
}

/** One round of the identity mapping; {@link nameIdentity} repeats it to a fixed point. */
function foldOnce(text: string): string {
  // Full case folding (CaseFolding.txt, statuses C+F) approximated with the runtime's full case
  // mappings (SpecialCasing.txt): upper then lower folds ß/ẞ to "ss" and final sigma to σ, which
  // `toLowerCase` alone does not.
  const folded = text.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFKC');
  return trimInvisible(stripIgnorables(folded).replace(WHITE_SPACE_RUN, ' '));
}

/**
 * What a name *is*, for uniqueness and look-up: NFKC (compatibility forms such as full-width
 * letters and ligatures become their plain letters), case-folded, default-ignorable characters
 * removed, white space collapsed to one space and what does not render trimmed, in the spirit of Unicode's
 * NFKC_Casefold (UAX #44, DerivedNormalizationProps.txt). Two names with one identity read the
 * same to people: `Weekend Hiking`, `weekend  hiking`, `ＷＥＥＫＥＮＤ HIKING`. Idempotent. Room
 * names and usernames both go through it; confusable letters of different scripts (UTS #39
 * skeletons) are not merged.
 */
export function nameIdentity(name: string): string {
  let current = toWellFormedText(name);
  for (let i = 0; i < 4; i++) {
    const next = foldOnce(current);
    if (next === current) return next;
    current = next;
  }
  return current;
}
