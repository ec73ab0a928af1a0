/**
 * A text-classification pipeline over any scorer that gives label probabilities: the shape the
 * few-shot models (prompt classifiers, SetFit) predict through, with `topK`, `runBatch` and
 * `runWithLogits` as the fine-tuned classifier's pipeline has them.
 */
import { PipelineState, assemblePipeline } from '../pipelines/assemble.js';
import type { OpenModel } from '../pipelines/checkpoint.js';
import { PipelineError } from '../pipelines/errors.js';
import { callOptions, checkInteger, checkText, inputField } from '../pipelines/inputs.js';
import type { TextClassificationInput, TextClassificationOptions, TextClassificationPipeline, TextClassificationResult } from '../pipelines/types.js';

/** One input as the scorer sees it. */
export interface ClassifierInput {
  readonly text: string;
  readonly textPair?: string;
}

/** Scores inputs: one probability per label, in label order. */
export type ProbabilityScorer = (inputs: readonly ClassifierInput[], batchSize: number) => Promise<number[][]>;

function checkInput(input: TextClassificationInput, field: string): ClassifierInput {
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    const text = checkText((input as { text?: unknown }).text, `${field}.text`);
    const pair = (input as { textPair?: unknown }).textPair;
    return pair === undefined ? { text } : { text, textPair: checkText(pair, `${field}.textPair`) };
  }
  if (typeof input !== 'string') throw new PipelineError('invalid_input', `${field} must be a text or a {text, textPair} object`, { field });
  return { text: checkText(input, field) };
}

const OPTIONS = { topK: 'top_k', functionToApply: 'function_to_apply', batchSize: 'batch_size' } as const;

/**
 * The pipeline of `scorer` over `labels`. `checkpoint` gives the pipeline's `model`, `config`
 * (its `id2label` set to `labels`), `tokenizer` and `maxLength`, and is released by `dispose`.
 * Scores are the scorer's probabilities (`functionToApply` does not change them); the logits of
 * `runWithLogits` are their logarithms.
 */
export function classifierPipeline(checkpoint: OpenModel, labels: readonly string[], scorer: ProbabilityScorer): TextClassificationPipeline {
  const config = {
    ...checkpoint.config,
    id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
    label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
  };
  const state = new PipelineState('text-classification', { ...checkpoint, config });
  const n = labels.length;
  const classify = async (inputs: readonly TextClassificationInput[], rawOpts: TextClassificationOptions = {}, single = false, logitsOut?: number[][]) => {
    const o = callOptions<TextClassificationOptions>(rawOpts, OPTIONS);
    state.open();
    const topK = o.topK === undefined ? 1 : o.topK === null || o.topK === 0 ? n : Math.min(checkInteger(o.topK, 'topK', 0), n);
    const checked = inputs.map((input, i) => checkInput(input, inputField(single, i)));
    const probs = await scorer(checked, state.batchSize(o));
    return probs.map((p, i): TextClassificationResult => {
      if (logitsOut) logitsOut[i] = p.map((x) => Math.log(x));
      return [...p.keys()]
        .sort((a, b) => p[b]! - p[a]! || a - b)
        .slice(0, topK)
        .map((id) => ({ label: labels[id]!, score: p[id]! }));
    });
  };
  const call = async (inputs: unknown, rawOpts?: TextClassificationOptions) => {
    if (Array.isArray(inputs)) {
      const results = await classify(inputs, rawOpts);
      return (callOptions<TextClassificationOptions>(rawOpts, OPTIONS).topK ?? 1) === 1 ? results.map((r) => r[0]!) : results;
    }
    return (await classify([inputs as TextClassificationInput], rawOpts, true))[0]!;
  };
  const runBatch = async (inputs: readonly TextClassificationInput[], o?: TextClassificationOptions) => {
    if (!Array.isArray(inputs)) throw new PipelineError('invalid_input', 'runBatch takes a list of inputs', { field: 'inputs' });
    return classify(inputs, o);
  };
  const runWithLogits = async (inputs: readonly TextClassificationInput[], o?: TextClassificationOptions) => {
    if (!Array.isArray(inputs)) throw new PipelineError('invalid_input', 'runWithLogits takes a list of inputs', { field: 'inputs' });
    const logits: number[][] = [];
    const results = await classify(inputs, o, false, logits);
    return results.map((result, i) => ({ result, logits: logits[i]! }));
  };
  return assemblePipeline<TextClassificationPipeline>(state, call as never, runBatch as never, { runWithLogits });
}
