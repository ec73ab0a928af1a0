/** The result of encoding a text or a text pair, and the options that shape it. */
import type { Side } from './options.js';
import type { TruncationStrategy } from './truncation.js';

/** One encoded text or text pair; all arrays have one entry per token. */
export interface Encoding {
  /** Token ids (`input_ids`). */
  readonly inputIds: number[];
  /** Segment ids (`token_type_ids`): 0 for the first text and its special tokens, 1 for the second. */
  readonly tokenTypeIds: number[];
  /** 1 for real tokens, 0 for padding (`attention_mask`). */
  readonly attentionMask: number[];
  /** 1 for tokens added by post-processing ([CLS], [SEP]) and padding, else 0 (`special_tokens_mask`). */
  readonly specialTokensMask: number[];
  /** Token strings. */
  readonly tokens: string[];
  /**
   * [start, end) of every token in its original string (`offset_mapping`), in UTF-16 code units as
   * JavaScript strings index them; [0, 0] for special tokens and padding.
   */
  readonly offsets: [number, number][];
  /** Index of the word (pre-tokenised piece) a token comes from, counted per text; null for special tokens and padding. */
  readonly wordIds: (number | null)[];
  /** 0 for tokens of the first text, 1 for the second, null for special tokens and padding. */
  readonly sequenceIds: (number | null)[];
}

/** Options of `encode` and `encodeBatch`. */
export interface EncodeOptions {
  /** Add [CLS] ... [SEP] (default true). */
  readonly addSpecialTokens?: boolean;
  /**
   * Length limit, special tokens included. When given, inputs are truncated to it unless
   * `truncation` is false; `padding: 'max_length'` pads to it.
   */
  readonly maxLength?: number;
  /**
   * How to truncate: a strategy, `true` (= `'longest_first'`), or `false` (never). Unset: truncate
   * with `'longest_first'` when `maxLength` is given. Without `maxLength`, truncation uses the
   * tokenizer's `modelMaxLength`.
   */
  readonly truncation?: TruncationStrategy | boolean;
  /** Which end loses tokens (default: the tokenizer's `truncationSide`, normally right). */
  readonly truncationSide?: Side;
  /**
   * `'longest'` (or `true`): pad to the longest encoding of the batch; `'max_length'`: pad to
   * `maxLength` (or `modelMaxLength`); `false`: no padding. Default: false for `encode`,
   * `'longest'` for `encodeBatch`.
   */
  readonly padding?: 'longest' | 'max_length' | boolean;
  /** Which end padding goes to (default: the tokenizer's `paddingSide`, normally right). */
  readonly paddingSide?: Side;
  /** Round the padded length up to a multiple of this. */
  readonly padToMultipleOf?: number;
}

/** Options of `decode`. */
export interface DecodeOptions {
  /** Leave out special tokens ([CLS], [SEP], [PAD], [MASK], [UNK], and other special added tokens). */
  readonly skipSpecialTokens?: boolean;
  /** Remove spaces before punctuation and in contractions (default: the tokenizer's `cleanUpTokenizationSpaces`). */
  readonly cleanUpTokenizationSpaces?: boolean;
}

/** `e` padded to `length` tokens on `side` with `padId`/`padToken`; returned as is when already that long. */
export function padEncoding(e: Encoding, length: number, side: Side, padId: number, padToken: string): Encoding {
  const n = length - e.inputIds.length;
  if (n <= 0) return e;
  const fill = <T>(xs: T[], v: T): T[] => {
    const out: T[] = new Array<T>(length);
    const at = side === 'right' ? 0 : n;
    const padAt = side === 'right' ? xs.length : 0;
    for (let i = 0; i < xs.length; i++) out[at + i] = xs[i]!;
    for (let i = 0; i < n; i++) out[padAt + i] = v;
    return out;
  };
  const offsets = fill<[number, number] | null>(e.offsets, null);
  for (let i = 0; i < offsets.length; i++) if (offsets[i] === null) offsets[i] = [0, 0];
  return {
    inputIds: fill(e.inputIds, padId),
    tokenTypeIds: fill(e.tokenTypeIds, 0),
    attentionMask: fill(e.attentionMask, 0),
    specialTokensMask: fill(e.specialTokensMask, 1),
    tokens: fill(e.tokens, padToken),
    offsets: offsets as [number, number][],
    wordIds: fill<number | null>(e.wordIds, null),
    sequenceIds: fill<number | null>(e.sequenceIds, null),
  };
}
