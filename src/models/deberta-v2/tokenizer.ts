/**
 * DeBERTa-v2/v3's tokenizer: SentencePiece (Unigram), from tokenizer.json or (without one) the
 * checkpoint's `spm.model`, read by {@link loadHfTokenizer}; a checkpoint with only a WordPiece
 * vocab.txt falls back to BertTokenizer.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BertTokenizer } from '../../tokenizers/bert-tokenizer.js';
import { SENTENCEPIECE_FILES, loadHfTokenizer } from '../../tokenizers/hf/load.js';
import type { Tokenizer } from '../heads.js';

/**
 * Loads the tokenizer of DeBERTa-v2 checkpoint directory `dir`.
 *
 * @throws TokenizerFileError naming the file when there is none or one is malformed.
 */
export async function loadDebertaV2Tokenizer(dir: string): Promise<Tokenizer> {
  const hasHf = existsSync(join(dir, 'tokenizer.json')) || SENTENCEPIECE_FILES.some(([name]) => existsSync(join(dir, name)));
  if (!hasHf && existsSync(join(dir, 'vocab.txt'))) return BertTokenizer.fromDirectory(dir);
  return loadHfTokenizer(dir);
}
