/** BERT WordPiece tokenization with Hugging Face fast-tokenizer semantics. */
export { BertTokenizer } from './bert-tokenizer.js';
export { HfTokenizer, loadHfTokenizer } from './hf/index.js';
export type { Tokenizer, TokenizerSettings } from './types.js';
export type { BertTokenizerOptions, Side, TokenizerState } from './options.js';
export { DEFAULT_OPTIONS } from './options.js';
export type { DecodeOptions, EncodeOptions, Encoding } from './encoding.js';
export { TokenizerError, TokenizerFileError, TruncationError } from './errors.js';
export type { AddedToken, AddedTokenMatch, AddedTokenSpec } from './added-tokens.js';
export { AddedTokenMatcher } from './added-tokens.js';
export { BertNormalizer, type NormalizedText, type NormalizerOptions } from './normalizer.js';
export { bertPreTokenize } from './pre-tokenizer.js';
export { WordPiece, type WordPieceOptions, type WordPieces } from './wordpiece.js';
export { type TruncationStrategy, truncatedLengths } from './truncation.js';
export { type PostProcessorTemplate, type TemplatePiece, type TemplateSpecialToken, bertTemplate, addedTokenCount } from './post-processor.js';
export { cleanUpTokenization, wordPieceDecode } from './decoder.js';
export { formatVocabTxt, parseVocabTxt } from './vocab-file.js';
export { TOKENIZER_FILES, type TokenizerFiles, type TokenizerSpec, loadTokenizerDirectory, specFromFiles, tokenizerFileContents } from './io.js';
export { isChineseChar, isPunctuation, isWhitespace } from './unicode.js';
