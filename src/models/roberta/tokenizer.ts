/**
 * The tokenizer of a byte-level BPE or Unigram checkpoint (RoBERTa, XLM-RoBERTa): tokenizer.json
 * with tokenizer_config.json beside it, read by {@link HfTokenizer}; a WordPiece checkpoint with
 * only vocab.txt falls back to BertTokenizer.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TunaError } from '../../errors.js';
import { readSmallTextFile } from '../../io/files.js';
import { BertTokenizer } from '../../tokenizers/bert-tokenizer.js';
import { HfTokenizer } from '../../tokenizers/hf/tokenizer.js';
import type { Tokenizer } from '../heads.js';

/** The most bytes a tokenizer.json may have (XLM-R's is 17 MB). */
const MAX_TOKENIZER_JSON_BYTES = 256 * 1024 * 1024;

async function readJson(path: string, maxBytes?: number): Promise<unknown> {
  const text = await readSmallTextFile(path, { what: 'tokenizer file', ...(maxBytes ? { maxBytes } : {}) });
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TunaError('invalid_tokenizer', `${path}: is not valid JSON (${(e as Error).message})`, { file: path, cause: e });
  }
}

/**
 * Loads the tokenizer of checkpoint directory `dir` from tokenizer.json (and tokenizer_config.json
 * when present); without tokenizer.json, from vocab.txt as BertTokenizer does.
 *
 * @throws TunaError (`invalid_tokenizer`, `file_not_found`) naming the file.
 */
export async function loadHfTokenizer(dir: string): Promise<Tokenizer> {
  const file = join(dir, 'tokenizer.json');
  if (!existsSync(file)) {
    if (existsSync(join(dir, 'vocab.txt'))) return BertTokenizer.fromDirectory(dir);
    throw new TunaError('invalid_tokenizer', `${file}: no such file; this checkpoint needs its tokenizer.json`, { file });
  }
  const configFile = join(dir, 'tokenizer_config.json');
  const config = existsSync(configFile) ? await readJson(configFile) : undefined;
  if (config !== undefined && (typeof config !== 'object' || config === null || Array.isArray(config))) {
    throw new TunaError('invalid_tokenizer', `${configFile}: expected a JSON object`, { file: configFile });
  }
  const tokenizer = HfTokenizer.fromJson(await readJson(file, MAX_TOKENIZER_JSON_BYTES), file, config as Record<string, unknown> | undefined, configFile);
  // HfTokenizer has the encode/decode surface the pipelines use on a BertTokenizer.
  return tokenizer as unknown as Tokenizer;
}
