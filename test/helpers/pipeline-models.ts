// Checkpoints for the pipeline tests.
//
// `writeTokenLogitModel` writes a BertForTokenClassification whose logits are chosen per vocabulary
// entry: no encoder layers, zero position and token-type embeddings, one-hot word embeddings, so
// the hidden state of a token depends on the token alone, and a classifier that maps each token's
// hidden state to the logits given for it. Expected entities then follow by hand from those logits.
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AutoModelForSequenceClassification } from '../../src/models/auto.js';
import { bertConfig, bertConfigToJson } from '../../src/models/bert/config.js';
import { bertParameters } from '../../src/models/bert/parameters.js';
import { writeSafetensors, type NamedTensor } from '../../src/io/safetensors.js';
import { BertTokenizer } from '../../src/tokenizers/bert-tokenizer.js';
import { tempDirSync } from './temp.js';

export const BUNDLED_EN = new URL('../../models/tuna-small-en/', import.meta.url).pathname;

/** A new temporary directory, removed when the test process exits (see helpers/temp.ts). */
export async function tempDir(prefix: string): Promise<string> {
  return tempDirSync(prefix);
}

/** Copies the tokenizer files of `from` into `to`. */
export async function copyTokenizer(from: string, to: string): Promise<void> {
  for (const f of ['vocab.txt', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) await cp(join(from, f), join(to, f));
}

/** A sequence classifier on the bundled English model (random head, seeded) with the given labels. */
export async function writeSequenceClassifier(dir: string, id2label: Record<string, string>, problemType?: 'multi_label_classification'): Promise<string> {
  const model = await AutoModelForSequenceClassification.fromPretrained(BUNDLED_EN, { id2label, problemType, seed: 7 });
  await model.savePretrained(dir);
  await copyTokenizer(BUNDLED_EN, dir);
  return dir;
}

/**
 * Writes a token classifier over `vocab` (which starts with the special tokens) whose logits for
 * token `t` are `logits[t]` (all zeros for tokens not listed).
 */
export async function writeTokenLogitModel(
  dir: string,
  vocab: readonly string[],
  labels: readonly string[],
  logits: Readonly<Record<string, readonly number[]>>,
  opts: { maxPositions?: number; modelMaxLength?: number } = {},
): Promise<string> {
  const V = vocab.length;
  const H = V + 2;
  const n = labels.length;
  const config = bertConfig({
    vocab_size: V,
    hidden_size: H,
    num_hidden_layers: 0,
    num_attention_heads: 1,
    intermediate_size: 4,
    max_position_embeddings: opts.maxPositions ?? 64,
    id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
  });
  const tensors = new Map<string, NamedTensor>();
  for (const { name, shape } of bertParameters(config, 'token-classification')) {
    tensors.set(name, { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
  }
  const values = (name: string) => tensors.get(name)!.data as Float32Array;
  for (let i = 0; i < V; i++) values('bert.embeddings.word_embeddings.weight')[i * H + i] = 1;
  values('bert.embeddings.LayerNorm.weight').fill(1);
  // LayerNorm turns the one-hot e_i into c * (e_i - 1/H) with c = 1/sqrt(var(e_i) + eps).
  const c = 1 / Math.sqrt((1 / H) * (1 - 1 / H) + config.layer_norm_eps);
  const W = values('classifier.weight');
  const b = values('classifier.bias');
  vocab.forEach((token, i) => {
    const z = logits[token];
    if (z) for (let l = 0; l < n; l++) W[l * H + i] = z[l]! / c;
  });
  // W_l . c(e_i - 1/H) = c W_li - (c/H) sum_k W_lk: the bias cancels the second term.
  for (let l = 0; l < n; l++) {
    let sum = 0;
    for (let k = 0; k < H; k++) sum += W[l * H + k]!;
    b[l] = (c / H) * sum;
  }
  await mkdir(dir, { recursive: true });
  await writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  await writeFile(join(dir, 'config.json'), JSON.stringify(bertConfigToJson(config, 'BertForTokenClassification'), null, 2));
  await new BertTokenizer(vocab, { modelMaxLength: opts.modelMaxLength }).save(dir);
  return dir;
}
