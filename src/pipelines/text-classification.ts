/** The text-classification pipeline: labels and scores for texts or text pairs. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PROMPT_CONFIG_FILE } from '../fewshot/prompt.js';
import { promptClassificationPipeline } from '../fewshot/prompt-pipeline.js';
import { SETFIT_HEAD_FILE, setfitClassificationPipeline } from '../fewshot/setfit.js';
import type { BuildOptions, ModelGraph } from '../models/heads.js';
import { type ModelConfig, numLabels } from '../models/registry.js';
import type { BuildContext } from '../nn/layers.js';
import type { Value } from '../onnx/graph.js';
import type { Encoding } from '../tokenizers/bert-tokenizer.js';
import { PipelineState, assemblePipeline } from './assemble.js';
import { runInBatches } from './batching.js';
import { openModel } from './checkpoint.js';
import { PipelineError } from './errors.js';
import { callOptions, checkChoice, checkInteger, checkText, inputField } from './inputs.js';
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
export function defaultClassificationFunction(config: ModelConfig): ClassificationFunction {
  return config.problem_type === 'multi_label_classification' || numLabels(config) === 1 ? 'sigmoid' : 'softmax';
}

/** Scores of one row of logits under `fn`. */
export function classificationScores(logits: ArrayLike<number>, fn: ClassificationFunction): number[] {
  if (fn === 'softmax') return softmax(logits);
  if (fn === 'sigmoid') return sigmoid(logits);
  return Array.from(logits);
}

/** Labels sorted by score (best first, lower id first on ties), the first `k` of them. */
export function rankLabels(scores: readonly number[], config: ModelConfig, k: number): TextClassificationLabel[] {
  return [...scores.keys()]
    .sort((a, b) => scores[b]! - scores[a]! || a - b)
    .slice(0, k)
    .map((id) => ({ label: config.id2label[String(id)] ?? `LABEL_${id}`, score: scores[id]! }));
}

/** Call options and their transformers.js (snake_case) spellings. */
const TEXT_CLASSIFICATION_OPTIONS = { topK: 'top_k', functionToApply: 'function_to_apply', batchSize: 'batch_size' } as const;

function checkInput(input: TextClassificationInput, field: string): { text: string; textPair?: string } {
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    const text = checkText((input as { text?: unknown }).text, `${field}.text`);
    const pair = (input as { textPair?: unknown }).textPair;
    return pair === undefined ? { text } : { text, textPair: checkText(pair, `${field}.textPair`) };
  }
  if (typeof input !== 'string') {
    throw new PipelineError(
      'invalid_input',
      `${field} must be a text or a {text, textPair} object, got ${input === null ? 'null' : Array.isArray(input) ? 'an array' : typeof input}`,
      { field },
    );
  }
  return { text: checkText(input, field) };
}

const CLS_VECTOR = 'cls_vector';

/** The classifier's graph with the final layer's first-token vector as a second output. */
function withClsVector(ctx: BuildContext, buildHead: (opts?: BuildOptions) => ModelGraph): Readonly<Record<string, Value>> {
  const head = buildHead({ lastHiddenState: true });
  const hidden = head.outputs.last_hidden_state;
  if (!hidden) throw new PipelineError('invalid_option', 'clsVector: this model family does not give its last hidden state to a sequence classifier', { field: 'clsVector' });
  const g = ctx.scope.g;
  return { logits: head.outputs.logits!, [CLS_VECTOR]: g.squeeze(g.slice(hidden, [0], [1], [1]), [1]) };
}

/** Loads a BertForSequenceClassification checkpoint as a text-classification pipeline. */
export async function textClassificationPipeline(dirOrId: string, opts: PipelineOptions = {}): Promise<TextClassificationPipeline> {
  // Few-shot models: a prompt-trained masked LM, or a SetFit body with its head.
  if (existsSync(join(dirOrId, PROMPT_CONFIG_FILE))) return promptClassificationPipeline(dirOrId, opts);
  if (existsSync(join(dirOrId, SETFIT_HEAD_FILE))) return setfitClassificationPipeline(dirOrId, opts);
  const checkpoint = await openModel('text-classification', dirOrId, opts, {}, opts.clsVector ? withClsVector : undefined);
  const state = new PipelineState('text-classification', checkpoint);

  const classify = async (
    inputs: readonly TextClassificationInput[],
    rawOpts: TextClassificationOptions = {},
    single = false,
    logitsOut?: number[][],
    clsOut?: number[][],
  ): Promise<TextClassificationResult[]> => {
    const callOpts = callOptions<TextClassificationOptions>(rawOpts, TEXT_CLASSIFICATION_OPTIONS);
    const { config, tokenizer, session, maxLength, dir } = state.open();
    const n = numLabels(config);
    const topK = callOpts.topK === undefined ? 1 : callOpts.topK === null || callOpts.topK === 0 ? n : Math.min(checkInteger(callOpts.topK, 'topK', 0), n);
    const fn =
      callOpts.functionToApply === undefined
        ? defaultClassificationFunction(config)
        : checkChoice(callOpts.functionToApply, 'functionToApply', ['softmax', 'sigmoid', 'none'] as const);
    const batchSize = state.batchSize(callOpts);
    const encodings: Encoding[] = inputs.map((input, i) => {
      const { text, textPair } = checkInput(input, inputField(single, i));
      return tokenizer.encode(text, textPair, { maxLength });
    });
    const results = new Array<TextClassificationResult>(inputs.length);
    await runInBatches(session, encodings, { padId: tokenizer.padTokenId, batchSize, source: dir }, (indices, outputs) => {
      const logits = outputs.logits!.data as Float32Array;
      const cls = outputs[CLS_VECTOR];
      const h = cls ? (cls.dims[1] as number) : 0;
      indices.forEach((i, b) => {
        const row = logits.subarray(b * n, (b + 1) * n);
        if (logitsOut) logitsOut[i] = Array.from(row);
        if (clsOut && cls) clsOut[i] = Array.from((cls.data as Float32Array).subarray(b * h, (b + 1) * h));
        results[i] = rankLabels(classificationScores(row, fn), config, topK);
      });
    });
    return results;
  };

  const call = async (inputs: unknown, rawOpts?: TextClassificationOptions) => {
    if (Array.isArray(inputs)) {
      const results = await classify(inputs, rawOpts);
      return (callOptions<TextClassificationOptions>(rawOpts, TEXT_CLASSIFICATION_OPTIONS).topK ?? 1) === 1 ? results.map((r) => r[0]!) : results;
    }
    return (await classify([inputs as TextClassificationInput], rawOpts, true))[0]!;
  };
  const runBatch = async (inputs: readonly TextClassificationInput[], callOpts?: TextClassificationOptions) => {
    if (!Array.isArray(inputs)) throw new PipelineError('invalid_input', 'runBatch takes a list of inputs', { field: 'inputs' });
    return classify(inputs, callOpts);
  };
  const runWithLogits = async (inputs: readonly TextClassificationInput[], callOpts?: TextClassificationOptions) => {
    if (!Array.isArray(inputs)) throw new PipelineError('invalid_input', 'runWithLogits takes a list of inputs', { field: 'inputs' });
    const logits: number[][] = [];
    const cls: number[][] = [];
    const results = await classify(inputs, callOpts, false, logits, cls);
    return results.map((result, i) => (cls[i] ? { result, logits: logits[i]!, clsVector: cls[i] } : { result, logits: logits[i]! }));
  };
  return assemblePipeline<TextClassificationPipeline>(state, call as never, runBatch as never, { runWithLogits });
}
