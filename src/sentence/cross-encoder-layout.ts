/**
 * The directory layout of sentence-transformers' CrossEncoder: a Hugging Face sequence classifier
 * (config.json, weights, tokenizer) plus the activation `predict` applies to its logits.
 * sentence-transformers 6 keeps the activation in config_sentence_transformers.json (`activation_fn`,
 * `model_type: "CrossEncoder"`) beside modules.json and sentence_bert_config.json;
 * sentence-transformers 4 and 5 in config.json's `sentence_transformers` block (`activation_fn`,
 * `version`); earlier versions in config.json's `sbert_ce_default_activation_function`. tuna reads
 * all three and writes the first two, so that every sentence-transformers from 4 on loads what tuna
 * writes with the same activation.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { TunaError } from '../errors.js';

/** The activations tuna applies to a cross-encoder's logits, by their PyTorch class paths. */
export const CROSS_ENCODER_ACTIVATIONS = {
  identity: 'torch.nn.modules.linear.Identity',
  sigmoid: 'torch.nn.modules.activation.Sigmoid',
  tanh: 'torch.nn.modules.activation.Tanh',
  relu: 'torch.nn.modules.activation.ReLU',
} as const;
export type CrossEncoderActivation = keyof typeof CROSS_ENCODER_ACTIVATIONS;

/** Where a cross-encoder's activation was read from. */
export type CrossEncoderLayoutSource = 'config_sentence_transformers.json' | 'config.json' | 'config.json (legacy)' | 'default';

/** What a directory says about its cross-encoder. */
export interface CrossEncoderLayout {
  /** Applied to the logits by `predict` and `rank` (sentence-transformers' `activation_fn`). */
  readonly activation: CrossEncoderActivation;
  /** Where the activation came from (`default`: none given; Sigmoid for one label, else Identity). */
  readonly source: CrossEncoderLayoutSource;
  /** Whether the directory was written as a cross-encoder (any of the three layouts). */
  readonly isCrossEncoder: boolean;
}

/** sentence-transformers' default: Sigmoid for one label, Identity for several. */
export function defaultActivation(numLabels: number): CrossEncoderActivation {
  return numLabels === 1 ? 'sigmoid' : 'identity';
}

function layoutError(file: string, message: string, field: string): TunaError {
  return new TunaError('invalid_model', `${file}: ${message}`, { file, field });
}

async function readJsonObject(file: string): Promise<Record<string, unknown> | undefined> {
  if (!existsSync(file)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new TunaError('invalid_model', `${file}: is not valid JSON (${(e as Error).message}); re-save the model with sentence-transformers or tuna`, { file, cause: e });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new TunaError('invalid_model', `${file}: must be a JSON object`, { file });
  return value as Record<string, unknown>;
}

/** The activation named by a PyTorch class path (`torch.nn.modules.activation.Sigmoid`, or just `Sigmoid`). */
export function parseActivation(name: unknown, file: string, field: string): CrossEncoderActivation {
  if (typeof name !== 'string') throw layoutError(file, `${field} must be a string such as "${CROSS_ENCODER_ACTIVATIONS.sigmoid}"`, field);
  const last = name.split('.').at(-1);
  const found = Object.entries(CROSS_ENCODER_ACTIVATIONS).find(([, full]) => full === name || full.split('.').at(-1) === last);
  if (!found) {
    throw layoutError(file, `${field} is ${JSON.stringify(name)}, an activation tuna does not apply; it applies ${Object.values(CROSS_ENCODER_ACTIVATIONS).join(', ')}`, field);
  }
  return found[0] as CrossEncoderActivation;
}

/**
 * Reads the cross-encoder settings of `dir` (a model directory with config.json): the activation
 * from config_sentence_transformers.json, else config.json's `sentence_transformers` block, else its
 * `sbert_ce_default_activation_function`, else the default for `numLabels`.
 *
 * @throws TunaError `invalid_model` naming the file and field of an unreadable or unknown activation.
 */
export async function readCrossEncoderLayout(dir: string, numLabels: number): Promise<CrossEncoderLayout> {
  const stFile = join(dir, 'config_sentence_transformers.json');
  const st = await readJsonObject(stFile);
  if (st && (st.model_type === 'CrossEncoder' || st.activation_fn !== undefined)) {
    if (st.activation_fn !== undefined && st.activation_fn !== null) {
      return { activation: parseActivation(st.activation_fn, stFile, 'activation_fn'), source: 'config_sentence_transformers.json', isCrossEncoder: true };
    }
  }
  const configFile = join(dir, 'config.json');
  const config = (await readJsonObject(configFile)) ?? {};
  const block = config.sentence_transformers;
  if (block !== undefined && block !== null) {
    if (typeof block !== 'object' || Array.isArray(block))
      throw layoutError(configFile, 'sentence_transformers must be an object {activation_fn, version}', 'sentence_transformers');
    const fn = (block as Record<string, unknown>).activation_fn;
    if (fn !== undefined && fn !== null) return { activation: parseActivation(fn, configFile, 'sentence_transformers.activation_fn'), source: 'config.json', isCrossEncoder: true };
  }
  const legacy = config.sbert_ce_default_activation_function;
  if (legacy !== undefined && legacy !== null) {
    return { activation: parseActivation(legacy, configFile, 'sbert_ce_default_activation_function'), source: 'config.json (legacy)', isCrossEncoder: true };
  }
  return { activation: defaultActivation(numLabels), source: 'default', isCrossEncoder: st?.model_type === 'CrossEncoder' };
}

/** Whether `dir` was written as a cross-encoder (by sentence-transformers or tuna, any version). */
export async function isCrossEncoderDirectory(dir: string): Promise<boolean> {
  const st = await readJsonObject(join(dir, 'config_sentence_transformers.json')).catch(() => undefined);
  if (st?.model_type === 'CrossEncoder') return true;
  const config = await readJsonObject(join(dir, 'config.json')).catch(() => undefined);
  return !!config && (typeof config.sentence_transformers === 'object' || config.sbert_ce_default_activation_function !== undefined);
}

const json = (v: unknown, indent: number) => new TextEncoder().encode(`${JSON.stringify(v, null, indent)}`);

/**
 * Writes the CrossEncoder files into `dir`, which already holds the sequence classifier
 * (config.json, weights, tokenizer): modules.json, sentence_bert_config.json and
 * config_sentence_transformers.json as sentence-transformers 6 writes them, and the
 * `sentence_transformers` block {activation_fn, version} in config.json (what sentence-transformers
 * 4 and 5 read). `versions` go to `__version__` (e.g. `{ tuna: '0.1.0' }`). Returns the files written.
 */
export async function writeCrossEncoderLayout(dir: string, activation: CrossEncoderActivation, versions: Readonly<Record<string, string>> = {}): Promise<string[]> {
  const fn = CROSS_ENCODER_ACTIVATIONS[activation];
  await writeFileAtomic(join(dir, 'modules.json'), json([{ idx: 0, name: '0', path: '', type: 'sentence_transformers.base.modules.transformer.Transformer' }], 2));
  await writeFileAtomic(
    join(dir, 'sentence_bert_config.json'),
    json(
      {
        transformer_task: 'sequence-classification',
        modality_config: { text: { method: 'forward', method_output_name: 'logits' } },
        module_output_name: 'scores',
      },
      4,
    ),
  );
  await writeFileAtomic(
    join(dir, 'config_sentence_transformers.json'),
    json({ __version__: { ...versions }, activation_fn: fn, default_prompt_name: null, model_type: 'CrossEncoder', prompts: {} }, 2),
  );
  const configFile = join(dir, 'config.json');
  const config = await readJsonObject(configFile);
  if (!config) throw new TunaError('file_not_found', `${configFile}: missing; save the model before its cross-encoder files`, { file: configFile });
  const { sbert_ce_default_activation_function: _legacy, ...rest } = config;
  await writeFileAtomic(configFile, json({ ...rest, sentence_transformers: { activation_fn: fn, version: versions.tuna ?? '' } }, 2));
  return ['modules.json', 'sentence_bert_config.json', 'config_sentence_transformers.json', 'config.json'];
}
