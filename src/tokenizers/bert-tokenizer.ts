import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { type NormalizerOptions, type Piece, preTokenize } from './normalize.js';

/** A tokenizer file is missing or unusable. */
export class TokenizerError extends Error {
  override name = 'TokenizerError';
}

/** How pairs are shortened to fit `maxLength` (Hugging Face's truncation strategies). */
export type TruncationStrategy = 'longest_first' | 'only_first' | 'only_second';

/** Options of {@link BertTokenizer.encode}. */
export interface EncodeOptions {
  /** Add [CLS] ... [SEP] (default true). */
  readonly addSpecialTokens?: boolean;
  /** Truncate to this many tokens, special tokens included. */
  readonly maxLength?: number;
  readonly truncation?: TruncationStrategy | false;
  /** Pad to `maxLength` (`max_length`), to the longest of a batch (`longest`, batch only), or not. */
  readonly padding?: 'max_length' | 'longest' | false;
  readonly paddingSide?: 'right' | 'left';
}

/** One encoded text or text pair. */
export interface Encoding {
  readonly inputIds: number[];
  readonly tokenTypeIds: number[];
  readonly attentionMask: number[];
  readonly tokens: string[];
  /** [start, end) of every token in its original string (UTF-16 units); [0, 0] for special tokens. */
  readonly offsets: [number, number][];
  /** Index of the word (pre-tokenised piece) each token came from; null for special tokens. */
  readonly wordIds: (number | null)[];
  /** 0 for tokens of the first text, 1 for the second, null for special tokens. */
  readonly sequenceIds: (number | null)[];
}

/** Settings of a BERT WordPiece tokenizer. */
export interface BertTokenizerOptions extends NormalizerOptions {
  readonly unkToken: string;
  readonly clsToken: string;
  readonly sepToken: string;
  readonly padToken: string;
  readonly maskToken: string;
  readonly continuingSubwordPrefix: string;
  readonly maxInputCharsPerWord: number;
  /** `model_max_length` from tokenizer_config.json, when known. */
  readonly modelMaxLength?: number;
  /** Extra strings never split (added tokens). */
  readonly neverSplit?: readonly string[];
}

interface Token {
  id: number;
  text: string;
  start: number;
  end: number;
  word: number | null;
}

const DEFAULTS: BertTokenizerOptions = {
  lowercase: true,
  chineseChars: true,
  cleanText: true,
  unkToken: '[UNK]',
  clsToken: '[CLS]',
  sepToken: '[SEP]',
  padToken: '[PAD]',
  maskToken: '[MASK]',
  continuingSubwordPrefix: '##',
  maxInputCharsPerWord: 100,
};

/**
 * BERT's WordPiece tokenizer, behaving like Hugging Face's BertTokenizerFast: cleaning, CJK
 * characters split one per token, optional lower-casing with accent stripping, punctuation
 * splitting, special tokens kept whole, greedy longest-match WordPiece with `##` continuations.
 */
export class BertTokenizer {
  readonly options: BertTokenizerOptions;
  private readonly vocab: Map<string, number>;
  private readonly inverse: string[];
  private readonly specials: string[];

  constructor(vocab: readonly string[], options: Partial<BertTokenizerOptions> = {}) {
    this.options = { ...DEFAULTS, ...options };
    this.vocab = new Map();
    vocab.forEach((t, i) => {
      if (!this.vocab.has(t)) this.vocab.set(t, i);
    });
    this.inverse = [...vocab];
    const o = this.options;
    for (const t of [o.unkToken, o.clsToken, o.sepToken, o.padToken]) {
      if (!this.vocab.has(t)) throw new TokenizerError(`the vocabulary has no ${t} token; add it or set the matching *_token in tokenizer_config.json`);
    }
    this.specials = [...new Set([o.unkToken, o.clsToken, o.sepToken, o.padToken, o.maskToken, ...(o.neverSplit ?? [])])]
      .filter((t) => this.vocab.has(t))
      .sort((a, b) => b.length - a.length);
  }

  get vocabSize(): number {
    return this.inverse.length;
  }

  /** The id of a token, or undefined. */
  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.inverse[id];
  }

  get clsTokenId(): number {
    return this.vocab.get(this.options.clsToken)!;
  }
  get sepTokenId(): number {
    return this.vocab.get(this.options.sepToken)!;
  }
  get padTokenId(): number {
    return this.vocab.get(this.options.padToken)!;
  }
  get unkTokenId(): number {
    return this.vocab.get(this.options.unkToken)!;
  }
  get maskTokenId(): number | undefined {
    return this.vocab.get(this.options.maskToken);
  }

  /** Tokens of one text, without special tokens, with offsets and word ids. */
  private tokenize(text: string): Token[] {
    const out: Token[] = [];
    let word = 0;
    let pos = 0;
    // Special tokens in the raw text are matched before normalisation and kept whole.
    while (pos <= text.length) {
      let next = -1;
      let which = '';
      for (const s of this.specials) {
        const at = text.indexOf(s, pos);
        if (at >= 0 && (next < 0 || at < next)) {
          next = at;
          which = s;
        }
      }
      const end = next < 0 ? text.length : next;
      for (const piece of this.pieces(text.slice(pos, end), pos)) {
        for (const t of this.wordPiece(piece)) out.push({ ...t, word });
        word++;
      }
      if (next < 0) break;
      out.push({ id: this.vocab.get(which)!, text: which, start: next, end: next + which.length, word: word++ });
      pos = next + which.length;
    }
    return out;
  }

  private pieces(text: string, offset: number): Piece[] {
    return preTokenize(text, this.options).map((p) => ({ ...p, start: p.start + offset, end: p.end + offset }));
  }

  private wordPiece(piece: Piece): Omit<Token, 'word'>[] {
    const chars = [...piece.text];
    const unk = () => [{ id: this.unkTokenId, text: this.options.unkToken, start: piece.start, end: piece.end }];
    if (chars.length > this.options.maxInputCharsPerWord) return unk();
    // Offsets of each normalised character: exact when normalisation kept one char per char.
    const sameLength = piece.end - piece.start === piece.text.length;
    const out: Omit<Token, 'word'>[] = [];
    let start = 0;
    let unitStart = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: string | undefined;
      while (start < end) {
        const sub = (start > 0 ? this.options.continuingSubwordPrefix : '') + chars.slice(start, end).join('');
        if (this.vocab.has(sub)) {
          found = sub;
          break;
        }
        end--;
      }
      if (found === undefined) return unk();
      const units = chars.slice(start, end).join('').length;
      const s = sameLength ? piece.start + unitStart : piece.start;
      const e = sameLength ? s + units : piece.end;
      out.push({ id: this.vocab.get(found)!, text: found, start: s, end: e });
      unitStart += units;
      start = end;
    }
    return out;
  }

  /** Encodes a text or a text pair. */
  encode(text: string, pair?: string, opts: EncodeOptions = {}): Encoding {
    const special = opts.addSpecialTokens ?? true;
    let a = this.tokenize(text);
    let b = pair === undefined ? undefined : this.tokenize(pair);
    if (opts.maxLength !== undefined && opts.truncation !== false) {
      const budget = opts.maxLength - (special ? (b ? 3 : 2) : 0);
      if (budget < 0) throw new TokenizerError(`maxLength ${opts.maxLength} leaves no room for the special tokens`);
      [a, b] = truncate(a, b, budget, opts.truncation ?? 'longest_first');
    }
    const tokens: (Token & { seq: number | null; type: number })[] = [];
    const cls = { id: this.clsTokenId, text: this.options.clsToken, start: 0, end: 0, word: null, seq: null, type: 0 };
    const sep = (type: number) => ({ id: this.sepTokenId, text: this.options.sepToken, start: 0, end: 0, word: null, seq: null, type });
    if (special) tokens.push(cls);
    tokens.push(...a.map((t) => ({ ...t, seq: 0, type: 0 })));
    if (special) tokens.push(sep(0));
    if (b) {
      tokens.push(...b.map((t) => ({ ...t, seq: 1, type: 1 })));
      if (special) tokens.push(sep(1));
    }
    let enc: Encoding = {
      inputIds: tokens.map((t) => t.id),
      tokenTypeIds: tokens.map((t) => t.type),
      attentionMask: tokens.map(() => 1),
      tokens: tokens.map((t) => t.text),
      offsets: tokens.map((t) => [t.start, t.end]),
      wordIds: tokens.map((t) => t.word),
      sequenceIds: tokens.map((t) => t.seq),
    };
    if (opts.padding === 'max_length' && opts.maxLength !== undefined) enc = this.pad(enc, opts.maxLength, opts.paddingSide ?? 'right');
    return enc;
  }

  /** Encodes several texts (or [text, pair] tuples), padding to the longest unless told otherwise. */
  encodeBatch(inputs: readonly (string | readonly [string, string])[], opts: EncodeOptions = {}): Encoding[] {
    const encs = inputs.map((x) => (typeof x === 'string' ? this.encode(x, undefined, { ...opts, padding: false }) : this.encode(x[0], x[1], { ...opts, padding: false })));
    const padding = opts.padding ?? 'longest';
    if (padding === false) return encs;
    const length = padding === 'max_length' && opts.maxLength !== undefined ? opts.maxLength : Math.max(0, ...encs.map((e) => e.inputIds.length));
    return encs.map((e) => this.pad(e, length, opts.paddingSide ?? 'right'));
  }

  private pad(e: Encoding, length: number, side: 'right' | 'left'): Encoding {
    const n = length - e.inputIds.length;
    if (n <= 0) return e;
    const fill = <T>(xs: T[], v: T) => (side === 'right' ? [...xs, ...Array<T>(n).fill(v)] : [...Array<T>(n).fill(v), ...xs]);
    return {
      inputIds: fill(e.inputIds, this.padTokenId),
      tokenTypeIds: fill(e.tokenTypeIds, 0),
      attentionMask: fill(e.attentionMask, 0),
      tokens: fill(e.tokens, this.options.padToken),
      offsets: fill<[number, number]>(e.offsets, [0, 0]),
      wordIds: fill<number | null>(e.wordIds, null),
      sequenceIds: fill<number | null>(e.sequenceIds, null),
    };
  }

  /** Turns ids back into text, joining `##` pieces and tidying spaces before punctuation. */
  decode(ids: readonly number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    const specials = new Set([this.clsTokenId, this.sepTokenId, this.padTokenId, this.maskTokenId]);
    const toks = ids.filter((id) => !(opts.skipSpecialTokens && specials.has(id))).map((id) => this.inverse[id] ?? this.options.unkToken);
    const prefix = this.options.continuingSubwordPrefix;
    let text = '';
    for (const t of toks) text += t.startsWith(prefix) ? t.slice(prefix.length) : (text ? ' ' : '') + t;
    return text
      .replace(/ \./g, '.')
      .replace(/ \?/g, '?')
      .replace(/ !/g, '!')
      .replace(/ ,/g, ',')
      .replace(/ ' /g, "'")
      .replace(/ n't/g, "n't")
      .replace(/ 'm/g, "'m")
      .replace(/ 's/g, "'s")
      .replace(/ 've/g, "'ve")
      .replace(/ 're/g, "'re");
  }

  /** Loads vocab.txt + tokenizer_config.json, or tokenizer.json (which wins when both exist). */
  static async fromDirectory(dir: string): Promise<BertTokenizer> {
    const cfgPath = join(dir, 'tokenizer_config.json');
    const cfg = existsSync(cfgPath) ? (await readJson(cfgPath)) : {};
    const fromConfig: Partial<BertTokenizerOptions> = {};
    const str = (k: string) => (typeof cfg[k] === 'string' ? (cfg[k] as string) : typeof (cfg[k] as { content?: string })?.content === 'string' ? (cfg[k] as { content: string }).content : undefined);
    if (typeof cfg.do_lower_case === 'boolean') Object.assign(fromConfig, { lowercase: cfg.do_lower_case });
    if (typeof cfg.strip_accents === 'boolean') Object.assign(fromConfig, { stripAccents: cfg.strip_accents });
    if (typeof cfg.tokenize_chinese_chars === 'boolean') Object.assign(fromConfig, { chineseChars: cfg.tokenize_chinese_chars });
    if (typeof cfg.model_max_length === 'number' && cfg.model_max_length < 1e12) Object.assign(fromConfig, { modelMaxLength: cfg.model_max_length });
    for (const [key, opt] of [['unk_token', 'unkToken'], ['cls_token', 'clsToken'], ['sep_token', 'sepToken'], ['pad_token', 'padToken'], ['mask_token', 'maskToken']] as const) {
      const v = str(key);
      if (v) Object.assign(fromConfig, { [opt]: v });
    }
    const jsonPath = join(dir, 'tokenizer.json');
    if (existsSync(jsonPath)) return fromTokenizerJson(await readJson(jsonPath), jsonPath, fromConfig);
    const vocabPath = join(dir, 'vocab.txt');
    if (!existsSync(vocabPath)) throw new TokenizerError(`${dir}: no vocab.txt or tokenizer.json; a BERT tokenizer needs one of them`);
    const vocab = (await readFile(vocabPath, 'utf8')).split(/\r?\n/);
    if (vocab.at(-1) === '') vocab.pop();
    return new BertTokenizer(vocab, fromConfig);
  }

  /** Writes vocab.txt, tokenizer_config.json, special_tokens_map.json and tokenizer.json, atomically. */
  async save(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    const o = this.options;
    const write = (name: string, text: string) => writeFileAtomic(join(dir, name), new TextEncoder().encode(text));
    await write('vocab.txt', this.inverse.join('\n') + '\n');
    const specials = { unk_token: o.unkToken, sep_token: o.sepToken, pad_token: o.padToken, cls_token: o.clsToken, mask_token: o.maskToken };
    await write('special_tokens_map.json', JSON.stringify(specials, null, 2) + '\n');
    const config: Record<string, unknown> = {
      tokenizer_class: 'BertTokenizer',
      do_lower_case: o.lowercase,
      strip_accents: o.stripAccents ?? null,
      tokenize_chinese_chars: o.chineseChars,
      clean_up_tokenization_spaces: true,
      ...specials,
    };
    if (o.modelMaxLength !== undefined) config.model_max_length = o.modelMaxLength;
    await write('tokenizer_config.json', JSON.stringify(config, null, 2) + '\n');
    await write('tokenizer.json', JSON.stringify(this.toTokenizerJson(), null, 2) + '\n');
  }

  /** The Hugging Face tokenizers description of this tokenizer. */
  toTokenizerJson(): Record<string, unknown> {
    const o = this.options;
    const special = (t: string) => ({ id: this.vocab.get(t)!, content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [o.padToken, o.unkToken, o.clsToken, o.sepToken, o.maskToken].filter((t) => this.vocab.has(t)).map(special).sort((a, b) => a.id - b.id),
      normalizer: { type: 'BertNormalizer', clean_text: o.cleanText, handle_chinese_chars: o.chineseChars, strip_accents: o.stripAccents ?? null, lowercase: o.lowercase },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: o.clsToken, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: o.sepToken, type_id: 0 } }],
        pair: [
          { SpecialToken: { id: o.clsToken, type_id: 0 } },
          { Sequence: { id: 'A', type_id: 0 } },
          { SpecialToken: { id: o.sepToken, type_id: 0 } },
          { Sequence: { id: 'B', type_id: 1 } },
          { SpecialToken: { id: o.sepToken, type_id: 1 } },
        ],
        special_tokens: Object.fromEntries([o.clsToken, o.sepToken].map((t) => [t, { id: t, ids: [this.vocab.get(t)], tokens: [t] }])),
      },
      decoder: { type: 'WordPiece', prefix: o.continuingSubwordPrefix, cleanup: true },
      model: {
        type: 'WordPiece',
        unk_token: o.unkToken,
        continuing_subword_prefix: o.continuingSubwordPrefix,
        max_input_chars_per_word: o.maxInputCharsPerWord,
        vocab: Object.fromEntries(this.vocab),
      },
    };
  }
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new TokenizerError(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

function fromTokenizerJson(json: Record<string, unknown>, path: string, base: Partial<BertTokenizerOptions>): BertTokenizer {
  const model = json.model as Record<string, unknown> | undefined;
  if (!model || model.type !== 'WordPiece') {
    throw new TokenizerError(`${path}: model type ${JSON.stringify(model?.type)} is not WordPiece; tuna's BERT tokenizer reads WordPiece tokenizers only`);
  }
  const vocabObj = model.vocab as Record<string, number> | undefined;
  if (!vocabObj || typeof vocabObj !== 'object') throw new TokenizerError(`${path}: model.vocab is missing`);
  const vocab: string[] = [];
  for (const [t, id] of Object.entries(vocabObj)) vocab[id] = t;
  for (const a of (json.added_tokens as { id: number; content: string }[] | undefined) ?? []) vocab[a.id] ??= a.content;
  if (vocab.some((t) => t === undefined)) throw new TokenizerError(`${path}: vocabulary ids have gaps`);
  const norm = (json.normalizer ?? {}) as Record<string, unknown>;
  const opts: Partial<BertTokenizerOptions> = { ...base };
  if (norm.type === 'BertNormalizer') {
    Object.assign(opts, {
      lowercase: norm.lowercase !== false,
      cleanText: norm.clean_text !== false,
      chineseChars: norm.handle_chinese_chars !== false,
      stripAccents: typeof norm.strip_accents === 'boolean' ? norm.strip_accents : undefined,
    });
  }
  if (typeof model.unk_token === 'string') Object.assign(opts, { unkToken: model.unk_token });
  if (typeof model.continuing_subword_prefix === 'string') Object.assign(opts, { continuingSubwordPrefix: model.continuing_subword_prefix });
  if (typeof model.max_input_chars_per_word === 'number') Object.assign(opts, { maxInputCharsPerWord: model.max_input_chars_per_word });
  const added = ((json.added_tokens as { content: string; special?: boolean }[] | undefined) ?? []).map((a) => a.content);
  return new BertTokenizer(vocab, { ...opts, neverSplit: added });
}

function truncate(a: Token[], b: Token[] | undefined, budget: number, strategy: TruncationStrategy): [Token[], Token[] | undefined] {
  if (!b) {
    if (strategy === 'only_second') throw new TokenizerError('truncation only_second needs a text pair');
    return [a.slice(0, budget), undefined];
  }
  let excess = a.length + b.length - budget;
  if (excess <= 0) return [a, b];
  if (strategy === 'only_first' || strategy === 'only_second') {
    const target = strategy === 'only_first' ? a : b;
    if (target.length < excess) throw new TokenizerError(`truncation ${strategy} cannot remove ${excess} tokens from a sequence of ${target.length}`);
    return strategy === 'only_first' ? [a.slice(0, a.length - excess), b] : [a, b.slice(0, b.length - excess)];
  }
  let la = a.length;
  let lb = b.length;
  while (excess-- > 0) {
    if (la > lb) la--;
    else lb--;
  }
  return [a.slice(0, la), b.slice(0, lb)];
}
