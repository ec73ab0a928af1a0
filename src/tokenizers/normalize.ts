/**
 * BERT normalisation and pre-tokenisation as Hugging Face's fast tokenizer (BertNormalizer +
 * BertPreTokenizer) does it, keeping for every piece its [start, end) offsets in the original
 * string (UTF-16 code units).
 */

/** Options of the BERT normaliser (tokenizer_config.json / tokenizer.json names in comments). */
export interface NormalizerOptions {
  /** `do_lower_case` / `lowercase`. */
  readonly lowercase: boolean;
  /** `strip_accents`; `undefined` follows `lowercase`. */
  readonly stripAccents?: boolean;
  /** `tokenize_chinese_chars` / `handle_chinese_chars`. */
  readonly chineseChars: boolean;
  /** `clean_text`. */
  readonly cleanText: boolean;
}

/** A piece of text with its offsets in the original string. */
export interface Piece {
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

const isWhitespace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || /^\p{Zs}$/u.test(c);

function isControl(c: string): boolean {
  if (c === '\t' || c === '\n' || c === '\r') return false;
  return /^\p{C}$/u.test(c);
}

/** Hugging Face's punctuation test: ASCII symbol ranges plus Unicode category P. */
export function isPunctuation(c: string): boolean {
  const cp = c.codePointAt(0)!;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
  return /^\p{P}$/u.test(c);
}

/** The CJK Unified Ideographs blocks BERT splits one character per token. */
export function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

interface Char {
  readonly c: string;
  readonly start: number;
  readonly end: number;
}

/** Lowercases and/or strips accents of one original character, keeping its offsets on every output char. */
function transform(ch: Char, lowercase: boolean, strip: boolean): Char[] {
  let s = ch.c;
  if (strip) s = s.normalize('NFD').replace(/\p{Mn}/gu, '');
  if (lowercase) s = s.toLowerCase();
  return [...s].map((c) => ({ c, start: ch.start, end: ch.end }));
}

/**
 * Normalises `text` and splits it into words and punctuation (CJK characters alone), as BERT's
 * basic tokenisation does, with offsets into `text`.
 */
export function preTokenize(text: string, opts: NormalizerOptions): Piece[] {
  const strip = opts.stripAccents ?? opts.lowercase;
  const chars: Char[] = [];
  let i = 0;
  for (const c of text) {
    const start = i;
    i += c.length;
    const cp = c.codePointAt(0)!;
    if (opts.cleanText) {
      if (cp === 0 || cp === 0xfffd || isControl(c)) continue;
      if (isWhitespace(c)) {
        chars.push({ c: ' ', start, end: i });
        continue;
      }
    }
    const ch = { c, start, end: i };
    if (opts.chineseChars && isChineseChar(cp)) {
      chars.push({ c: ' ', start, end: start }, ch, { c: ' ', start: i, end: i });
      continue;
    }
    chars.push(...(opts.lowercase || strip ? transform(ch, opts.lowercase, strip) : [ch]));
  }
  const pieces: Piece[] = [];
  let word: Char[] = [];
  const flush = () => {
    if (word.length) pieces.push({ text: word.map((w) => w.c).join(''), start: word[0]!.start, end: word.at(-1)!.end });
    word = [];
  };
  for (const ch of chars) {
    if (isWhitespace(ch.c)) flush();
    else if (isPunctuation(ch.c)) {
      flush();
      pieces.push({ text: ch.c, start: ch.start, end: ch.end });
    } else word.push(ch);
  }
  flush();
  return pieces;
}
