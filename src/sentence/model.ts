/**
 * Sentence-embedding models: a checkpoint's encoder with the sentence-transformers modules of its
 * directory (or mean pooling for a plain checkpoint), prompts applied to inputs, and saving in the
 * sentence-transformers layout.
 */
import type { PreTrainedModel } from '../models/pretrained-model.js';
import type { Tokenizer } from '../models/registry.js';
import { TunaError } from '../errors.js';
import type { Encoding } from '../tokenizers/bert-tokenizer.js';
import type { HostTensor } from '../runtime/tensor.js';
import { type SentenceLayout, writeSentenceLayout } from './layout.js';
import { denseParameterName, isDenseParameter } from './pooling.js';

/** The layout of a checkpoint without sentence-transformers files: mean pooling, no normalisation. */
export function defaultLayout(
  hiddenSize: number,
  opts: Partial<Pick<SentenceLayout, 'normalize' | 'prompts'>> & { modes?: SentenceLayout['pooling']['modes'] } = {},
): SentenceLayout {
  return {
    pooling: { dimension: hiddenSize, modes: opts.modes ?? ['mean'], includePrompt: true },
    dense: [],
    normalize: opts.normalize ?? false,
    prompts: opts.prompts ?? {},
    defaultPromptName: null,
    similarityFnName: 'cosine',
  };
}

/** How a call picks its prompt: by name (from the model's prompts) or as text. */
export interface PromptChoice {
  readonly promptName?: string;
  readonly prompt?: string;
}

/**
 * The prompt text a call uses: `prompt` as given, the model's prompt named `promptName`, else the
 * model's default prompt (or none). `field` names the option in errors.
 */
export function resolvePrompt(
  layout: SentenceLayout,
  choice: PromptChoice,
  fields: { promptName: string; prompt: string } = { promptName: 'promptName', prompt: 'prompt' },
): string {
  if (choice.prompt !== undefined && choice.promptName !== undefined) {
    throw new TunaError('invalid_option', `give ${fields.prompt} or ${fields.promptName}, not both`, { field: fields.prompt });
  }
  if (choice.prompt !== undefined) {
    if (typeof choice.prompt !== 'string') throw new TunaError('invalid_option', `${fields.prompt} must be a string`, { field: fields.prompt });
    return choice.prompt;
  }
  const name = choice.promptName ?? layout.defaultPromptName ?? undefined;
  if (name === undefined) return '';
  const text = layout.prompts[name];
  if (text === undefined) {
    const known = Object.keys(layout.prompts);
    throw new TunaError(
      'invalid_option',
      `${fields.promptName} "${name}" is not a prompt of this model (${known.length ? `it has ${known.map((k) => `"${k}"`).join(', ')}` : 'it has none'}); give the prompt text itself with ${fields.prompt}`,
      { field: fields.promptName },
    );
  }
  return text;
}

/**
 * Number of leading tokens a prompt takes in an encoding ([CLS] included, the trailing [SEP] of the
 * prompt alone excluded), as sentence-transformers counts them for `include_prompt: false`.
 */
export function promptTokenCount(tokenizer: Tokenizer, prompt: string): number {
  if (prompt === '') return 0;
  const ids = tokenizer.encode(prompt).inputIds;
  const last = ids.at(-1);
  return last !== undefined && tokenizer.specialTokenIds.includes(last) ? ids.length - 1 : ids.length;
}

/** Encodes texts with a prompt prepended (sentence-transformers joins them without a separator). */
export function encodeWithPrompt(tokenizer: Tokenizer, texts: readonly string[], prompt: string, maxLength: number): Encoding[] {
  return texts.map((t) => tokenizer.encode(prompt + t, undefined, { maxLength }));
}

/**
 * The `pooling_mask` input of a batch: the attention mask with the first `promptTokens` positions
 * zeroed (prompt tokens left out of pooling).
 */
export function poolingMaskFeed(encodings: readonly Encoding[], sequenceLength: number, promptTokens: number): HostTensor {
  const data = new Float32Array(encodings.length * sequenceLength);
  encodings.forEach((e, b) => {
    for (let t = promptTokens; t < e.inputIds.length; t++) data[b * sequenceLength + t] = e.attentionMask[t]!;
  });
  return { dtype: 'float32', dims: [encodings.length, sequenceLength], data };
}

/** The layout with the current values of the Dense weights held in `model`'s store (after training). */
export function layoutWithTrainedDense(model: PreTrainedModel, layout: SentenceLayout): SentenceLayout {
  return {
    ...layout,
    dense: layout.dense.map((d, i) => {
      const w = model.store.get(denseParameterName(i, 'weight'));
      const b = model.store.get(denseParameterName(i, 'bias'));
      return { ...d, weight: w?.data ?? d.weight, ...(d.bias ? { biasValues: b?.data ?? d.biasValues } : {}) };
    }),
  };
}

/**
 * Saves `model` (its encoder) and `tokenizer` as a sentence-transformers model directory:
 * config.json, model.safetensors and the tokenizer at the root (the Transformer module), then
 * modules.json, the module folders and the sentence-transformers configs. Returns the files of the
 * layout written.
 */
export async function saveSentenceTransformer(
  dir: string,
  model: PreTrainedModel,
  tokenizer: Tokenizer | undefined,
  layout: SentenceLayout,
  /** Written to config_sentence_transformers.json's `__version__` (e.g. `{ tuna: '0.1.0' }`). */
  versions: Readonly<Record<string, string>> = {},
): Promise<string[]> {
  await model.savePretrained(dir, { select: (name) => !isDenseParameter(name) });
  await tokenizer?.save(dir);
  return writeSentenceLayout(dir, layoutWithTrainedDense(model, layout), versions);
}
