/**
 * BERT pre-tokenisation (tokenizer.json `BertPreTokenizer`): split on whitespace (removed) and on
 * punctuation (each punctuation character becomes a word of its own).
 */
import { PUNCTUATION, WHITESPACE, charFlags } from './unicode.js';

/**
 * Splits `text.slice(from, to)` into words, appending each word's [start, end) (UTF-16 units of
 * `text`) to `out` as two numbers. Returns `out`.
 */
export function bertPreTokenize(text: string, from: number, to: number, out: number[] = []): number[] {
  let wordStart = -1;
  let i = from;
  while (i < to) {
    const s = i;
    let cp = text.charCodeAt(i++);
    if (cp >= 0xd800 && cp <= 0xdbff && i < to) {
      const lo = text.charCodeAt(i);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      }
    }
    const flags = charFlags(cp);
    if (flags & WHITESPACE) {
      if (wordStart >= 0) out.push(wordStart, s);
      wordStart = -1;
    } else if (flags & PUNCTUATION) {
      if (wordStart >= 0) out.push(wordStart, s);
      wordStart = -1;
      out.push(s, i);
    } else if (wordStart < 0) {
      wordStart = s;
    }
  }
  if (wordStart >= 0) out.push(wordStart, to);
  return out;
}
