/**
 * tokenizer.json (Hugging Face `tokenizers` format) for WordPiece tokenizers: parsing into a
 * vocabulary and options, and writing one from a tokenizer's state.
 */
import type { AddedTokenSpec } from './added-tokens.js';
import { isObject, parseAddedTokenEntry } from './config-files.js';
import { TokenizerFileError } from './errors.js';
import type { BertTokenizerOptions, TokenizerState } from './options.js';
import { PLAIN_TEMPLATE, type PostProcessorTemplate, type TemplatePiece, type TemplateSpecialToken, templateToJson } from './post-processor.js';

type Json = Record<string, unknown>;

/** What a tokenizer.json yields. */
export interface ParsedTokenizerJson {
  readonly vocab: Map<string, number>;
  readonly options: Partial<BertTokenizerOptions>;
  /** Whether the file has a BertNormalizer (tokenizer_config.json settings may then override it). */
  readonly bertNormalizer: boolean;
}

/** Reads a parsed tokenizer.json. `file` names it in error messages. */
export function parseTokenizerJson(json: unknown, file: string): ParsedTokenizerJson {
  const fail = (problem: string) => new TokenizerFileError(file, problem);
  if (!isObject(json)) throw fail('must hold a JSON object in Hugging Face tokenizers format ("model", "normalizer", "pre_tokenizer", ...)');
  const model = json.model;
  if (!isObject(model)) throw fail('has no "model" object; it is not a Hugging Face tokenizers file');
  const type = model.type ?? (isObject(model.vocab) && 'continuing_subword_prefix' in model && !('merges' in model) ? 'WordPiece' : undefined);
  if (type !== 'WordPiece') {
    throw fail(
      `model type ${JSON.stringify(type)} is not supported: tuna's BERT tokenizer runs WordPiece models only ` +
        `(BPE, Unigram and WordLevel belong to other model families); use a BERT-family checkpoint's tokenizer`,
    );
  }
  if (!isObject(model.vocab)) throw fail('model.vocab must be an object mapping tokens to ids');
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(model.vocab)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw fail(`model.vocab[${JSON.stringify(token)}] must be a non-negative integer id, got ${JSON.stringify(id)}`);
    vocab.set(token, id);
  }
  const options: Record<string, unknown> = {};
  const str = (obj: Json, key: string, where: string): string | undefined => {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw fail(`${where}.${key} must be a string, got ${JSON.stringify(v)}`);
    return v;
  };
  const bool = (obj: Json, key: string, where: string, dflt: boolean): boolean => {
    const v = obj[key];
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') throw fail(`${where}.${key} must be true or false, got ${JSON.stringify(v)}`);
    return v;
  };
  const unk = str(model, 'unk_token', 'model');
  if (unk !== undefined) options.unkToken = unk;
  const prefix = str(model, 'continuing_subword_prefix', 'model');
  if (prefix !== undefined) options.continuingSubwordPrefix = prefix;
  const maxChars = model.max_input_chars_per_word;
  if (maxChars !== undefined) {
    if (typeof maxChars !== 'number' || !Number.isInteger(maxChars) || maxChars < 0)
      throw fail(`model.max_input_chars_per_word must be a non-negative integer, got ${JSON.stringify(maxChars)}`);
    options.maxInputCharsPerWord = maxChars;
  }

  const norm = json.normalizer;
  let bertNormalizer = false;
  if (norm === null || norm === undefined) {
    Object.assign(options, { cleanText: false, chineseChars: false, lowercase: false, stripAccents: false });
  } else if (isObject(norm) && norm.type === 'BertNormalizer') {
    bertNormalizer = true;
    const strip = norm.strip_accents;
    if (strip !== undefined && strip !== null && typeof strip !== 'boolean') throw fail(`normalizer.strip_accents must be true, false or null, got ${JSON.stringify(strip)}`);
    Object.assign(options, {
      cleanText: bool(norm, 'clean_text', 'normalizer', true),
      chineseChars: bool(norm, 'handle_chinese_chars', 'normalizer', true),
      lowercase: bool(norm, 'lowercase', 'normalizer', true),
      stripAccents: strip ?? undefined,
    });
  } else {
    const t = isObject(norm) ? norm.type : norm;
    throw fail(`normalizer ${JSON.stringify(t)} is not supported; tuna implements BERT's BertNormalizer (or no normalizer)`);
  }

  const pre = json.pre_tokenizer;
  if (!isObject(pre) || pre.type !== 'BertPreTokenizer') {
    const t = isObject(pre) ? pre.type : pre;
    throw fail(`pre_tokenizer ${JSON.stringify(t)} is not supported; tuna implements BERT's BertPreTokenizer`);
  }

  options.postProcessor = parsePostProcessor(json.post_processor, file);

  const dec = json.decoder;
  if (isObject(dec) && dec.type === 'WordPiece') options.decoderCleanup = bool(dec, 'cleanup', 'decoder', true);

  const added = json.added_tokens;
  if (added !== undefined && added !== null) {
    if (!Array.isArray(added)) throw fail('added_tokens must be a list');
    options.addedTokens = added.map((a, i): AddedTokenSpec => parseAddedTokenEntry(a, file, `added_tokens[${i}]`));
  }
  return { vocab, options: options as Partial<BertTokenizerOptions>, bertNormalizer };
}

/** Reads tokenizer.json's `post_processor` (TemplateProcessing, BertProcessing or null). */
export function parsePostProcessor(pp: unknown, file: string): PostProcessorTemplate {
  const fail = (problem: string) => new TokenizerFileError(file, problem);
  if (pp === null || pp === undefined) return PLAIN_TEMPLATE;
  if (!isObject(pp)) throw fail('post_processor must be an object or null');
  if (pp.type === 'BertProcessing') {
    const pairOf = (key: string): [string, number] => {
      const v = pp[key];
      if (!Array.isArray(v) || typeof v[0] !== 'string' || typeof v[1] !== 'number') throw fail(`post_processor.${key} must be ["token", id]`);
      return [v[0], v[1]];
    };
    const [sep, sepId] = pairOf('sep');
    const [cls, clsId] = pairOf('cls');
    return {
      single: [
        { kind: 'special', id: cls, typeId: 0 },
        { kind: 'sequence', sequence: 0, typeId: 0 },
        { kind: 'special', id: sep, typeId: 0 },
      ],
      pair: [
        { kind: 'special', id: cls, typeId: 0 },
        { kind: 'sequence', sequence: 0, typeId: 0 },
        { kind: 'special', id: sep, typeId: 0 },
        { kind: 'sequence', sequence: 1, typeId: 1 },
        { kind: 'special', id: sep, typeId: 1 },
      ],
      specialTokens: { [cls]: { id: cls, ids: [clsId], tokens: [cls] }, [sep]: { id: sep, ids: [sepId], tokens: [sep] } },
    };
  }
  if (pp.type !== 'TemplateProcessing') {
    throw fail(`post_processor ${JSON.stringify(pp.type)} is not supported; tuna implements TemplateProcessing and BertProcessing`);
  }
  const specialTokens: Record<string, TemplateSpecialToken> = {};
  const st = pp.special_tokens ?? {};
  if (!isObject(st)) throw fail('post_processor.special_tokens must be an object');
  for (const [name, v] of Object.entries(st)) {
    if (!isObject(v) || !Array.isArray(v.ids) || !v.ids.every((x) => Number.isInteger(x) && (x as number) >= 0)) {
      throw fail(`post_processor.special_tokens[${JSON.stringify(name)}] must have "ids" (a list of token ids)`);
    }
    const tokens = Array.isArray(v.tokens) ? v.tokens.map(String) : [];
    Object.defineProperty(specialTokens, name, {
      value: { id: typeof v.id === 'string' ? v.id : name, ids: v.ids as number[], tokens },
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  const template = (key: 'single' | 'pair'): TemplatePiece[] => {
    const raw = pp[key];
    const items: unknown[] = typeof raw === 'string' ? raw.split(/\s+/).filter(Boolean) : Array.isArray(raw) ? raw : [];
    if (items.length === 0) throw fail(`post_processor.${key} must be a non-empty template`);
    return items.map((item) => parsePiece(item, `post_processor.${key}`, fail));
  };
  const out: PostProcessorTemplate = { single: template('single'), pair: template('pair'), specialTokens };
  for (const p of [...out.single, ...out.pair]) {
    if (p.kind === 'special' && !Object.prototype.hasOwnProperty.call(specialTokens, p.id)) {
      throw fail(`post_processor template uses ${JSON.stringify(p.id)}, which post_processor.special_tokens does not define`);
    }
  }
  return out;
}

function parsePiece(item: unknown, where: string, fail: (p: string) => Error): TemplatePiece {
  if (typeof item === 'string') {
    const m = /^(.*?)(?::(\d+))?$/.exec(item)!;
    const name = m[1]!;
    const typeId = m[2] === undefined ? 0 : Number(m[2]);
    if (name === '$A' || name === '$' || name === '$0') return { kind: 'sequence', sequence: 0, typeId };
    if (name === '$B' || name === '$1') return { kind: 'sequence', sequence: 1, typeId };
    return { kind: 'special', id: name, typeId };
  }
  if (isObject(item) && isObject(item.Sequence)) {
    const s = item.Sequence;
    const typeId = typeof s.type_id === 'number' ? s.type_id : 0;
    if (s.id === 'A') return { kind: 'sequence', sequence: 0, typeId };
    if (s.id === 'B') return { kind: 'sequence', sequence: 1, typeId };
    throw fail(`${where}: sequence id must be "A" or "B", got ${JSON.stringify(s.id)}`);
  }
  if (isObject(item) && isObject(item.SpecialToken) && typeof item.SpecialToken.id === 'string') {
    const s = item.SpecialToken;
    return { kind: 'special', id: s.id as string, typeId: typeof s.type_id === 'number' ? s.type_id : 0 };
  }
  throw fail(`${where}: cannot read template piece ${JSON.stringify(item)}`);
}

/** tokenizer.json content for a tokenizer's state. */
export function buildTokenizerJson(state: TokenizerState): Json {
  const o = state.options;
  const vocab: Json = {};
  state.vocab.forEach((t, id) => {
    if (t !== undefined) Object.defineProperty(vocab, t, { value: id, enumerable: true, writable: true, configurable: true });
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: state.addedTokens.map((t) => ({
      id: t.id,
      content: t.content,
      single_word: t.singleWord,
      lstrip: t.lstrip,
      rstrip: t.rstrip,
      normalized: t.normalized,
      special: t.special,
    })),
    normalizer: { type: 'BertNormalizer', clean_text: o.cleanText, handle_chinese_chars: o.chineseChars, strip_accents: o.stripAccents ?? null, lowercase: o.lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: templateToJson(state.template),
    decoder: { type: 'WordPiece', prefix: o.continuingSubwordPrefix, cleanup: o.decoderCleanup },
    model: {
      type: 'WordPiece',
      unk_token: o.unkToken,
      continuing_subword_prefix: o.continuingSubwordPrefix,
      max_input_chars_per_word: o.maxInputCharsPerWord,
      vocab,
    },
  };
}
