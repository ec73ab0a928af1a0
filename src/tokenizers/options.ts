/** Settings of a BERT WordPiece tokenizer and their defaults (those of Hugging Face's BertTokenizerFast). */
import type { AddedToken, AddedTokenSpec } from './added-tokens.js';
import type { NormalizerOptions } from './normalizer.js';
import type { PostProcessorTemplate } from './post-processor.js';
import type { WordPieceOptions } from './wordpiece.js';

/** Which end padding or truncation applies to. */
export type Side = 'right' | 'left';

/**
 * Everything that defines a BERT tokenizer besides its vocabulary. Names of the matching
 * tokenizer_config.json / tokenizer.json fields are given in the comments.
 */
export interface BertTokenizerOptions extends NormalizerOptions, WordPieceOptions {
  /** `cls_token`. */
  readonly clsToken: string;
  /** `sep_token`. */
  readonly sepToken: string;
  /** `pad_token`: its id pads batches. */
  readonly padToken: string;
  /** `mask_token`. */
  readonly maskToken: string;
  /** `additional_special_tokens`: more special tokens, kept whole and skipped by `decode(..., { skipSpecialTokens })`. */
  readonly additionalSpecialTokens?: readonly string[] | undefined;
  /** `never_split`: vocabulary entries kept whole when they occur in raw text (non-special added tokens). */
  readonly neverSplit?: readonly string[] | undefined;
  /** `added_tokens` / `added_tokens_decoder` / added_tokens.json: tokens found before WordPiece. */
  readonly addedTokens?: readonly AddedTokenSpec[] | undefined;
  /** `model_max_length`: the longest input the model takes, when known. */
  readonly modelMaxLength?: number | undefined;
  /** `post_processor`: where special tokens go; by default BERT's `[CLS] A [SEP] (B [SEP])`. */
  readonly postProcessor?: PostProcessorTemplate | undefined;
  /** tokenizer.json `decoder.cleanup`: the WordPiece decoder's per-token clean-up. */
  readonly decoderCleanup: boolean;
  /** `clean_up_tokenization_spaces`: remove spaces before punctuation when decoding. */
  readonly cleanUpTokenizationSpaces: boolean;
  /** `padding_side`: default side for padding. */
  readonly paddingSide: Side;
  /** `truncation_side`: default side for truncation. */
  readonly truncationSide: Side;
}

/** Defaults: BERT uncased conventions. */
export const DEFAULT_OPTIONS: BertTokenizerOptions = {
  lowercase: true,
  stripAccents: undefined,
  chineseChars: true,
  cleanText: true,
  unkToken: '[UNK]',
  clsToken: '[CLS]',
  sepToken: '[SEP]',
  padToken: '[PAD]',
  maskToken: '[MASK]',
  continuingSubwordPrefix: '##',
  maxInputCharsPerWord: 100,
  decoderCleanup: true,
  cleanUpTokenizationSpaces: true,
  paddingSide: 'right',
  truncationSide: 'right',
};

/** `options` over the defaults, ignoring keys whose value is `undefined`. */
export function resolveOptions(options: Partial<BertTokenizerOptions>): BertTokenizerOptions {
  const out: Record<string, unknown> = { ...DEFAULT_OPTIONS };
  for (const [k, v] of Object.entries(options)) if (v !== undefined) out[k] = v;
  return out as unknown as BertTokenizerOptions;
}

/** Everything the tokenizer files are written from (see `BertTokenizer.state`). */
export interface TokenizerState {
  /** Model vocabulary by id (holes where ids are unused). */
  readonly vocab: readonly (string | undefined)[];
  readonly options: BertTokenizerOptions;
  /** Added tokens (special tokens included), by ascending id. */
  readonly addedTokens: readonly AddedToken[];
  readonly template: PostProcessorTemplate;
}
