/**
 * The WordPiece model: greedy longest-match-first segmentation of one word into vocabulary pieces,
 * continuation pieces carrying a prefix (`##`), and the unknown token for words that are too long
 * or contain an unmatched piece, as Hugging Face's WordPiece does.
 */
import { TokenizerError } from './errors.js';

/** Settings of the WordPiece model (tokenizer.json `model` fields in the comments). */
export interface WordPieceOptions {
  /** `unk_token`. */
  readonly unkToken: string;
  /** `continuing_subword_prefix`. */
  readonly continuingSubwordPrefix: string;
  /** `max_input_chars_per_word`: longer words (in code points) become the unknown token. */
  readonly maxInputCharsPerWord: number;
}

/** The pieces of one word; `starts`/`ends` are UTF-16 ranges inside the word. */
export interface WordPieces {
  readonly ids: readonly number[];
  readonly tokens: readonly string[];
  readonly starts: readonly number[];
  readonly ends: readonly number[];
}

const CACHE_LIMIT = 20000;

/** A WordPiece segmenter over a token → id map. */
export class WordPiece {
  readonly options: WordPieceOptions;
  readonly unkId: number;
  private readonly vocab: ReadonlyMap<string, number>;
  private readonly maxPieceUnits: number;
  private readonly cache = new Map<string, WordPieces>();

  constructor(vocab: ReadonlyMap<string, number>, options: WordPieceOptions) {
    const unkId = vocab.get(options.unkToken);
    if (unkId === undefined) throw new TokenizerError(`the vocabulary has no unknown token ${JSON.stringify(options.unkToken)}`);
    this.vocab = vocab;
    this.options = options;
    this.unkId = unkId;
    let max = 0;
    for (const k of vocab.keys()) if (k.length > max) max = k.length;
    this.maxPieceUnits = max;
  }

  private unknown(word: string): WordPieces {
    return { ids: [this.unkId], tokens: [this.options.unkToken], starts: [0], ends: [word.length] };
  }

  private tooLong(word: string): boolean {
    const max = this.options.maxInputCharsPerWord;
    if (word.length <= max) return false;
    let n = 0;
    for (let i = 0; i < word.length; i++) {
      const c = word.charCodeAt(i);
      if (c >= 0xdc00 && c <= 0xdfff && i > 0) {
        const p = word.charCodeAt(i - 1);
        if (p >= 0xd800 && p <= 0xdbff) continue;
      }
      if (++n > max) return true;
    }
    return false;
  }

  /** Segments one (normalised, pre-tokenised) word. */
  tokenize(word: string): WordPieces {
    const cached = this.cache.get(word);
    if (cached) return cached;
    const result = this.segment(word);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(word, result);
    return result;
  }

  private segment(word: string): WordPieces {
    if (this.tooLong(word)) return this.unknown(word);
    const prefix = this.options.continuingSubwordPrefix;
    const ids: number[] = [];
    const tokens: string[] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    const n = word.length;
    let start = 0;
    while (start < n) {
      let end = Math.min(n, start + this.maxPieceUnits);
      if (end < n && isLowSurrogate(word.charCodeAt(end)) && isHighSurrogate(word.charCodeAt(end - 1))) end--;
      let found = -1;
      let piece = '';
      while (end > start) {
        piece = start > 0 ? prefix + word.slice(start, end) : word.slice(start, end);
        const id = this.vocab.get(piece);
        if (id !== undefined) {
          found = id;
          break;
        }
        end -= end - start >= 2 && isLowSurrogate(word.charCodeAt(end - 1)) && isHighSurrogate(word.charCodeAt(end - 2)) ? 2 : 1;
      }
      if (found < 0) return this.unknown(word);
      ids.push(found);
      tokens.push(piece);
      starts.push(start);
      ends.push(end);
      start = end;
    }
    return { ids, tokens, starts, ends };
  }
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}
