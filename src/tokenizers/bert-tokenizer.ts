/**
 * The BERT WordPiece tokenizer, behaving like Hugging Face's BertTokenizerFast (the tokenizer a
 * tokenizer.json with BertNormalizer + BertPreTokenizer + WordPiece describes).
 */
import { type AddedToken, AddedTokenMatcher, type AddedTokenSpec } from './added-tokens.js';
import { cleanUpTokenization, wordPieceDecode } from './decoder.js';
import { type DecodeOptions, type EncodeOptions, type Encoding, padEncoding } from './encoding.js';
import { TokenizerError, TokenizerFileError, TruncationError } from './errors.js';
import { loadTokenizerDirectory, saveTokenizerDirectory, specFromFiles, type TokenizerFiles, type TokenizerSpec } from './io.js';
import { BertNormalizer } from './normalizer.js';
import { type BertTokenizerOptions, type Side, type TokenizerState, resolveOptions } from './options.js';
import { type PostProcessorTemplate, addedTokenCount, bertTemplate } from './post-processor.js';
import { bertPreTokenize } from './pre-tokenizer.js';
import { type TruncationStrategy, truncatedLengths } from './truncation.js';
import { buildSpecialTokensMap, buildTokenizerConfig } from './config-files.js';
import { buildTokenizerJson, parseTokenizerJson } from './tokenizer-json.js';
import { CHINESE, PUNCTUATION, WHITESPACE, WORD, charFlags } from './unicode.js';
import { WordPiece } from './wordpiece.js';

export { TokenizerError, TokenizerFileError, TruncationError } from './errors.js';
export type { BertTokenizerOptions, Side, TokenizerState } from './options.js';
export type { DecodeOptions, EncodeOptions, Encoding } from './encoding.js';
export type { TruncationStrategy } from './truncation.js';
export type { AddedToken, AddedTokenSpec } from './added-tokens.js';
export type { PostProcessorTemplate, TemplatePiece, TemplateSpecialToken } from './post-processor.js';

/** The tokens of one text before post-processing, with offsets and word indices. */
interface Sequence {
  ids: number[];
  tokens: string[];
  starts: number[];
  ends: number[];
  words: number[];
  /** False when tokenization stopped early, once enough tokens were made (see `encodeSequence`). */
  complete: boolean;
}

const emptySequence = (): Sequence => ({ ids: [], tokens: [], starts: [], ends: [], words: [], complete: true });

/** The fewest characters a text is tokenized in at a time when only its first tokens are kept. */
const MIN_WINDOW_CHARS = 1024;
/** Windows hold about this many characters per token kept (prose has 4 to 6 per token). */
const WINDOW_CHARS_PER_TOKEN = 16;
/** A run without a safe cut longer than this is read as one long word when it can only be one. */
const LONG_RUN_CHARS = 1 << 16;

/**
 * BERT's WordPiece tokenizer: cleaning, CJK characters split one per token, optional
 * lower-casing with accent stripping, whitespace and punctuation splitting, added/special tokens
 * kept whole, greedy longest-match-first WordPiece with `##` continuations, then
 * `[CLS] A [SEP] (B [SEP])`, truncation and padding, all with Hugging Face's fast-tokenizer
 * semantics. Offsets index the original strings in UTF-16 code units.
 *
 * @example
 * const tok = await BertTokenizer.fromDirectory('checkpoints/bert-base-uncased');
 * const enc = tok.encode('Hello, world!', undefined, { maxLength: 128 });
 * enc.inputIds; // [101, 7592, 1010, 2088, 999, 102]
 */
export class BertTokenizer {
  /** The resolved settings. */
  readonly options: BertTokenizerOptions;
  private readonly modelVocab: Map<string, number>;
  private readonly vocabById: (string | undefined)[];
  private readonly added: AddedToken[];
  private readonly addedByContent = new Map<string, AddedToken>();
  private readonly addedById = new Map<number, AddedToken>();
  private readonly rawMatcher: AddedTokenMatcher;
  private readonly normalizedMatcher: AddedTokenMatcher;
  private readonly normalizer: BertNormalizer;
  private readonly wordPiece: WordPiece;
  private readonly template: PostProcessorTemplate;
  private readonly specialIds: Set<number>;
  /** Code points of the added tokens' contents, raw and normalised: a text is never cut at one. */
  private readonly patternChars = new Set<number>();
  /** Whether a long text may be tokenized window by window (no added token strips whitespace). */
  private readonly windowed: boolean;
  /** Whether an added token matches only as a single word (then CJK characters are no safe cut). */
  private readonly singleWordTokens: boolean;
  private readonly cutChars = new Map<number, boolean>();
  private readonly runChars = new Map<number, number>();

  /**
   * @param vocab The model vocabulary: tokens in id order (as in vocab.txt; for a repeated token
   *   the last line wins, as in Hugging Face), or a token → id map (as in tokenizer.json).
   * @param options Settings over the defaults (uncased BERT).
   * @throws TokenizerError when the vocabulary lacks the unknown, [CLS], [SEP] or [PAD] token.
   */
  constructor(vocab: readonly string[] | ReadonlyMap<string, number>, options: Partial<BertTokenizerOptions> = {}) {
    this.options = resolveOptions(options);
    const o = this.options;
    if (!Number.isInteger(o.maxInputCharsPerWord) || o.maxInputCharsPerWord < 0) {
      throw new TokenizerError(`maxInputCharsPerWord must be a non-negative integer, got ${o.maxInputCharsPerWord}`, { code: 'invalid_option', field: 'maxInputCharsPerWord' });
    }
    if (Array.isArray(vocab)) {
      const list = vocab as readonly string[];
      this.vocabById = [...list];
      this.modelVocab = new Map();
      list.forEach((t, i) => this.modelVocab.set(t, i));
    } else {
      this.modelVocab = new Map(vocab as ReadonlyMap<string, number>);
      this.vocabById = [];
      for (const [t, id] of this.modelVocab) {
        if (!Number.isInteger(id) || id < 0) throw new TokenizerError(`vocabulary id of ${JSON.stringify(t)} must be a non-negative integer, got ${id}`);
        this.vocabById[id] = t;
      }
    }
    if (!this.modelVocab.has(o.unkToken)) {
      throw new TokenizerError(`the vocabulary has no unknown token ${o.unkToken}; add a line "${o.unkToken}" to the vocabulary or set unk_token to a token it has`);
    }
    this.normalizer = new BertNormalizer(o);
    this.wordPiece = new WordPiece(this.modelVocab, o);
    this.added = this.resolveAddedTokens();
    for (const t of this.added) {
      this.addedByContent.set(t.content, t);
      this.addedById.set(t.id, t);
    }
    this.template = o.postProcessor ?? bertTemplate(o.clsToken, this.tokenToId(o.clsToken)!, o.sepToken, this.tokenToId(o.sepToken)!);
    this.specialIds = new Set(this.added.filter((t) => t.special).map((t) => t.id));
    const raw = this.added.filter((t) => !t.normalized).map((token) => ({ pattern: token.content, token }));
    const normalized = this.added.filter((t) => t.normalized).map((token) => ({ pattern: this.normalizer.normalizeString(token.content), token }));
    this.rawMatcher = new AddedTokenMatcher(raw);
    this.normalizedMatcher = new AddedTokenMatcher(normalized);
    for (const { pattern } of [...raw, ...normalized]) for (const c of pattern) this.patternChars.add(c.codePointAt(0)!);
    this.windowed = !this.added.some((t) => t.lstrip || t.rstrip);
    this.singleWordTokens = this.added.some((t) => t.singleWord);
  }

  private resolveAddedTokens(): AddedToken[] {
    const o = this.options;
    const specs: AddedTokenSpec[] = [...(o.addedTokens ?? [])];
    const has = (content: string) => specs.some((s) => s.content === content);
    for (const name of ['clsToken', 'sepToken', 'padToken'] as const) {
      const content = o[name];
      if (!this.modelVocab.has(content) && !specs.some((s) => s.content === content && s.id !== undefined)) {
        throw new TokenizerError(`the vocabulary has no ${content} token; add it to the vocabulary or set ${snake(name)} to a token it has`);
      }
    }
    for (const content of [o.unkToken, o.sepToken, o.padToken, o.clsToken, o.maskToken, ...(o.additionalSpecialTokens ?? [])]) {
      if (content && !has(content)) specs.push({ content, special: true });
    }
    for (const content of o.neverSplit ?? []) {
      if (content && !has(content) && this.modelVocab.has(content)) specs.push({ content, special: false, normalized: false });
    }
    let next = this.vocabById.length;
    for (const s of specs) if (s.id !== undefined && s.id >= next) next = s.id + 1;
    const out: AddedToken[] = [];
    const seen = new Set<string>();
    for (const s of specs) {
      if (s.content.length === 0 || seen.has(s.content)) continue;
      seen.add(s.content);
      if (s.id !== undefined && (!Number.isInteger(s.id) || s.id < 0)) throw new TokenizerError(`added token ${JSON.stringify(s.content)} has an invalid id ${s.id}`);
      const special = s.special ?? false;
      out.push({
        id: s.id ?? this.modelVocab.get(s.content) ?? next++,
        content: s.content,
        special,
        normalized: s.normalized ?? !special,
        lstrip: s.lstrip ?? false,
        rstrip: s.rstrip ?? false,
        singleWord: s.singleWord ?? false,
      });
    }
    return out.sort((a, b) => a.id - b.id);
  }

  /** Loads a tokenizer from a directory: tokenizer.json when present, else vocab.txt, with tokenizer_config.json, special_tokens_map.json and added_tokens.json. */
  static async fromDirectory(dir: string): Promise<BertTokenizer> {
    return BertTokenizer.fromSpec(await loadTokenizerDirectory(dir));
  }

  /**
   * Builds a tokenizer from the contents of tokenizer files (`'tokenizer.json'`, `'vocab.txt'`,
   * `'tokenizer_config.json'`, `'special_tokens_map.json'`, `'added_tokens.json'`: text or bytes).
   * `source` names where they came from in error messages.
   */
  static fromFiles(files: TokenizerFiles, source = '.'): BertTokenizer {
    return BertTokenizer.fromSpec(specFromFiles(files, source));
  }

  /** Builds a tokenizer from a parsed tokenizer.json (Hugging Face tokenizers format, WordPiece model). */
  static fromTokenizerJson(json: unknown, options: Partial<BertTokenizerOptions> = {}): BertTokenizer {
    const spec = parseTokenizerJson(json, 'tokenizer.json');
    return new BertTokenizer(spec.vocab, { ...spec.options, ...options });
  }

  private static fromSpec(spec: TokenizerSpec): BertTokenizer {
    try {
      return new BertTokenizer(spec.vocab, spec.options);
    } catch (e) {
      if (e instanceof TokenizerError && !(e instanceof TokenizerFileError)) throw new TokenizerFileError(spec.file, e.message, { cause: e });
      throw e;
    }
  }

  /** Number of ids (model vocabulary and added tokens): the rows an embedding matrix needs. */
  get vocabSize(): number {
    let n = this.vocabById.length;
    for (const t of this.added) if (t.id >= n) n = t.id + 1;
    return n;
  }

  /** `model_max_length` from tokenizer_config.json, when known. */
  get modelMaxLength(): number | undefined {
    return this.options.modelMaxLength;
  }

  /** Sets `model_max_length` (written to tokenizer_config.json by `save`): the default truncation length. */
  set modelMaxLength(n: number | undefined) {
    if (n !== undefined && !(Number.isInteger(n) && n > 0))
      throw new TokenizerError(`modelMaxLength must be a positive integer, got ${n}`, { code: 'invalid_option', field: 'modelMaxLength' });
    (this.options as { modelMaxLength?: number }).modelMaxLength = n;
  }

  /** The added tokens (special tokens included), by ascending id. */
  get addedTokens(): readonly AddedToken[] {
    return this.added;
  }

  /** Ids of all special tokens ([CLS], [SEP], [PAD], [UNK], [MASK], additional special tokens). */
  get specialTokenIds(): number[] {
    return [...this.specialIds].sort((a, b) => a - b);
  }

  /** The id of a token (added tokens first, then the model vocabulary), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token)?.id ?? this.modelVocab.get(token);
  }

  /** The token of an id, or undefined. */
  idToToken(id: number): string | undefined {
    return this.addedById.get(id)?.content ?? this.vocabById[id];
  }

  /** Token → id for the whole vocabulary, added tokens included. */
  getVocab(): Map<string, number> {
    const out = new Map(this.modelVocab);
    for (const t of this.added) out.set(t.content, t.id);
    return out;
  }

  get clsTokenId(): number {
    return this.tokenToId(this.options.clsToken)!;
  }
  get sepTokenId(): number {
    return this.tokenToId(this.options.sepToken)!;
  }
  get padTokenId(): number {
    return this.tokenToId(this.options.padToken)!;
  }
  get unkTokenId(): number {
    return this.wordPiece.unkId;
  }
  /** The [MASK] id; undefined only when the mask token was configured away (empty). */
  get maskTokenId(): number | undefined {
    return this.tokenToId(this.options.maskToken);
  }

  /** The tokens of one text, without special tokens (Hugging Face's `tokenize`). */
  tokenize(text: string): string[] {
    return this.encodeSequence(text).tokens;
  }

  /**
   * Normalisation, added-token extraction, pre-tokenisation and WordPiece for one text. With a
   * `limit`, tokenization stops once at least `limit` tokens are made (`complete` is then false):
   * the text is tokenized in windows cut only where no word, added token or normalisation crosses
   * (before a whitespace, punctuation or, with `chineseChars`, CJK character that no added token
   * contains), so the tokens made are exactly the first tokens of the whole text, and a long text
   * costs memory for its first tokens only.
   */
  private encodeSequence(text: string, limit = Number.POSITIVE_INFINITY): Sequence {
    const seq = emptySequence();
    if (limit === Number.POSITIVE_INFINITY || !this.windowed) {
      this.encodeRange(text, 0, text.length, seq, 0);
      return seq;
    }
    const window = Math.max(MIN_WINDOW_CHARS, Math.min(limit, 1 << 16) * WINDOW_CHARS_PER_TOKEN);
    let from = 0;
    let word = 0;
    while (from < text.length && seq.ids.length < limit) {
      const to = this.nextCut(text, Math.min(text.length, from + window));
      const run = to - from > window + LONG_RUN_CHARS ? this.longRun(text, from, to) : undefined;
      if (run === undefined) word = this.encodeRange(text, from, to, seq, word);
      else {
        word = this.encodeRange(text, from, run.start, seq, word);
        word = this.encodeLongRun(text, run.start, to, seq, word);
      }
      from = to;
    }
    seq.complete = from >= text.length;
    return seq;
  }

  /** The tokens of the whole of `text`, counted window by window without keeping them. */
  private countTokens(text: string): number {
    if (!this.windowed) return this.encodeSequence(text).ids.length;
    let n = 0;
    let from = 0;
    while (from < text.length) {
      const to = this.nextCut(text, Math.min(text.length, from + (1 << 16)));
      const part = emptySequence();
      const run = to - from > (1 << 16) + LONG_RUN_CHARS ? this.longRun(text, from, to) : undefined;
      if (run === undefined) this.encodeRange(text, from, to, part, 0);
      else {
        this.encodeRange(text, from, run.start, part, 0);
        this.encodeLongRun(text, run.start, to, part, 0);
      }
      n += part.ids.length;
      from = to;
    }
    return n;
  }

  /** The first safe cut at or after `at` (see {@link encodeSequence}), or the end of the text. */
  private nextCut(text: string, at: number): number {
    let i = at;
    while (i < text.length) {
      const unit = text.charCodeAt(i);
      if (unit >= 0xdc00 && unit <= 0xdfff) {
        i++;
        continue;
      }
      const cp = text.codePointAt(i)!;
      if (this.isCutChar(cp)) return i;
      i += cp > 0xffff ? 2 : 1;
    }
    return text.length;
  }

  /** Whether the text may be cut just before `cp`: it starts a word of its own, whatever surrounds it. */
  private isCutChar(cp: number): boolean {
    let cut = this.cutChars.get(cp);
    if (cut !== undefined) return cut;
    cut = this.computeCutChar(cp);
    if (this.cutChars.size > 65536) this.cutChars.clear();
    this.cutChars.set(cp, cut);
    return cut;
  }

  private computeCutChar(cp: number): boolean {
    if (this.patternChars.has(cp)) return false;
    const flags = charFlags(cp);
    const normalized = this.normalizer.normalizeString(String.fromCodePoint(cp));
    if (normalized.length === 0) return false;
    for (const c of normalized) if (this.patternChars.has(c.codePointAt(0)!)) return false;
    if (this.normalizer.options.chineseChars && flags & CHINESE) return !this.singleWordTokens;
    if (flags & WORD) return false;
    for (const c of normalized) {
      const f = charFlags(c.codePointAt(0)!);
      if (f & WORD || !(f & (WHITESPACE | PUNCTUATION))) return false;
    }
    return true;
  }

  /**
   * How much of a run of characters with no safe cut ends up in a word: the code points of each
   * character once normalised, or -1 when it may split the run (it normalises to whitespace or
   * punctuation, or belongs to an added token).
   */
  private runCharLength(cp: number): number {
    let n = this.runChars.get(cp);
    if (n !== undefined) return n;
    const normalized = this.normalizer.normalizeString(String.fromCodePoint(cp));
    n = 0;
    for (const c of normalized) {
      const code = c.codePointAt(0)!;
      if (this.patternChars.has(code) || charFlags(code) & (WHITESPACE | PUNCTUATION)) {
        n = -1;
        break;
      }
      n++;
    }
    if (this.patternChars.has(cp) || (this.normalizer.options.chineseChars && charFlags(cp) & CHINESE)) n = -1;
    if (this.runChars.size > 65536) this.runChars.clear();
    this.runChars.set(cp, n);
    return n;
  }

  /**
   * When `text[from, to)` is a safe-cut character (or the text's start) followed by a run that can
   * only be one word (or nothing), where that run starts; undefined otherwise.
   */
  private longRun(text: string, from: number, to: number): { start: number } | undefined {
    let i = from;
    if (i > 0 || this.isCutChar(text.codePointAt(i)!)) i += text.codePointAt(i)! > 0xffff ? 2 : 1;
    const start = i;
    while (i < to) {
      const cp = text.codePointAt(i)!;
      if (this.runCharLength(cp) < 0) return undefined;
      i += cp > 0xffff ? 2 : 1;
    }
    return { start };
  }

  /**
   * Tokens of a run that is one word once normalised (see {@link longRun}): nothing when every
   * character is removed, one unknown token when the word is longer than WordPiece takes, else the
   * word's pieces. Memory does not grow with the run.
   */
  private encodeLongRun(text: string, from: number, to: number, seq: Sequence, word: number): number {
    let length = 0;
    let first = -1;
    let lastEnd = -1;
    for (let i = from; i < to; ) {
      const cp = text.codePointAt(i)!;
      const next = i + (cp > 0xffff ? 2 : 1);
      const n = this.runCharLength(cp);
      if (n > 0) {
        if (first < 0) first = i;
        lastEnd = next;
        length += n;
      }
      i = next;
    }
    if (length === 0) return word;
    if (length <= this.options.maxInputCharsPerWord) return this.encodeRange(text, from, to, seq, word);
    seq.ids.push(this.unkTokenId);
    seq.tokens.push(this.options.unkToken);
    seq.starts.push(first);
    seq.ends.push(lastEnd);
    seq.words.push(word);
    return word + 1;
  }

  /** Appends the tokens of `text[from, to)` to `seq`, numbering words from `firstWord`; returns the next word number. */
  private encodeRange(text: string, from: number, to: number, seq: Sequence, firstWord: number): number {
    let word = firstWord;
    const push = (id: number, token: string, start: number, end: number, w: number) => {
      seq.ids.push(id);
      seq.tokens.push(token);
      seq.starts.push(start);
      seq.ends.push(end);
      seq.words.push(w);
    };
    const words: number[] = [];
    const normalizedPart = (partFrom: number, partTo: number) => {
      if (partFrom >= partTo) return;
      const norm = this.normalizer.normalize(text, partFrom, partTo);
      const ntext = norm.text;
      if (ntext.length === 0) return;
      const tokenizeWords = (a: number, b: number) => {
        words.length = 0;
        bertPreTokenize(ntext, a, b, words);
        for (let k = 0; k < words.length; k += 2) {
          const ws = words[k]!;
          const we = words[k + 1]!;
          const pieces = this.wordPiece.tokenize(ntext.slice(ws, we));
          for (let p = 0; p < pieces.ids.length; p++) {
            push(pieces.ids[p]!, pieces.tokens[p]!, norm.starts[ws + pieces.starts[p]!]!, norm.ends[ws + pieces.ends[p]! - 1]!, word);
          }
          word++;
        }
      };
      if (this.normalizedMatcher.empty) {
        tokenizeWords(0, ntext.length);
        return;
      }
      let at = 0;
      for (const m of this.normalizedMatcher.find(ntext, 0, ntext.length)) {
        tokenizeWords(at, m.start);
        push(m.token.id, ntext.slice(m.start, m.end), norm.starts[m.start]!, norm.ends[m.end - 1]!, word++);
        at = m.end;
      }
      tokenizeWords(at, ntext.length);
    };
    let at = from;
    if (!this.rawMatcher.empty) {
      for (const m of this.rawMatcher.find(text, from, to)) {
        normalizedPart(at, m.start);
        push(m.token.id, text.slice(m.start, m.end), m.start, m.end, word++);
        at = m.end;
      }
    }
    normalizedPart(at, to);
    return word;
  }

  /**
   * Encodes a text, or a text pair (`[CLS] A [SEP] B [SEP]`, token type ids 0 then 1).
   *
   * @throws TruncationError when the input cannot be truncated as asked (see {@link EncodeOptions.truncation}).
   */
  encode(text: string, textPair?: string, opts: EncodeOptions = {}): Encoding {
    const [limitA, limitB] = this.tokenLimits(opts, textPair !== undefined);
    const a = this.encodeSequence(text, limitA);
    const b = textPair === undefined ? undefined : this.encodeSequence(textPair, limitB);
    const lengths = b && truncationStrategy(opts) === 'longest_first' ? this.pairLengths(text, a, textPair!, b, limitA - 1) : undefined;
    return this.finish(a, b, opts, lengths);
  }

  /**
   * Lengths that truncate a pair as the full lengths would, when tokenization stopped early: with
   * both texts longer than `room` and `room` odd, longest-first truncation gives the odd token to
   * the longer text (the second on a tie), so which one is longer must be known. Undefined when the
   * lengths made decide it already.
   */
  private pairLengths(text: string, a: Sequence, textPair: string, b: Sequence, room: number): [number, number] | undefined {
    if ((a.complete && b.complete) || room % 2 === 0) return undefined;
    if (!a.complete && !b.complete) return [this.countTokens(text), this.countTokens(textPair)];
    const known = a.complete ? a.ids.length : b.ids.length;
    if (known <= room) return undefined;
    // The other text's length, or `known + 1` when it has more: all the comparison needs.
    const other = this.encodeSequence(a.complete ? textPair : text, known + 1).ids.length;
    return a.complete ? [known, Math.min(other, known + 1)] : [Math.min(other, known + 1), known];
  }

  /**
   * How many tokens of each text need to be made for `opts`: one more than fit when truncation
   * keeps the first tokens (the rest are cut anyway), else all (infinity).
   */
  private tokenLimits(opts: EncodeOptions, pair: boolean): [number, number] {
    const all: [number, number] = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
    const strategy = truncationStrategy(opts);
    const maxLength = opts.maxLength ?? this.options.modelMaxLength;
    if (strategy === undefined || maxLength === undefined || (opts.truncationSide ?? this.options.truncationSide) !== 'right') return all;
    const room = maxLength - ((opts.addSpecialTokens ?? true) ? addedTokenCount(this.template, pair) : 0);
    if (room < 0) return all;
    if (!pair || strategy === 'longest_first') return [room + 1, room + 1];
    return strategy === 'only_first' ? [room + 1, Number.POSITIVE_INFINITY] : [Number.POSITIVE_INFINITY, room + 1];
  }

  /**
   * Encodes a text given as words (Hugging Face's `is_split_into_words`): each word is normalised,
   * pre-tokenised and split into WordPiece tokens on its own; `wordIds` index the given words and
   * offsets are relative to each word. For token classification, where labels belong to words.
   */
  encodeWords(words: readonly string[], opts: EncodeOptions = {}): Encoding {
    const seq = emptySequence();
    const [limit] = this.tokenLimits(opts, false);
    for (let i = 0; i < words.length && seq.ids.length < limit; i++) {
      const part = this.encodeSequence(words[i]!, limit - seq.ids.length);
      for (let k = 0; k < part.ids.length; k++) {
        seq.ids.push(part.ids[k]!);
        seq.tokens.push(part.tokens[k]!);
        seq.starts.push(part.starts[k]!);
        seq.ends.push(part.ends[k]!);
        seq.words.push(i);
      }
    }
    return this.finish(seq, undefined, opts);
  }

  /** Truncation, special tokens and padding of encoded sequences. */
  private finish(first: Sequence, second: Sequence | undefined, opts: EncodeOptions, lengths?: [number, number]): Encoding {
    const special = opts.addSpecialTokens ?? true;
    let a = first;
    let b = second;
    const strategy = truncationStrategy(opts);
    if (strategy) {
      const maxLength = opts.maxLength ?? this.options.modelMaxLength;
      if (maxLength === undefined) {
        throw new TruncationError('truncation needs a length: pass maxLength, or set model_max_length in tokenizer_config.json');
      }
      const added = special ? addedTokenCount(this.template, b !== undefined) : 0;
      if (maxLength < added) {
        throw new TruncationError(`maxLength ${maxLength} leaves no room for the ${added} special tokens; use at least ${added}`);
      }
      const [na, nb] = truncatedLengths(lengths?.[0] ?? a.ids.length, b === undefined ? undefined : (lengths?.[1] ?? b.ids.length), maxLength - added, strategy);
      const side = opts.truncationSide ?? this.options.truncationSide;
      a = cut(a, na, side);
      if (b) b = cut(b, nb, side);
    }
    let enc = this.postProcess(a, b, special);
    const padding = opts.padding === true ? 'longest' : opts.padding;
    if (padding === 'max_length') {
      enc = this.pad(enc, this.maxLengthFor('max_length', opts), opts);
    } else if (padding === 'longest' && opts.padToMultipleOf) {
      enc = this.pad(enc, enc.inputIds.length, opts);
    }
    return enc;
  }

  /**
   * Encodes several texts or `[text, textPair]` tuples. Padding defaults to `'longest'`, so all
   * encodings of a batch have the same length; pass `padding: false` to keep them ragged.
   */
  encodeBatch(inputs: readonly (string | readonly [string, string])[], opts: EncodeOptions = {}): Encoding[] {
    const single = { ...opts, padding: false as const };
    const encs = inputs.map((x) => (typeof x === 'string' ? this.encode(x, undefined, single) : this.encode(x[0], x[1], single)));
    const padding = opts.padding === undefined || opts.padding === true ? 'longest' : opts.padding;
    if (padding === false) return encs;
    const length = padding === 'max_length' ? this.maxLengthFor('max_length', opts) : encs.reduce((n, e) => Math.max(n, e.inputIds.length), 0);
    return encs.map((e) => this.pad(e, length, opts));
  }

  private maxLengthFor(what: string, opts: EncodeOptions): number {
    const n = opts.maxLength ?? this.options.modelMaxLength;
    if (n === undefined)
      throw new TokenizerError(`padding '${what}' needs a length: pass maxLength, or set model_max_length in tokenizer_config.json`, {
        code: 'invalid_option',
        field: 'maxLength',
      });
    return n;
  }

  private pad(e: Encoding, length: number, opts: EncodeOptions): Encoding {
    const multiple = opts.padToMultipleOf;
    const target = multiple && multiple > 0 ? Math.ceil(length / multiple) * multiple : length;
    return padEncoding(e, target, opts.paddingSide ?? this.options.paddingSide, this.padTokenId, this.options.padToken);
  }

  /** Applies the post-processing template (special tokens and type ids). */
  private postProcess(a: Sequence, b: Sequence | undefined, addSpecial: boolean): Encoding {
    const enc: Encoding = { inputIds: [], tokenTypeIds: [], attentionMask: [], specialTokensMask: [], tokens: [], offsets: [], wordIds: [], sequenceIds: [] };
    for (const piece of b ? this.template.pair : this.template.single) {
      if (piece.kind === 'special') {
        if (!addSpecial) continue;
        const st = this.template.specialTokens[piece.id];
        if (!st) continue;
        for (let k = 0; k < st.ids.length; k++) {
          enc.inputIds.push(st.ids[k]!);
          enc.tokens.push(st.tokens[k] ?? st.id);
          enc.tokenTypeIds.push(piece.typeId);
          enc.attentionMask.push(1);
          enc.specialTokensMask.push(1);
          enc.offsets.push([0, 0]);
          enc.wordIds.push(null);
          enc.sequenceIds.push(null);
        }
      } else {
        const s = piece.sequence === 0 ? a : b;
        if (!s) continue;
        for (let k = 0; k < s.ids.length; k++) {
          enc.inputIds.push(s.ids[k]!);
          enc.tokens.push(s.tokens[k]!);
          enc.tokenTypeIds.push(piece.typeId);
          enc.attentionMask.push(1);
          enc.specialTokensMask.push(0);
          enc.offsets.push([s.starts[k]!, s.ends[k]!]);
          enc.wordIds.push(s.words[k]!);
          enc.sequenceIds.push(piece.sequence);
        }
      }
    }
    return enc;
  }

  /**
   * Turns ids back into text: the WordPiece decoder joins `##` pieces and spaces words, then
   * spaces before punctuation are cleaned up (Hugging Face's `clean_up_tokenization_spaces`).
   * Ids outside the vocabulary are left out, as the fast tokenizer does.
   */
  decode(ids: ArrayLike<number | bigint>, opts: DecodeOptions = {}): string {
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = Number(ids[i]!);
      if (opts.skipSpecialTokens && this.specialIds.has(id)) continue;
      const t = this.idToToken(id);
      if (t !== undefined) tokens.push(t);
    }
    const text = wordPieceDecode(tokens, this.options.continuingSubwordPrefix, this.options.decoderCleanup);
    return (opts.cleanUpTokenizationSpaces ?? this.options.cleanUpTokenizationSpaces) ? cleanUpTokenization(text) : text;
  }

  /** Decodes each row of a batch. */
  decodeBatch(batch: readonly ArrayLike<number | bigint>[], opts: DecodeOptions = {}): string[] {
    return batch.map((ids) => this.decode(ids, opts));
  }

  /** What the tokenizer files are made of. */
  state(): TokenizerState {
    return { vocab: this.vocabById, options: this.options, addedTokens: this.added, template: this.template };
  }

  /** The Hugging Face tokenizers description of this tokenizer (tokenizer.json content). */
  toTokenizerJson(): Record<string, unknown> {
    return buildTokenizerJson(this.state());
  }

  /** tokenizer_config.json content. */
  toTokenizerConfig(): Record<string, unknown> {
    return buildTokenizerConfig(this.state());
  }

  /** special_tokens_map.json content. */
  toSpecialTokensMap(): Record<string, unknown> {
    return buildSpecialTokensMap(this.state());
  }

  /**
   * Writes vocab.txt, tokenizer_config.json, special_tokens_map.json and tokenizer.json (plus
   * added_tokens.json when tokens were added beyond the vocabulary) into `dir`, each atomically.
   */
  async save(dir: string): Promise<void> {
    await saveTokenizerDirectory(dir, this.state());
  }
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function truncationStrategy(opts: EncodeOptions): TruncationStrategy | undefined {
  const t = opts.truncation;
  if (t === false) return undefined;
  if (t === true) return 'longest_first';
  if (t === undefined) return opts.maxLength !== undefined ? 'longest_first' : undefined;
  return t;
}

function cut(s: Sequence, n: number, side: Side): Sequence {
  if (n >= s.ids.length) return s;
  const from = side === 'right' ? 0 : s.ids.length - n;
  const to = from + n;
  return {
    ids: s.ids.slice(from, to),
    tokens: s.tokens.slice(from, to),
    starts: s.starts.slice(from, to),
    ends: s.ends.slice(from, to),
    words: s.words.slice(from, to),
    complete: s.complete,
  };
}
