/**
 * transformers' tokenizer side files: tokenizer_config.json, special_tokens_map.json and
 * added_tokens.json, read into tokenizer options and written from a tokenizer's state.
 */
import type { AddedTokenSpec } from './added-tokens.js';
import { TokenizerFileError } from './errors.js';
import type { BertTokenizerOptions, TokenizerState } from './options.js';

type Json = Record<string, unknown>;

/** Special-token names and the options they set. */
const SPECIAL_KEYS = [
  ['unk_token', 'unkToken'],
  ['cls_token', 'clsToken'],
  ['sep_token', 'sepToken'],
  ['pad_token', 'padToken'],
  ['mask_token', 'maskToken'],
] as const;

/** transformers writes this for "no limit"; anything this large means the same. */
const NO_LIMIT = 1e12;

/** Options read from tokenizer_config.json; `explicit*` tell which normaliser settings the file states. */
export interface ConfigOptions extends Partial<BertTokenizerOptions> {
  readonly explicitNormalizer?: Partial<Pick<BertTokenizerOptions, 'lowercase' | 'stripAccents' | 'chineseChars'>>;
}

export function isObject(x: unknown): x is Json {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** A special token given as a string or as an AddedToken dict (`{"content": ...}`). */
function tokenContent(value: unknown, file: string, key: string): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value.content === 'string') return value.content;
  throw new TokenizerFileError(file, `${key} must be a string or an object with a "content" string, got ${JSON.stringify(value)}`);
}

function bool(cfg: Json, key: string, file: string): boolean | undefined {
  const v = cfg[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new TokenizerFileError(file, `${key} must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function side(cfg: Json, key: string, file: string): 'left' | 'right' | undefined {
  const v = cfg[key];
  if (v === undefined || v === null) return undefined;
  if (v !== 'left' && v !== 'right') throw new TokenizerFileError(file, `${key} must be "left" or "right", got ${JSON.stringify(v)}`);
  return v;
}

function tokenList(value: unknown, file: string, key: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new TokenizerFileError(file, `${key} must be a list of tokens, got ${JSON.stringify(value)}`);
  return value.map((v, i) => tokenContent(v, file, `${key}[${i}]`)!).filter((t) => t !== undefined);
}

/** Added-token flags of an AddedToken dict. */
function addedTokenSpec(value: Json, id: number | undefined, file: string, where: string): AddedTokenSpec {
  if (typeof value.content !== 'string') throw new TokenizerFileError(file, `${where}.content must be a string`);
  const flag = (k: string) => {
    const v = value[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') throw new TokenizerFileError(file, `${where}.${k} must be true or false, got ${JSON.stringify(v)}`);
    return v;
  };
  const spec: { -readonly [K in keyof AddedTokenSpec]: AddedTokenSpec[K] } = { content: value.content };
  if (id !== undefined) spec.id = id;
  const special = flag('special');
  const normalized = flag('normalized');
  const lstrip = flag('lstrip');
  const rstrip = flag('rstrip');
  const singleWord = flag('single_word');
  if (special !== undefined) spec.special = special;
  if (normalized !== undefined) spec.normalized = normalized;
  if (lstrip !== undefined) spec.lstrip = lstrip;
  if (rstrip !== undefined) spec.rstrip = rstrip;
  if (singleWord !== undefined) spec.singleWord = singleWord;
  return spec;
}

/** Parses an added-token list entry of tokenizer.json (`{"id", "content", ...}`). */
export function parseAddedTokenEntry(value: unknown, file: string, where: string): AddedTokenSpec {
  if (!isObject(value)) throw new TokenizerFileError(file, `${where} must be an object with "id" and "content"`);
  const id = value.id;
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw new TokenizerFileError(file, `${where}.id must be a non-negative integer, got ${JSON.stringify(id)}`);
  return addedTokenSpec(value, id, file, where);
}

/** Options from tokenizer_config.json (transformers' `init_kwargs`). */
export function parseTokenizerConfig(json: unknown, file: string): ConfigOptions {
  if (!isObject(json)) throw new TokenizerFileError(file, 'must hold a JSON object (transformers tokenizer settings such as "do_lower_case")');
  const out: Record<string, unknown> = {};
  const explicit: Record<string, unknown> = {};
  const lowercase = bool(json, 'do_lower_case', file);
  if (lowercase !== undefined) out.lowercase = explicit.lowercase = lowercase;
  if ('strip_accents' in json) {
    const v = json.strip_accents;
    if (v !== null && typeof v !== 'boolean') throw new TokenizerFileError(file, `strip_accents must be true, false or null, got ${JSON.stringify(v)}`);
    out.stripAccents = explicit.stripAccents = v ?? undefined;
  }
  const chinese = bool(json, 'tokenize_chinese_chars', file);
  if (chinese !== undefined) out.chineseChars = explicit.chineseChars = chinese;
  const mml = json.model_max_length;
  if (mml !== undefined && mml !== null) {
    if (typeof mml !== 'number' || !(mml > 0)) throw new TokenizerFileError(file, `model_max_length must be a positive number, got ${JSON.stringify(mml)}`);
    if (mml < NO_LIMIT) out.modelMaxLength = Math.floor(mml);
  }
  const cleanUp = bool(json, 'clean_up_tokenization_spaces', file);
  if (cleanUp !== undefined) out.cleanUpTokenizationSpaces = cleanUp;
  const paddingSide = side(json, 'padding_side', file);
  if (paddingSide) out.paddingSide = paddingSide;
  const truncationSide = side(json, 'truncation_side', file);
  if (truncationSide) out.truncationSide = truncationSide;
  Object.assign(out, specialTokenNames(json, file));
  const neverSplit = tokenList(json.never_split, file, 'never_split');
  if (neverSplit) out.neverSplit = neverSplit;
  const decoder = json.added_tokens_decoder;
  if (decoder !== undefined && decoder !== null) {
    if (!isObject(decoder)) throw new TokenizerFileError(file, 'added_tokens_decoder must map ids to added-token objects');
    out.addedTokens = Object.entries(decoder).map(([k, v]) => {
      const id = Number(k);
      if (!Number.isInteger(id) || id < 0) throw new TokenizerFileError(file, `added_tokens_decoder key ${JSON.stringify(k)} is not a token id`);
      if (!isObject(v)) throw new TokenizerFileError(file, `added_tokens_decoder[${k}] must be an object with "content"`);
      return addedTokenSpec(v, id, file, `added_tokens_decoder[${k}]`);
    });
  }
  if (Object.keys(explicit).length > 0) out.explicitNormalizer = explicit;
  return out as ConfigOptions;
}

/** Special-token names (unk/cls/sep/pad/mask and additional_special_tokens) of a config or special_tokens_map.json. */
export function specialTokenNames(json: Json, file: string): Partial<BertTokenizerOptions> {
  const out: Record<string, unknown> = {};
  for (const [key, opt] of SPECIAL_KEYS) {
    const v = tokenContent(json[key], file, key);
    if (v !== undefined) out[opt] = v;
  }
  const extra = tokenList(json.additional_special_tokens, file, 'additional_special_tokens');
  if (extra) out.additionalSpecialTokens = extra;
  return out;
}

/** Options from special_tokens_map.json. */
export function parseSpecialTokensMap(json: unknown, file: string): Partial<BertTokenizerOptions> {
  if (!isObject(json)) throw new TokenizerFileError(file, 'must hold a JSON object mapping names such as "cls_token" to tokens');
  return specialTokenNames(json, file);
}

/** Added tokens from added_tokens.json (`{"token": id}`). */
export function parseAddedTokensJson(json: unknown, file: string): AddedTokenSpec[] {
  if (!isObject(json)) throw new TokenizerFileError(file, 'must hold a JSON object mapping added tokens to their ids');
  return Object.entries(json).map(([content, id]) => {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0)
      throw new TokenizerFileError(file, `the id of ${JSON.stringify(content)} must be a non-negative integer, got ${JSON.stringify(id)}`);
    return { content, id };
  });
}

function specialNames(state: TokenizerState): Json {
  const o = state.options;
  const out: Json = { cls_token: o.clsToken, mask_token: o.maskToken, pad_token: o.padToken, sep_token: o.sepToken, unk_token: o.unkToken };
  if (o.additionalSpecialTokens?.length) out.additional_special_tokens = [...o.additionalSpecialTokens];
  return out;
}

/** special_tokens_map.json content. */
export function buildSpecialTokensMap(state: TokenizerState): Json {
  return specialNames(state);
}

/** tokenizer_config.json content, as transformers writes it for a BertTokenizer. */
export function buildTokenizerConfig(state: TokenizerState): Json {
  const o = state.options;
  const decoder = Object.fromEntries(
    state.addedTokens.map((t) => [
      String(t.id),
      { content: t.content, lstrip: t.lstrip, normalized: t.normalized, rstrip: t.rstrip, single_word: t.singleWord, special: t.special },
    ]),
  );
  const cfg: Json = {
    added_tokens_decoder: decoder,
    clean_up_tokenization_spaces: o.cleanUpTokenizationSpaces,
    do_lower_case: o.lowercase,
    strip_accents: o.stripAccents ?? null,
    tokenize_chinese_chars: o.chineseChars,
    ...specialNames(state),
  };
  if (o.neverSplit?.length) cfg.never_split = [...o.neverSplit];
  if (o.modelMaxLength !== undefined) cfg.model_max_length = o.modelMaxLength;
  if (o.paddingSide !== 'right') cfg.padding_side = o.paddingSide;
  if (o.truncationSide !== 'right') cfg.truncation_side = o.truncationSide;
  cfg.tokenizer_class = 'BertTokenizer';
  return cfg;
}

/** added_tokens.json content: tokens whose ids lie beyond the model vocabulary; undefined when there are none. */
export function buildAddedTokensJson(state: TokenizerState): Json | undefined {
  const beyond = state.addedTokens.filter((t) => t.id >= state.vocab.length || state.vocab[t.id] !== t.content);
  return beyond.length ? Object.fromEntries(beyond.map((t) => [t.content, t.id])) : undefined;
}
