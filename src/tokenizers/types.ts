/**
 * The tokenizer surface models, pipelines and the Trainer rely on. Both tokenizers have it:
 * {@link BertTokenizer} (WordPiece from vocab.txt or a WordPiece tokenizer.json) and `HfTokenizer`
 * (any Hugging Face tokenizer.json or SentencePiece model: byte-level BPE, Unigram, ...).
 */
import type { BertTokenizer } from './bert-tokenizer.js';
import type { Side } from './options.js';

/** The settings a tokenizer exposes to its users. */
export interface TokenizerSettings {
  /** The mask token, when the tokenizer has one. */
  readonly maskToken: string | undefined;
  /** The prefix of word-continuation pieces (`##` for WordPiece, empty for BPE and Unigram). */
  readonly continuingSubwordPrefix: string;
  /** Whether decoding joins pieces as WordPiece's decoder with cleanup does. */
  readonly decoderCleanup: boolean;
  readonly cleanUpTokenizationSpaces: boolean;
  readonly paddingSide: Side;
  readonly truncationSide: Side;
}

/** A tokenizer as the rest of tuna uses it. */
export type Tokenizer = Pick<
  BertTokenizer,
  | 'encode'
  | 'encodeWords'
  | 'encodeBatch'
  | 'decode'
  | 'decodeBatch'
  | 'tokenize'
  | 'tokenToId'
  | 'idToToken'
  | 'getVocab'
  | 'vocabSize'
  | 'modelMaxLength'
  | 'addedTokens'
  | 'specialTokenIds'
  | 'clsTokenId'
  | 'sepTokenId'
  | 'padTokenId'
  | 'unkTokenId'
  | 'maskTokenId'
  | 'save'
> & {
  readonly options: TokenizerSettings;
  /** Joins tokens into text as the tokenizer's decoder does (BPE's byte level, Metaspace's `▁`). */
  convertTokensToString?(tokens: readonly string[]): string;
};
