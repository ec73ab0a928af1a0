/** The text-classification pipeline: labels and scores for texts or text pairs. */
import { type BertConfig, numLabels } from '../models/bert/config.js';
import { buildBert } from '../models/bert/modeling.js';
import type { Encoding } from '../tokenizers/bert-tokenizer.js';
import { PipelineState, assemblePipeline } from './assemble.js';
import { runInBatches } from './batching.js';
import { openCheckpoint } from './checkpoint.js';
import { PipelineError } from './errors.js';
import { checkChoice, checkInteger, checkText, inputField } from './inputs.js';
import { sigmoid, softmax } from './math.js';
import type {
  ClassificationFunction,
  PipelineOptions,
  TextClassificationInput,
  TextClassificationLabel,
  TextClassificationOptions,
  TextClassificationPipeline,
  TextClassificationResult,
} from './types.js';

/** Hugging Face's default: sigmoid for multi-label or single-output models, else softmax. */
export function defaultClassificationFunction(config: BertConfig): ClassificationFunction {
  return config.problem_type === 'multi_label_classification' || numLabels(config) === 1 ? 'sigmoid' : 'softmax';
}

/** Scores of one row of logits under `fn`. */
export function classificationScores(logits: ArrayLike<number>, fn: ClassificationFunction): number[] {
  if (fn === 'softmax') return softmax(logits);
  if (fn === 'sigmoid') return sigmoid(logits);
  return Array.from(logits);
}

/** Labels sorted by score (best first, lower id first on ties), the first `k` of them. */
export function rankLabels(scores: readonly number[], config: BertConfig, k: number): TextClassificationLabel[] {
  return [...scores.keys()]
    .sort((a, b) => scores[b]! - scores[a]! || a - b)
    .slice(0, k)
    .map((id) => ({ label: config.id2label[String(id)] ?? `LABEL_${id}`, score: scores[id]! }));
}

function checkInput(input: TextClassificationInput, field: string): { text: string; textPair?: string } {
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    const text = checkText((input as { text?: unknown }).text, `${field}.text`);
    const pair = (input as { textPair?: unknown }).textPair;
    return pair === undefined ? { text } : { text, textPair: checkText(pair, `${field}.textPair`) };
  }
  if (typeof input !== 'string') {
    throw new PipelineError('invalid_input', `${field} must be a text or a {text, textPair} object, got ${input === null ? 'null' : Array.isArray(input) ? 'an array' : typeof input}`, { field });
  }
  return { text: checkText(input, field) };
}

/** Loads a BertForSequenceClassification checkpoint as a text-classification pipeline. */
export async function textClassificationPipeline(dirOrId: string, opts: PipelineOptions = {}): Promise<TextClassificationPipeline> {
  const checkpoint = await openCheckpoint('text-classification', dirOrId, opts, (ctx, config, arch) => buildBert(ctx, config, arch, false).outputs);
  const state = new PipelineState('text-classification', checkpoint);

  const classify = async (inputs: readonly TextClassificationInput[], callOpts: TextClassificationOptions = {}, single = false): Promise<TextClassificationResult[]> => {
    const { config, tokenizer, model, maxLength } = state.open();
    const n = numLabels(config);
    const topK = callOpts.topK === undefined ? 1 : callOpts.topK === null || callOpts.topK === 0 ? n : Math.min(checkInteger(callOpts.topK, 'topK', 0), n);
    const fn = callOpts.functionToApply === undefined ? defaultClassificationFunction(config) : checkChoice(callOpts.functionToApply, 'functionToApply', ['softmax', 'sigmoid', 'none'] as const);
    const batchSize = state.batchSize(callOpts);
    const encodings: Encoding[] = inputs.map((input, i) => {
      const { text, textPair } = checkInput(input, inputField(single, i));
      return tokenizer.encode(text, textPair, { maxLength });
    });
    const results = new Array<TextClassificationResult>(inputs.length);
    await runInBatches(model, encodings, { padId: tokenizer.padTokenId, batchSize }, (indices, outputs) => {
      const logits = outputs.logits!.data as Float32Array;
      indices.forEach((i, b) => {
        results[i] = rankLabels(classificationScores(logits.subarray(b * n, (b + 1) * n), fn), config, topK);
      });
    });
    return results;
  };

  const call = async (inputs: unknown, callOpts?: TextClassificationOptions) => {
    if (Array.isArray(inputs)) {
      const results = await classify(inputs, callOpts);
      return (callOpts?.topK ?? 1) === 1 ? results.map((r) => r[0]!) : results;
    }
    return (await classify([inputs as TextClassificationInput], callOpts, true))[0]!;
  };
  const runBatch = async (inputs: readonly TextClassificationInput[], callOpts?: TextClassificationOptions) => {
    if (!Array.isArray(inputs)) throw new PipelineError('invalid_input', 'runBatch takes a list of inputs', { field: 'inputs' });
    return classify(inputs, callOpts);
  };
  return assemblePipeline<TextClassificationPipeline>(state, call as never, runBatch as never);
}
