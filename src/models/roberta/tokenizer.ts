/**
 * The tokenizer of a byte-level BPE or Unigram checkpoint (RoBERTa, XLM-RoBERTa): tokenizer.json
 * (or a SentencePiece model) read by {@link loadHfTokenizer}; a checkpoint with only a WordPiece
 * vocab.txt falls back to BertTokenizer.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileSystemError } from '../../io/files.js';
import { BertTokenizer } from '../../tokenizers/bert-tokenizer.js';
import { SENTENCEPIECE_FILES, loadHfTokenizer } from '../../tokenizers/hf/load.js';
import type { Tokenizer } from '../heads.js';

/** The files a tokenizer.json checkpoint's tokenizer consists of, copied as they are when it is saved. */
const HF_TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'added_tokens.json', ...SENTENCEPIECE_FILES.map(([name]) => name)];

/** Copies the tokenizer files of `from` into `to` (what the Trainer's checkpoints and final model carry). */
async function copyTokenizerFiles(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true }).catch((e) => {
    throw fileSystemError(to, e, 'create');
  });
  for (const name of HF_TOKENIZER_FILES) {
    if (!existsSync(join(from, name))) continue;
    await copyFile(join(from, name), join(to, name)).catch((e) => {
      throw fileSystemError(join(to, name), e, 'write');
    });
  }
}

/**
 * Loads the tokenizer of checkpoint directory `dir`. Its `save(dir)` copies the checkpoint's
 * tokenizer files unchanged.
 *
 * @throws TokenizerFileError naming the file when none is there or one is malformed.
 */
export async function loadRobertaTokenizer(dir: string): Promise<Tokenizer> {
  const hasHf = existsSync(join(dir, 'tokenizer.json')) || SENTENCEPIECE_FILES.some(([name]) => existsSync(join(dir, name)));
  if (!hasHf && existsSync(join(dir, 'vocab.txt'))) return BertTokenizer.fromDirectory(dir);
  const tokenizer = await loadHfTokenizer(dir);
  const save = (to: string) => copyTokenizerFiles(dir, to);
  // HfTokenizer has the encode/decode surface the pipelines use on a BertTokenizer; saving copies the files.
  return Object.assign(tokenizer, { save }) as unknown as Tokenizer;
}
