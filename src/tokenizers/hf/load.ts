/**
 * Loading an HfTokenizer from a checkpoint directory: tokenizer.json with tokenizer_config.json and
 * special_tokens_map.json, or, without tokenizer.json, a SentencePiece model converted as
 * transformers converts it for the tokenizer class the config names.
 */
import { join } from 'node:path';
import { isTunaError } from '../../errors.js';
import { fileSystemError, readSmallFile } from '../../io/files.js';
import { TokenizerFileError } from '../errors.js';
import type { TokenizerConfig } from './config.js';
import type { SentencePieceFamily, SentencePieceOptions } from './sentencepiece.js';
import { HfTokenizer } from './tokenizer.js';

/** SentencePiece file names transformers' tokenizer classes use, and the family each implies. */
export const SENTENCEPIECE_FILES: readonly (readonly [string, SentencePieceFamily])[] = [
  ['sentencepiece.bpe.model', 'xlm-roberta'],
  ['spiece.model', 'albert'],
  ['spm.model', 'deberta-v2'],
  ['tokenizer.model', 'llama'],
];

const CLASS_FAMILIES: ReadonlyMap<string, SentencePieceFamily> = new Map([
  ['XLMRobertaTokenizer', 'xlm-roberta'],
  ['AlbertTokenizer', 'albert'],
  ['DebertaV2Tokenizer', 'deberta-v2'],
  ['LlamaTokenizer', 'llama'],
]);

const MAX_TOKENIZER_BYTES = 512 * 1024 * 1024;

async function read(path: string, maxBytes?: number): Promise<Uint8Array | undefined> {
  try {
    return await readSmallFile(path, { what: 'a tokenizer file', seekable: true, ...(maxBytes === undefined ? {} : { maxBytes }) });
  } catch (e) {
    if (isTunaError(e) && e.code === 'file_not_found') return undefined;
    throw fileSystemError(path, e, 'read');
  }
}

function parseJson(bytes: Uint8Array, file: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8').decode(bytes));
  } catch (e) {
    throw new TokenizerFileError(file, `is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
}

function asConfig(v: unknown, file: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TokenizerFileError(file, 'must hold a JSON object');
  return v as Record<string, unknown>;
}

function bool(config: TokenizerConfig, key: string): boolean | undefined {
  const v = config[key];
  return typeof v === 'boolean' ? v : undefined;
}

/**
 * The tokenizer of a checkpoint directory.
 *
 * @throws TokenizerFileError when the directory has neither tokenizer.json nor a SentencePiece
 *   model, or a file is malformed or describes something tuna cannot run.
 */
export async function loadHfTokenizer(dir: string): Promise<HfTokenizer> {
  const configFile = join(dir, 'tokenizer_config.json');
  const configBytes = await read(configFile);
  const config: Record<string, unknown> = configBytes ? { ...asConfig(parseJson(configBytes, configFile), configFile) } : {};
  const mapFile = join(dir, 'special_tokens_map.json');
  const mapBytes = await read(mapFile);
  if (mapBytes) {
    for (const [k, v] of Object.entries(asConfig(parseJson(mapBytes, mapFile), mapFile))) if (config[k] === undefined) config[k] = v;
  }
  const jsonFile = join(dir, 'tokenizer.json');
  const jsonBytes = await read(jsonFile, MAX_TOKENIZER_BYTES);
  if (jsonBytes) return HfTokenizer.fromJson(parseJson(jsonBytes, jsonFile), jsonFile, config, configFile);
  const cls = typeof config.tokenizer_class === 'string' ? config.tokenizer_class.replace(/Fast$/, '') : undefined;
  for (const [name, byName] of SENTENCEPIECE_FILES) {
    const file = join(dir, name);
    const bytes = await read(file, MAX_TOKENIZER_BYTES);
    if (!bytes) continue;
    const family = (cls && CLASS_FAMILIES.get(cls)) || byName;
    const opts: SentencePieceOptions = {
      family,
      ...(bool(config, 'do_lower_case') === undefined ? {} : { doLowerCase: bool(config, 'do_lower_case') }),
      ...(bool(config, 'keep_accents') === undefined ? {} : { keepAccents: bool(config, 'keep_accents') }),
      ...(bool(config, 'split_by_punct') === undefined ? {} : { splitByPunct: bool(config, 'split_by_punct') }),
      ...(bool(config, 'add_prefix_space') === undefined ? {} : { addPrefixSpace: bool(config, 'add_prefix_space') }),
      ...(bool(config, 'legacy') === undefined ? {} : { legacy: bool(config, 'legacy') }),
    };
    return HfTokenizer.fromSentencePiece(bytes, file, opts, config);
  }
  throw new TokenizerFileError(dir, `has neither tokenizer.json nor a SentencePiece model (${SENTENCEPIECE_FILES.map(([n]) => n).join(', ')})`, { code: 'file_not_found' });
}
