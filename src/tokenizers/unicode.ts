/**
 * Character classes used by BERT normalisation and pre-tokenisation, with the definitions of
 * Hugging Face's Rust `tokenizers` (BertNormalizer, BertPreTokenizer, AddedVocabulary).
 * Everything works on code points; results for non-ASCII code points are cached.
 */

/** Removed by `clean_text`: Unicode categories Cc, Cf and Co (tab, newline and CR excepted), and lone surrogates. */
export const CONTROL = 1;
/** Unicode White_Space (Rust `char::is_whitespace`): split points, and mapped to ' ' by `clean_text`. */
export const WHITESPACE = 2;
/** BERT punctuation: ASCII 33–47, 58–64, 91–96, 123–126, and Unicode category P. */
export const PUNCTUATION = 4;
/** CJK ideographs that `handle_chinese_chars` isolates (see {@link isChineseChar}). */
export const CHINESE = 8;
/** Unicode category Mn, removed by accent stripping. */
export const NONSPACING_MARK = 16;
/** A regex word character (alphabetic, mark, decimal digit, connector punctuation, join control). */
export const WORD = 32;

const CONTROL_RE = /^[\p{Cc}\p{Cf}\p{Co}\p{Cs}]$/u;
const PUNCT_RE = /^\p{P}$/u;
const MN_RE = /^\p{Mn}$/u;
const WORD_RE = /^[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]$/u;

/**
 * The CJK ranges of Hugging Face's fast tokenizer (`is_chinese_char` in tokenizers'
 * BertNormalizer). They equal those of the Python `_is_chinese_char` except that the Rust list
 * starts its CJK Extension E range at U+2B920 rather than U+2B820.
 */
export function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/** Unicode White_Space, as Rust's `char::is_whitespace`. */
export function isWhitespace(cp: number): boolean {
  if (cp < 0x80) return cp === 0x20 || (cp >= 9 && cp <= 13);
  return cp === 0x85 || cp === 0xa0 || cp === 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp === 0x2028 || cp === 0x2029 || cp === 0x202f || cp === 0x205f || cp === 0x3000;
}

function computeFlags(cp: number): number {
  const c = String.fromCodePoint(cp);
  let f = 0;
  if (cp !== 9 && cp !== 10 && cp !== 13 && CONTROL_RE.test(c)) f |= CONTROL;
  if (isWhitespace(cp)) f |= WHITESPACE;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126) || PUNCT_RE.test(c)) f |= PUNCTUATION;
  if (isChineseChar(cp)) f |= CHINESE;
  if (MN_RE.test(c)) f |= NONSPACING_MARK;
  if (WORD_RE.test(c)) f |= WORD;
  return f;
}

const ASCII = new Uint8Array(128);
for (let cp = 0; cp < 128; cp++) ASCII[cp] = computeFlags(cp);
const cache = new Map<number, number>();

/** The class bits ({@link CONTROL}, {@link WHITESPACE}, ...) of a code point. */
export function charFlags(cp: number): number {
  if (cp < 128) return ASCII[cp]!;
  let f = cache.get(cp);
  if (f === undefined) {
    f = computeFlags(cp);
    cache.set(cp, f);
  }
  return f;
}

/** BERT's punctuation test (`_is_punctuation` / `is_bert_punc`) for one character. */
export function isPunctuation(c: string): boolean {
  return (charFlags(c.codePointAt(0)!) & PUNCTUATION) !== 0;
}

/** Whether `clean_text` removes this code point (NUL, U+FFFD, and the {@link CONTROL} class). */
export function isRemovedByCleanText(cp: number): boolean {
  return cp === 0 || cp === 0xfffd || (charFlags(cp) & CONTROL) !== 0;
}
