/**
 * The tokenizer of a byte-level BPE or Unigram checkpoint (RoBERTa, XLM-RoBERTa): tokenizer.json
 * (or a SentencePiece model) read by {@link loadHfTokenizer}; a checkpoint with only a WordPiece
 * vocab.txt falls back to BertTokenizer.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BertTokenizer } from '../../tokenizers/bert-tokenizer.js';
import { SENTENCEPIECE_FILES, loadHfTokenizer } from '../../tokenizers/hf/load.js';
import type { Tokenizer } from '../heads.js';

/**
 * Loads the tokenizer of checkpoint directory `dir`.
 *
 * @throws TokenizerFileError naming the file when none is there or one is malformed.
 */
export async function loadRobertaTokenizer(dir: string): Promise<Tokenizer> {
  const hasHf = existsSync(join(dir, 'tokenizer.json')) || SENTENCEPIECE_FILES.some(([name]) => existsSync(join(dir, name)));
  if (!hasHf && existsSync(join(dir, 'vocab.txt'))) return BertTokenizer.fromDirectory(dir);
  return loadHfTokenizer(dir);
}
