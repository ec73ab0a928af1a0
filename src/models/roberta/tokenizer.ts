/**
 * The tokenizer of a byte-level BPE or Unigram checkpoint (RoBERTa, XLM-RoBERTa): tokenizer.json
 * (or a SentencePiece model) read by {@link loadHfTokenizer}; a checkpoint with only a WordPiece
 * vocab.txt falls back to BertTokenizer.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readSmallTextFile } from '../../io/files.js';
import { BertTokenizer } from '../../tokenizers/bert-tokenizer.js';
import { SENTENCEPIECE_FILES, loadHfTokenizer } from '../../tokenizers/hf/load.js';
import type { Tokenizer } from '../heads.js';

/**
 * The longest sequence the model in `dir` embeds (positions run from pad_token_id + 1, so
 * max_position_embeddings - pad_token_id - 1), or undefined when its config.json does not say.
 */
async function embeddedLength(dir: string): Promise<number | undefined> {
  const file = join(dir, 'config.json');
  if (!existsSync(file)) return undefined;
  try {
    const raw = JSON.parse(await readSmallTextFile(file, { what: 'the model configuration' })) as Record<string, unknown>;
    const positions = raw.max_position_embeddings ?? 512;
    const pad = raw.pad_token_id ?? 1;
    if (typeof positions !== 'number' || typeof pad !== 'number' || !(positions - pad - 1 >= 1)) return undefined;
    return positions - pad - 1;
  } catch {
    // A broken config.json is reported where the model is loaded.
    return undefined;
  }
}

/**
 * Loads the tokenizer of checkpoint directory `dir`. Its `modelMaxLength` is at most the length
 * the model's positions cover (514 positions with padding index 1: 512 tokens), so that inputs cut
 * to the tokenizer's length always fit the position embeddings.
 *
 * @throws TokenizerFileError naming the file when none is there or one is malformed.
 */
export async function loadRobertaTokenizer(dir: string): Promise<Tokenizer> {
  const hasHf = existsSync(join(dir, 'tokenizer.json')) || SENTENCEPIECE_FILES.some(([name]) => existsSync(join(dir, name)));
  if (!hasHf && existsSync(join(dir, 'vocab.txt'))) return BertTokenizer.fromDirectory(dir);
  const tokenizer = await loadHfTokenizer(dir);
  const limit = await embeddedLength(dir);
  if (limit !== undefined && (tokenizer.modelMaxLength === undefined || tokenizer.modelMaxLength > limit)) tokenizer.modelMaxLength = limit;
  return tokenizer;
}
