/**
 * A tokenizer described by a Hugging Face tokenizer.json (normalizer, pre-tokenizer, BPE / Unigram /
 * WordPiece / WordLevel model, post-processor, decoder, added tokens), run as the `tokenizers`
 * library runs it, offsets and word ids included, producing tuna's {@link Encoding}.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../io/atomic.js';
import { fileSystemError } from '../../io/files.js';
import { type AddedToken, AddedTokenMatcher } from '../added-tokens.js';
import { cleanUpTokenization } from '../decoder.js';
import { type DecodeOptions, type EncodeOptions, type Encoding, padEncoding } from '../encoding.js';
import { TokenizerError, TokenizerFileError, TruncationError } from '../errors.js';
import type { Side } from '../options.js';
import { type TruncationStrategy, truncatedLengths } from '../truncation.js';
import { type HfTokenizerOptions, type TokenizerConfig, readConfig } from './config.js';
import { type Decoder, parseDecoder } from './decoders.js';
import { type JsonAt, asArray, child, Fields } from './json.js';
import type { Model, Token } from './models/model.js';
import { parseModel } from './models/parse.js';
import { NormalizedString } from './normalized.js';
import { type Normalizer, parseNormalizer } from './normalizers.js';
import { type Part, type PostProcessor, parsePostProcessor } from './post-processors.js';
import { type PreTokenizer, parsePreTokenizer } from './pre-tokenizers.js';
import { type SentencePieceOptions, parseSentencePieceModel, sentencePieceToTokenizerJson } from './sentencepiece.js';

export type { HfTokenizerOptions, TokenizerConfig } from './config.js';
export type { SentencePieceFamily, SentencePieceOptions } from './sentencepiece.js';

/** One piece of a text after added-token extraction and pre-tokenisation. */
interface Piece {
  readonly n: NormalizedString;
  readonly added: AddedToken | undefined;
}

function truncationStrategy(opts: EncodeOptions): TruncationStrategy | undefined {
  const t = opts.truncation;
  if (t === false) return undefined;
  if (t === true) return 'longest_first';
  if (t === undefined) return opts.maxLength !== undefined ? 'longest_first' : undefined;
  return t;
}

function cut(p: Part, n: number, side: Side): Part {
  if (n >= p.ids.length) return p;
  const from = side === 'right' ? 0 : p.ids.length - n;
  const to = from + n;
  return {
    ids: p.ids.slice(from, to),
    tokens: p.tokens.slice(from, to),
    offsets: p.offsets.slice(from, to),
    words: p.words.slice(from, to),
    typeIds: p.typeIds.slice(from, to),
    special: p.special.slice(from, to),
    seq: p.seq.slice(from, to),
    source: p.source,
    wordTexts: p.wordTexts,
  };
}

function copyPart(p: Part): Part {
  return { ...p, offsets: p.offsets.map(([s, e]) => [s, e] as [number, number]) };
}

function firstSpecial(post: PostProcessor | undefined, which: 'first' | 'last'): number | undefined {
  if (!post) return undefined;
  const empty = (source: string): Part => ({ ids: [], tokens: [], offsets: [], words: [], typeIds: [], special: [], seq: [], source });
  const parts = post.process([empty(''), empty('')], true);
  const ids: number[] = [];
  let seenSequence = false;
  for (const p of parts) {
    if (p.source !== undefined) {
      seenSequence = true;
      if (which === 'first') break;
      ids.length = 0;
      continue;
    }
    if (which === 'first' && seenSequence) break;
    ids.push(...p.ids);
  }
  return which === 'first' ? ids[0] : ids[ids.length - 1];
}

/**
 * A tokenizer.json tokenizer with Hugging Face `tokenizers` semantics. It has the members pipelines
 * use on a BertTokenizer (special token ids, `modelMaxLength`, `encode`, `encodeWords`,
 * `encodeBatch`, `decode`, ...), so it can stand in for one.
 *
 * @example
 * const tok = HfTokenizer.fromJson(JSON.parse(text), 'tokenizer.json', config);
 * tok.encode('Hello world!').inputIds; // [0, 31414, 232, 328, 2]
 */
export class HfTokenizer {
  /** Resolved settings. */
  readonly options: HfTokenizerOptions;
  private readonly model: Model;
  private readonly normalizer: Normalizer | undefined;
  private readonly preTokenizer: PreTokenizer | undefined;
  private readonly postProcessor: PostProcessor | undefined;
  private readonly decoder: Decoder | undefined;
  private readonly added: AddedToken[];
  private readonly addedByContent = new Map<string, AddedToken>();
  private readonly addedById = new Map<number, AddedToken>();
  private readonly specialIds = new Set<number>();
  private readonly rawMatcher: AddedTokenMatcher;
  private readonly normalizedMatcher: AddedTokenMatcher;
  private readonly json: Record<string, unknown>;
  private readonly config: Readonly<Record<string, unknown>>;
  private readonly defaultClsId: number | undefined;
  private readonly defaultSepId: number | undefined;
  private maxLength: number | undefined;

  private constructor(json: unknown, file: string, config: TokenizerConfig | undefined, configFile: string) {
    const root: JsonAt = { file, path: '' };
    const f = new Fields(json, root);
    this.json = f.obj;
    this.model = parseModel(f.raw('model'), child(root, 'model'));
    this.normalizer = parseNormalizer(f.raw('normalizer'), child(root, 'normalizer'));
    this.preTokenizer = parsePreTokenizer(f.raw('pre_tokenizer'), child(root, 'pre_tokenizer'));
    this.postProcessor = parsePostProcessor(f.raw('post_processor'), child(root, 'post_processor'));
    this.decoder = parseDecoder(f.raw('decoder'), child(root, 'decoder'));
    this.added = parseAddedTokens(f.raw('added_tokens'), child(root, 'added_tokens'));
    for (const t of this.added) {
      this.addedByContent.set(t.content, t);
      this.addedById.set(t.id, t);
      if (t.special) this.specialIds.add(t.id);
    }
    this.rawMatcher = new AddedTokenMatcher(this.added.filter((t) => !t.normalized).map((token) => ({ pattern: token.content, token })));
    this.normalizedMatcher = new AddedTokenMatcher(this.added.filter((t) => t.normalized).map((token) => ({ pattern: this.normalizeString(token.content), token })));
    const c = readConfig(config, configFile);
    this.config = { ...(config ?? {}) };
    this.defaultClsId = firstSpecial(this.postProcessor, 'first');
    this.defaultSepId = firstSpecial(this.postProcessor, 'last');
    const decoderJson = f.raw('decoder') as { type?: unknown; cleanup?: unknown } | null | undefined;
    this.options = {
      ...c,
      clsToken: c.clsToken ?? this.tokenOf(this.defaultClsId),
      sepToken: c.sepToken ?? this.tokenOf(this.defaultSepId),
      unkToken: c.unkToken ?? this.model.unkToken,
      continuingSubwordPrefix: this.model.continuingSubwordPrefix ?? '',
      decoderCleanup: decoderJson?.type === 'WordPiece' && decoderJson.cleanup !== false,
    };
    this.maxLength = c.modelMaxLength;
  }

  /**
   * Builds a tokenizer from a parsed tokenizer.json.
   *
   * @param json The parsed file.
   * @param file What to call it in error messages (a path or `tokenizer.json`).
   * @param config The parsed tokenizer_config.json, when there is one.
   * @throws TokenizerFileError naming the file and the JSON path of a bad or unsupported field.
   */
  static fromJson(json: unknown, file: string, config?: TokenizerConfig, configFile = 'tokenizer_config.json'): HfTokenizer {
    return new HfTokenizer(json, file, config, configFile);
  }

  /**
   * Builds a tokenizer from a SentencePiece `.model` file as transformers' converter for
   * `opts.family` does (XLM-R's fairseq ids: `<s>`=0, `<pad>`=1, `</s>`=2, `<unk>`=3, pieces
   * shifted by one, `<mask>` last; ALBERT's and DeBERTa-v2's normalizers; Llama's byte fallback).
   *
   * @param bytes The file's contents.
   * @param file Its name, for error messages.
   * @param config tokenizer_config.json contents: its special tokens and settings override the family's.
   */
  static fromSentencePiece(bytes: Uint8Array, file: string, opts: SentencePieceOptions, config?: TokenizerConfig): HfTokenizer {
    const model = parseSentencePieceModel(bytes, file);
    const { json, config: familyConfig } = sentencePieceToTokenizerJson(model, opts, file);
    return new HfTokenizer(json, file, { ...familyConfig, ...config }, 'tokenizer_config.json');
  }

  private tokenOf(id: number | undefined): string | undefined {
    return id === undefined ? undefined : this.idToToken(id);
  }

  /** `text` through the normalizer only. */
  normalizeString(text: string): string {
    const n = NormalizedString.fromOriginal(text);
    this.normalizer?.normalize(n);
    return n.text;
  }

  /** Number of ids (model vocabulary and added tokens): max id + 1. */
  get vocabSize(): number {
    let n = 0;
    for (const id of this.model.vocab.values()) if (id >= n) n = id + 1;
    for (const t of this.added) if (t.id >= n) n = t.id + 1;
    return n;
  }

  /** `model_max_length` from tokenizer_config.json, when known: the default truncation length. */
  get modelMaxLength(): number | undefined {
    return this.maxLength;
  }

  set modelMaxLength(n: number | undefined) {
    if (n !== undefined && !(Number.isInteger(n) && n > 0))
      throw new TokenizerError(`modelMaxLength must be a positive integer, got ${n}`, { code: 'invalid_option', field: 'modelMaxLength' });
    this.maxLength = n;
  }

  /** The added tokens (special tokens included), by ascending id. */
  get addedTokens(): readonly AddedToken[] {
    return this.added;
  }

  /** Ids of the special added tokens. */
  get specialTokenIds(): number[] {
    return [...this.specialIds].sort((a, b) => a - b);
  }

  /** The id of a token (added tokens first, then the model vocabulary), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token)?.id ?? this.model.vocab.get(token);
  }

  /** The token of an id, or undefined. */
  idToToken(id: number): string | undefined {
    return this.addedById.get(id)?.content ?? this.model.idToToken(id);
  }

  /** Token → id for the whole vocabulary, added tokens included. */
  getVocab(): Map<string, number> {
    const out = new Map(this.model.vocab);
    for (const t of this.added) out.set(t.content, t.id);
    return out;
  }

  private requireId(name: string, token: string | undefined, fallback?: number): number {
    const id = token === undefined ? fallback : this.tokenToId(token);
    if (id === undefined)
      throw new TokenizerError(
        `this tokenizer has no ${name} token${token === undefined ? '' : ` (${JSON.stringify(token)} is not in its vocabulary)`}; set ${name}_token in tokenizer_config.json`,
      );
    return id;
  }

  /** The classifier token id ([CLS] / `<s>`). @throws TokenizerError when the tokenizer has none. */
  get clsTokenId(): number {
    return this.requireId('cls', this.options.clsToken, this.defaultClsId);
  }
  /** The separator token id ([SEP] / `</s>`). @throws TokenizerError when the tokenizer has none. */
  get sepTokenId(): number {
    return this.requireId('sep', this.options.sepToken, this.defaultSepId);
  }
  /** The padding token id. @throws TokenizerError when the tokenizer has none. */
  get padTokenId(): number {
    return this.requireId('pad', this.options.padToken);
  }
  /** The unknown token id. @throws TokenizerError when the tokenizer has none. */
  get unkTokenId(): number {
    return this.requireId('unk', this.options.unkToken);
  }
  /** The mask token id, when the tokenizer has one. */
  get maskTokenId(): number | undefined {
    return this.options.maskToken === undefined ? undefined : this.tokenToId(this.options.maskToken);
  }

  /** The tokens of one text, without special tokens. */
  tokenize(text: string): string[] {
    return this.encodeSequence(text, 0).tokens;
  }

  /** Added-token extraction, normalisation and pre-tokenisation of one text. */
  private pieces(text: string): Piece[] {
    const out: Piece[] = [];
    const normalizedPart = (from: number, to: number) => {
      if (from >= to) return;
      const n = NormalizedString.fromOriginal(text, from, to);
      this.normalizer?.normalize(n);
      if (n.length === 0) return;
      let at = 0;
      if (!this.normalizedMatcher.empty) {
        for (const m of this.normalizedMatcher.find(n.text, 0, n.length)) {
          if (m.start > at) this.preTokenize(n.slice(at, m.start), out);
          out.push({ n: n.slice(m.start, m.end), added: m.token });
          at = m.end;
        }
      }
      if (at < n.length) this.preTokenize(at === 0 ? n : n.slice(at, n.length), out);
    };
    let at = 0;
    if (!this.rawMatcher.empty) {
      for (const m of this.rawMatcher.find(text, 0, text.length)) {
        normalizedPart(at, m.start);
        out.push({ n: NormalizedString.fromOriginal(text, m.start, m.end), added: m.token });
        at = m.end;
      }
    }
    normalizedPart(at, text.length);
    return out;
  }

  private preTokenize(n: NormalizedString, out: Piece[]): void {
    if (n.length === 0) return;
    if (!this.preTokenizer) {
      out.push({ n, added: undefined });
      return;
    }
    for (const p of this.preTokenizer.split(n)) if (p.length > 0) out.push({ n: p, added: undefined });
  }

  private tokenizePiece(n: NormalizedString): Token[] {
    try {
      return this.model.tokenize(n.text);
    } catch (e) {
      if (e instanceof TokenizerError) throw e;
      throw new TokenizerError(`cannot tokenize ${JSON.stringify(n.text)}: ${(e as Error).message}`, { cause: e });
    }
  }

  /**
   * Tokens of one text with offsets into it. `word` (for pre-split words) replaces piece indices as
   * word ids. With `limit`, only the pieces needed for `limit.max` tokens from that side are
   * tokenised and the others dropped before word ids are counted, as tokenizers' early exit for
   * truncation does (visible in word ids after left truncation).
   */
  private encodeSequence(text: string, typeId: number, word?: number, limit?: { readonly max: number; readonly side: Side }): Part {
    const part: Part = { ids: [], tokens: [], offsets: [], words: [], typeIds: [], special: [], seq: [], source: text };
    let pieces = this.pieces(text);
    const toks: (Token[] | undefined)[] = new Array(pieces.length);
    if (limit) {
      let total = 0;
      const order = limit.side === 'left' ? pieces.map((_, i) => pieces.length - 1 - i) : pieces.map((_, i) => i);
      let edge = limit.side === 'left' ? pieces.length : 0;
      for (const i of order) {
        const p = pieces[i]!;
        edge = limit.side === 'left' ? i : i + 1;
        if (p.added) {
          total++;
          continue;
        }
        const t = this.tokenizePiece(p.n);
        toks[i] = t;
        total += t.length;
        if (total >= limit.max) break;
      }
      if (limit.side === 'left') {
        pieces = pieces.slice(edge);
        toks.splice(0, edge);
      } else {
        pieces = pieces.slice(0, edge);
        toks.length = edge;
      }
    }
    for (let w = 0; w < pieces.length; w++) {
      const { n, added } = pieces[w]!;
      const wid = word ?? w;
      if (added) {
        part.ids.push(added.id);
        part.tokens.push(n.text);
        part.offsets.push(n.originalRange(0, n.length));
        part.words.push(wid);
        continue;
      }
      for (const t of toks[w] ?? this.tokenizePiece(n)) {
        part.ids.push(t.id);
        part.tokens.push(t.value);
        part.offsets.push(n.originalRange(t.start, t.end));
        part.words.push(wid);
      }
    }
    for (let i = 0; i < part.ids.length; i++) {
      part.typeIds.push(typeId);
      part.special.push(0);
      part.seq.push(typeId);
    }
    return part;
  }

  /**
   * Encodes a text, or a text pair, with the post-processor's special tokens.
   *
   * @throws TruncationError when the input cannot be truncated as asked.
   */
  encode(text: string, textPair?: string, opts: EncodeOptions = {}): Encoding {
    const strategy = truncationStrategy(opts);
    const max = strategy ? (opts.maxLength ?? this.maxLength) : undefined;
    const side = opts.truncationSide ?? this.options.truncationSide;
    const limit = max === undefined ? undefined : { max, side };
    const a = this.encodeSequence(text, 0, undefined, strategy === 'only_second' ? undefined : limit);
    const b = textPair === undefined ? undefined : this.encodeSequence(textPair, 1, undefined, limit);
    return this.finish(a, b, opts);
  }

  /**
   * Encodes a text given as words (`is_split_into_words`): each word is normalised, pre-tokenised
   * and tokenised on its own; `wordIds` index the given words and offsets are relative to each word.
   */
  encodeWords(words: readonly string[], opts: EncodeOptions = {}): Encoding {
    const merged: Part = { ids: [], tokens: [], offsets: [], words: [], typeIds: [], special: [], seq: [], source: undefined, wordTexts: words };
    words.forEach((w, i) => {
      const p = this.encodeSequence(w, 0, i);
      merged.ids.push(...p.ids);
      merged.tokens.push(...p.tokens);
      merged.offsets.push(...p.offsets);
      merged.words.push(...p.words);
      merged.typeIds.push(...p.typeIds);
      merged.special.push(...p.special);
      merged.seq.push(...p.seq);
    });
    return this.finish(merged, undefined, opts);
  }

  /**
   * Encodes several texts, `[text, textPair]` tuples, or texts with a parallel list of pairs.
   * Padding defaults to `'longest'`; pass `padding: false` to keep them ragged.
   */
  encodeBatch(inputs: readonly (string | readonly [string, string])[], opts?: EncodeOptions): Encoding[];
  encodeBatch(texts: readonly string[], pairs: readonly string[] | undefined, opts?: EncodeOptions): Encoding[];
  encodeBatch(inputs: readonly (string | readonly [string, string])[], pairsOrOpts?: readonly string[] | EncodeOptions, maybeOpts?: EncodeOptions): Encoding[] {
    const pairs = Array.isArray(pairsOrOpts) ? (pairsOrOpts as readonly string[]) : undefined;
    const opts: EncodeOptions = (Array.isArray(pairsOrOpts) ? maybeOpts : ((pairsOrOpts as EncodeOptions | undefined) ?? maybeOpts)) ?? {};
    if (pairs && pairs.length !== inputs.length) {
      throw new TokenizerError(`encodeBatch got ${inputs.length} texts but ${pairs.length} pairs; give one pair per text`, { code: 'invalid_input' });
    }
    const single = { ...opts, padding: false as const };
    const encs = inputs.map((x, i) => {
      if (typeof x !== 'string') return this.encode(x[0], x[1], single);
      return this.encode(x, pairs?.[i], single);
    });
    const padding = opts.padding === undefined || opts.padding === true ? 'longest' : opts.padding;
    if (padding === false) return encs;
    const length = padding === 'max_length' ? this.lengthFor('max_length', opts) : Math.max(0, ...encs.map((e) => e.inputIds.length));
    return encs.map((e) => this.pad(e, length, opts));
  }

  private lengthFor(what: string, opts: EncodeOptions): number {
    const n = opts.maxLength ?? this.maxLength;
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
    if (target <= e.inputIds.length) return e;
    return padEncoding(e, target, opts.paddingSide ?? this.options.paddingSide, this.padTokenId, this.options.padToken!);
  }

  private finish(first: Part, second: Part | undefined, opts: EncodeOptions): Encoding {
    const special = opts.addSpecialTokens ?? true;
    let a = first;
    let b = second;
    const strategy = truncationStrategy(opts);
    if (strategy) {
      const maxLength = opts.maxLength ?? this.maxLength;
      if (maxLength === undefined) throw new TruncationError('truncation needs a length: pass maxLength, or set model_max_length in tokenizer_config.json');
      const added = special && this.postProcessor ? this.postProcessor.addedTokens(b !== undefined) : 0;
      if (maxLength < added) throw new TruncationError(`maxLength ${maxLength} leaves no room for the ${added} special tokens; use at least ${added}`);
      const [na, nb] = truncatedLengths(a.ids.length, b?.ids.length, maxLength - added, strategy);
      const side = opts.truncationSide ?? this.options.truncationSide;
      a = cut(a, na, side);
      if (b) b = cut(b, nb, side);
    }
    const inputs = b ? [copyPart(a), copyPart(b)] : [copyPart(a)];
    const parts = this.postProcessor ? this.postProcessor.process(inputs, special) : inputs;
    const enc: Encoding = { inputIds: [], tokenTypeIds: [], attentionMask: [], specialTokensMask: [], tokens: [], offsets: [], wordIds: [], sequenceIds: [] };
    for (const p of parts) {
      for (let i = 0; i < p.ids.length; i++) {
        enc.inputIds.push(p.ids[i]!);
        enc.tokenTypeIds.push(p.typeIds[i]!);
        enc.attentionMask.push(1);
        enc.specialTokensMask.push(p.special[i]!);
        enc.tokens.push(p.tokens[i]!);
        enc.offsets.push(p.offsets[i]!);
        enc.wordIds.push(p.words[i]!);
        enc.sequenceIds.push(p.seq[i]!);
      }
    }
    const padding = opts.padding === true ? 'longest' : opts.padding;
    if (padding === 'max_length') return this.pad(enc, this.lengthFor('max_length', opts), opts);
    if (padding === 'longest' && opts.padToMultipleOf) return this.pad(enc, enc.inputIds.length, opts);
    return enc;
  }

  /**
   * Turns ids back into text through the decoder (tokens joined by spaces when there is none).
   * Ids outside the vocabulary are left out.
   */
  decode(ids: ArrayLike<number | bigint>, opts: DecodeOptions = {}): string {
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = Number(ids[i]!);
      if (opts.skipSpecialTokens && this.specialIds.has(id)) continue;
      const t = this.idToToken(id);
      if (t !== undefined) tokens.push(t);
    }
    const text = this.decoder ? this.decoder.decodeChain(tokens).join('') : tokens.join(' ');
    return (opts.cleanUpTokenizationSpaces ?? this.options.cleanUpTokenizationSpaces) ? cleanUpTokenization(text) : text;
  }

  /** Token strings joined back into text through the decoder (transformers' `convert_tokens_to_string`). */
  convertTokensToString(tokens: readonly string[]): string {
    return this.decoder ? this.decoder.decodeChain([...tokens]).join('') : tokens.join(' ');
  }

  /** Decodes each row of a batch. */
  decodeBatch(batch: readonly ArrayLike<number | bigint>[], opts: DecodeOptions = {}): string[] {
    return batch.map((ids) => this.decode(ids, opts));
  }

  /** The tokenizer.json this tokenizer was built from. */
  toTokenizerJson(): Record<string, unknown> {
    return this.json;
  }

  /**
   * Writes tokenizer.json and tokenizer_config.json (with the current `modelMaxLength`) into `dir`,
   * each atomically, as a Hugging Face fast tokenizer saves itself; a tokenizer read from a
   * SentencePiece model is written as the tokenizer.json it was converted to.
   */
  async save(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true }).catch((e) => {
      throw fileSystemError(dir, e, 'create the directory');
    });
    for (const [name, text] of Object.entries(this.fileContents())) {
      const file = join(dir, name);
      await writeFileAtomic(file, Buffer.from(text)).catch((e) => {
        throw fileSystemError(file, e, 'write');
      });
    }
  }

  /**
   * The files {@link save} writes, by name: tokenizer.json, and tokenizer_config.json with the
   * current `modelMaxLength` and every special token the tokenizer resolved (so that runtimes
   * reading only the config, such as transformers.js, find the padding token).
   */
  fileContents(): Record<'tokenizer.json' | 'tokenizer_config.json', string> {
    const config: Record<string, unknown> = { ...this.config };
    if (this.maxLength !== undefined) config.model_max_length = this.maxLength;
    const o = this.options;
    const specials = {
      cls_token: o.clsToken,
      sep_token: o.sepToken,
      pad_token: o.padToken,
      mask_token: o.maskToken,
      unk_token: o.unkToken,
      bos_token: o.bosToken,
      eos_token: o.eosToken,
    };
    for (const [key, token] of Object.entries(specials)) if (config[key] === undefined && token !== undefined) config[key] = token;
    return { 'tokenizer.json': `${JSON.stringify(this.json, null, 2)}\n`, 'tokenizer_config.json': `${JSON.stringify(config, null, 2)}\n` };
  }
}

/** Reads tokenizer.json's `added_tokens`. */
function parseAddedTokens(v: unknown, at: JsonAt): AddedToken[] {
  if (v === undefined || v === null) return [];
  const out: AddedToken[] = [];
  asArray(v, at).forEach((x, i) => {
    const f = new Fields(x, child(at, i));
    const special = f.bool('special', false);
    out.push({
      id: f.index('id'),
      content: f.string('content'),
      special,
      normalized: f.bool('normalized', !special),
      lstrip: f.bool('lstrip', false),
      rstrip: f.bool('rstrip', false),
      singleWord: f.bool('single_word', false),
    });
  });
  return out.sort((a, b) => a.id - b.id);
}

export { TokenizerFileError };
