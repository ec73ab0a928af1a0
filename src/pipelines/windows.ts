/** Strided windows over a text too long for the model (Hugging Face's overflowing tokens with `stride`). */
import type { Encoding } from '../tokenizers/encoding.js';
import type { Tokenizer } from '../tokenizers/types.js';

/**
 * Token ranges [start, end) of the windows over `tokenCount` tokens: `size` tokens each, every
 * window starting `size - stride` tokens after the previous one, the last one ending at the end.
 */
export function windowRanges(tokenCount: number, size: number, stride: number): [number, number][] {
  const step = size - stride;
  const ranges: [number, number][] = [];
  for (let start = 0; ; start += step) {
    const end = Math.min(start + size, tokenCount);
    ranges.push([start, end]);
    if (end >= tokenCount) return ranges;
  }
}

/** Tokens [start, end) of an encoding without special tokens, wrapped in [CLS] ... [SEP]. */
function windowEncoding(tokenizer: Tokenizer, plain: Encoding, start: number, end: number): Encoding {
  const n = end - start;
  const cls = tokenizer.clsTokenId;
  const sep = tokenizer.sepTokenId;
  const slice = <T>(xs: readonly T[]) => xs.slice(start, end);
  return {
    inputIds: [cls, ...slice(plain.inputIds), sep],
    tokenTypeIds: new Array<number>(n + 2).fill(0),
    attentionMask: new Array<number>(n + 2).fill(1),
    specialTokensMask: [1, ...new Array<number>(n).fill(0), 1],
    tokens: [tokenizer.idToToken(cls) ?? '', ...slice(plain.tokens), tokenizer.idToToken(sep) ?? ''],
    offsets: [[0, 0], ...slice(plain.offsets), [0, 0]],
    wordIds: [null, ...slice(plain.wordIds), null],
    sequenceIds: [null, ...slice(plain.sequenceIds), null],
  };
}

/**
 * Encodes `text` as one sequence when it fits `maxLength` tokens (special tokens included), else
 * as windows of `maxLength` tokens overlapping by `stride` tokens.
 */
export function encodeWindows(tokenizer: Tokenizer, text: string, maxLength: number, stride: number): Encoding[] {
  const plain = tokenizer.encode(text, undefined, { addSpecialTokens: false, truncation: false });
  const size = maxLength - 2;
  return windowRanges(plain.inputIds.length, size, stride).map(([s, e]) => windowEncoding(tokenizer, plain, s, e));
}
