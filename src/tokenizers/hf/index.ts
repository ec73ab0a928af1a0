/** Hugging Face tokenizer.json tokenizers (BPE, Unigram, WordPiece, WordLevel) and SentencePiece models. */
export { HfTokenizer, type HfTokenizerOptions, type TokenizerConfig, type SentencePieceFamily, type SentencePieceOptions } from './tokenizer.js';
export { parseSentencePieceModel, sentencePieceToTokenizerJson, generateMerges, type SentencePieceModel } from './sentencepiece.js';
export { NormalizedString } from './normalized.js';
export { PrecompiledCharsMap } from './precompiled.js';
export { NORMALIZER_TYPES } from './normalizers.js';
export { PRE_TOKENIZER_TYPES } from './pre-tokenizers.js';
export { POST_PROCESSOR_TYPES } from './post-processors.js';
export { DECODER_TYPES } from './decoders.js';
export { MODEL_TYPES } from './models/parse.js';
export { loadHfTokenizer, SENTENCEPIECE_FILES } from './load.js';
