/**
 * ALBERT's tokenizer: SentencePiece Unigram, from tokenizer.json or (without one) the checkpoint's
 * `spiece.model`, read by {@link loadHfTokenizer}; a checkpoint with only a WordPiece vocab.txt
 * falls back to BertTokenizer.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileSystemError } from '../../io/files.js';
import { BertTokenizer } from '../../tokenizers/bert-tokenizer.js';
import { SENTENCEPIECE_FILES, loadHfTokenizer } from '../../tokenizers/hf/load.js';
import type { Tokenizer } from '../heads.js';

/** The files of a tokenizer.json or SentencePiece tokenizer, copied as they are when it is saved. */
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'added_tokens.json', ...SENTENCEPIECE_FILES.map(([name]) => name)];

/**
 * Copies the tokenizer files of `from` into `to`; a `modelMaxLength` set since loading (`tuna
 * train --max-length`) is written to tokenizer_config.json's `model_max_length`.
 */
async function saveTokenizerFiles(from: string, to: string, modelMaxLength: number | undefined): Promise<void> {
  await mkdir(to, { recursive: true }).catch((e) => {
    throw fileSystemError(to, e, 'create');
  });
  for (const name of TOKENIZER_FILES) {
    if (!existsSync(join(from, name))) continue;
    await copyFile(join(from, name), join(to, name)).catch((e) => {
      throw fileSystemError(join(to, name), e, 'write');
    });
  }
  if (modelMaxLength === undefined) return;
  const file = join(to, 'tokenizer_config.json');
  const config = existsSync(file) ? (JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>) : {};
  if (config.model_max_length === modelMaxLength) return;
  await writeFile(file, `${JSON.stringify({ ...config, model_max_length: modelMaxLength }, null, 2)}\n`).catch((e) => {
    throw fileSystemError(file, e, 'write');
  });
}

/**
 * Loads the tokenizer of ALBERT checkpoint directory `dir`. Its `save(dir)` copies the tokenizer
 * files (with the current `model_max_length`).
 *
 * @throws TokenizerFileError naming the file when there is none or one is malformed.
 */
export async function loadAlbertTokenizer(dir: string): Promise<Tokenizer> {
  const hasHf = existsSync(join(dir, 'tokenizer.json')) || SENTENCEPIECE_FILES.some(([name]) => existsSync(join(dir, name)));
  if (!hasHf && existsSync(join(dir, 'vocab.txt'))) return BertTokenizer.fromDirectory(dir);
  const tokenizer = await loadHfTokenizer(dir);
  const save = (to: string) => saveTokenizerFiles(dir, to, tokenizer.modelMaxLength);
  // HfTokenizer has the encode/decode surface the pipelines use on a BertTokenizer; saving copies its files.
  return Object.assign(tokenizer, { save }) as unknown as Tokenizer;
}
