/**
 * Tokenizer directories: which files are read (tokenizer.json wins over vocab.txt, as in Hugging
 * Face), how they combine, and writing them back atomically.
 */
import { lstat, mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isTunaError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { fileSystemError, readSmallFile } from '../io/files.js';
import type { AddedTokenSpec } from './added-tokens.js';
import {
  type ConfigOptions,
  buildAddedTokensJson,
  buildSpecialTokensMap,
  buildTokenizerConfig,
  parseAddedTokensJson,
  parseSpecialTokensMap,
  parseTokenizerConfig,
} from './config-files.js';
import { TokenizerFileError } from './errors.js';
import type { BertTokenizerOptions, TokenizerState } from './options.js';
import { buildTokenizerJson, parseTokenizerJson } from './tokenizer-json.js';
import { formatVocabTxt, parseVocabTxt } from './vocab-file.js';

/** The files a tokenizer directory may hold. */
export const TOKENIZER_FILES = ['tokenizer.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json', 'added_tokens.json'] as const;

/** Contents of tokenizer files by name (text, or bytes decoded as UTF-8); absent files undefined. */
export type TokenizerFiles = Readonly<Partial<Record<(typeof TOKENIZER_FILES)[number], string | Uint8Array>>>;

/** A vocabulary and options ready for the BertTokenizer constructor. */
export interface TokenizerSpec {
  readonly vocab: string[] | Map<string, number>;
  readonly options: Partial<BertTokenizerOptions>;
  /** The file the vocabulary came from (for error messages). */
  readonly file: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function text(files: TokenizerFiles, name: (typeof TOKENIZER_FILES)[number], source: string): string | undefined {
  const v = files[name];
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  try {
    return utf8.decode(v);
  } catch {
    throw new TokenizerFileError(join(source, name), 'is not valid UTF-8; re-save it as UTF-8 text');
  }
}

function json(files: TokenizerFiles, name: (typeof TOKENIZER_FILES)[number], source: string): unknown {
  const t = text(files, name, source);
  if (t === undefined) return undefined;
  if (t.trim() === '') throw new TokenizerFileError(join(source, name), 'is empty; restore it from the original checkpoint or re-save the tokenizer');
  try {
    return JSON.parse(t);
  } catch (e) {
    throw new TokenizerFileError(join(source, name), `is not valid JSON (${(e as Error).message}); restore it from the original checkpoint or re-save the tokenizer`);
  }
}

/** Adds `extra` added tokens whose content `base` does not have yet. */
function mergeAdded(base: readonly AddedTokenSpec[] | undefined, ...extra: (readonly AddedTokenSpec[] | undefined)[]): AddedTokenSpec[] | undefined {
  const out = [...(base ?? [])];
  for (const list of extra) for (const t of list ?? []) if (!out.some((o) => o.content === t.content)) out.push(t);
  return out.length ? out : undefined;
}

/**
 * Combines tokenizer files the way transformers' BertTokenizerFast does: tokenizer.json, when
 * present, defines normalisation, vocabulary, added tokens and the post-processor; otherwise
 * vocab.txt with tokenizer_config.json does. tokenizer_config.json contributes model_max_length,
 * special-token names, sides and clean-up, and its explicit do_lower_case / strip_accents /
 * tokenize_chinese_chars override tokenizer.json's BertNormalizer; special_tokens_map.json's
 * special-token names override tokenizer_config.json's.
 */
export function specFromFiles(files: TokenizerFiles, source: string): TokenizerSpec {
  const cfgRaw = json(files, 'tokenizer_config.json', source);
  const cfg: ConfigOptions = cfgRaw === undefined ? {} : parseTokenizerConfig(cfgRaw, join(source, 'tokenizer_config.json'));
  const mapRaw = json(files, 'special_tokens_map.json', source);
  const names = mapRaw === undefined ? {} : parseSpecialTokensMap(mapRaw, join(source, 'special_tokens_map.json'));
  const addedRaw = json(files, 'added_tokens.json', source);
  const addedJson = addedRaw === undefined ? undefined : parseAddedTokensJson(addedRaw, join(source, 'added_tokens.json'));
  const { explicitNormalizer, ...config } = cfg;

  const tjRaw = json(files, 'tokenizer.json', source);
  if (tjRaw !== undefined) {
    const file = join(source, 'tokenizer.json');
    const parsed = parseTokenizerJson(tjRaw, file);
    const options: Partial<BertTokenizerOptions> = {
      ...parsed.options,
      ...(parsed.bertNormalizer ? explicitNormalizer : {}),
      modelMaxLength: config.modelMaxLength,
      cleanUpTokenizationSpaces: config.cleanUpTokenizationSpaces,
      paddingSide: config.paddingSide,
      truncationSide: config.truncationSide,
      clsToken: names.clsToken ?? config.clsToken,
      sepToken: names.sepToken ?? config.sepToken,
      padToken: names.padToken ?? config.padToken,
      maskToken: names.maskToken ?? config.maskToken,
      additionalSpecialTokens: names.additionalSpecialTokens ?? config.additionalSpecialTokens,
      neverSplit: config.neverSplit,
      addedTokens: mergeAdded(parsed.options.addedTokens, config.addedTokens, addedJson),
    };
    return { vocab: parsed.vocab, options, file };
  }

  const vocabText = text(files, 'vocab.txt', source);
  if (vocabText === undefined) {
    throw new TokenizerFileError(
      source,
      'has neither tokenizer.json nor vocab.txt; a BERT tokenizer needs one of them (copy them from the checkpoint the model came from, or write them with BertTokenizer.save)',
    );
  }
  const file = join(source, 'vocab.txt');
  const vocab = parseVocabTxt(vocabText);
  if (vocab.length === 0) throw new TokenizerFileError(file, 'is empty; it must list one token per line, [PAD], [UNK], [CLS], [SEP] and [MASK] included');
  const options: Partial<BertTokenizerOptions> = {
    ...config,
    ...names,
    addedTokens: mergeAdded(config.addedTokens, addedJson),
  };
  return { vocab, options, file };
}

/**
 * The bytes of tokenizer file `name` of `dir`, or undefined when there is none. Each file is read
 * with a size cap; devices (a link to /dev/zero), directories and unreachable paths are refused
 * naming the file (a TunaError: `file_unreadable`, `too_large`, `file_system`).
 */
async function readTokenizerFile(dir: string, name: (typeof TOKENIZER_FILES)[number]): Promise<Uint8Array | undefined> {
  const path = join(dir, name);
  try {
    // A file of a tokenizer directory is never a stream: a named pipe there is refused at once.
    return await readSmallFile(path, { what: 'a tokenizer file', seekable: true });
  } catch (e) {
    if (isTunaError(e) && e.code === 'file_not_found') {
      if (!(await isLink(path))) return undefined;
      throw new TokenizerFileError(path, 'is a symbolic link to nothing; fix or remove the link', { code: 'file_not_found', cause: e });
    }
    throw fileSystemError(path, e, 'read');
  }
}

async function isLink(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Reads the tokenizer files of `dir` (see {@link specFromFiles}). */
export async function loadTokenizerDirectory(dir: string): Promise<TokenizerSpec> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new TokenizerFileError(dir, 'does not exist; pass the directory that holds vocab.txt or tokenizer.json', { code: 'file_not_found', cause: e });
    }
    throw fileSystemError(dir, e, 'read the tokenizer directory');
  }
  if (!info.isDirectory()) throw new TokenizerFileError(dir, 'is not a directory; pass the directory that holds vocab.txt or tokenizer.json');
  const files: Partial<Record<(typeof TOKENIZER_FILES)[number], Uint8Array>> = {};
  const wanted: (typeof TOKENIZER_FILES)[number][] = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'added_tokens.json'];
  for (const name of wanted) {
    const bytes = await readTokenizerFile(dir, name);
    if (bytes) files[name] = bytes;
  }
  if (!files['tokenizer.json']) {
    const bytes = await readTokenizerFile(dir, 'vocab.txt');
    if (bytes) files['vocab.txt'] = bytes;
  }
  return specFromFiles(files, dir);
}

/**
 * The text of every tokenizer file for `state`: vocab.txt, tokenizer_config.json,
 * special_tokens_map.json, tokenizer.json, and added_tokens.json when tokens lie beyond the vocabulary.
 */
export function tokenizerFileContents(state: TokenizerState): Record<string, string> {
  const hole = state.vocab.findIndex((t) => t === undefined);
  if (hole >= 0) {
    throw new TokenizerFileError('vocab.txt', `cannot represent a vocabulary that has no token with id ${hole}; ids must run from 0 without gaps`);
  }
  const bad = (state.vocab as string[]).find((t) => /[\r\n]/.test(t));
  if (bad !== undefined) throw new TokenizerFileError('vocab.txt', `cannot hold the token ${JSON.stringify(bad)}, which contains a line break`);
  const out: Record<string, string> = {
    'vocab.txt': formatVocabTxt(state.vocab as string[]),
    'tokenizer_config.json': JSON.stringify(buildTokenizerConfig(state), null, 2) + '\n',
    'special_tokens_map.json': JSON.stringify(buildSpecialTokensMap(state), null, 2) + '\n',
    'tokenizer.json': JSON.stringify(buildTokenizerJson(state), null, 2) + '\n',
  };
  const added = buildAddedTokensJson(state);
  if (added) out['added_tokens.json'] = JSON.stringify(added, null, 2) + '\n';
  return out;
}

/** Writes the tokenizer files of `state` into `dir` (created if needed), each atomically. */
export async function saveTokenizerDirectory(dir: string, state: TokenizerState): Promise<void> {
  const contents = tokenizerFileContents(state);
  await mkdir(dir, { recursive: true });
  const enc = new TextEncoder();
  for (const [name, body] of Object.entries(contents)) await writeFileAtomic(join(dir, name), enc.encode(body));
  if (!('added_tokens.json' in contents)) await rm(join(dir, 'added_tokens.json'), { force: true });
}
