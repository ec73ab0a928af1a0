import { LabelMap } from '../../data/index.js';
import { readConfig } from '../../io/checkpoint.js';
import { resolveModel } from '../../io/hub.js';
import type { EntityMode, TagScheme } from '../../metrics/seqeval.js';
import { adapterModelConfig, isAdapterDir } from '../../peft/index.js';
import { pipeline } from '../../pipelines/pipeline.js';
import type { TextClassificationInput, TextClassificationPipeline, TokenClassificationPipeline } from '../../pipelines/types.js';
import { HEADS, familyOfConfig, headOfArchitectures } from '../../models/registry.js';
import { readDataConfig } from '../../tasks/data-config.js';
import { type DataOptions, type Examples, type TaskName, featuresOf, readExamples } from '../../tasks/prepare.js';
import { resolveEntityScoring, taskReport } from '../../tasks/reports.js';
import { unknownTokenRate, unknownTokenWarning } from '../../tokenizers/unknown-rate.js';
import { type TaskKind, predictionOf } from '../../train/evaluate.js';
import { CliError } from '../errors.js';
import { type Output, toJson } from '../output.js';
import { type RetrievalEvalOptions, checkClassificationEval, evalRetrievalCommand } from './eval-retrieval.js';
import { asError, integer } from './options.js';
import { sampleOf } from './predict.js';
import { fewShotKind } from '../../fewshot/detect.js';

/** Defaults of the data flags, which give way to the settings stored with the model. */
const DATA_DEFAULTS: Readonly<Record<string, unknown>> = { textColumn: 'text', labelColumn: 'label', tokensColumn: 'tokens', labelSeparator: ',' };

/** Options of `tuna eval`. */
export interface EvalOptions extends DataOptions, Omit<RetrievalEvalOptions, 'model' | 'batchSize' | 'threads' | 'json'> {
  readonly model: string;
  /** The labelled file (absent with `--task retrieval`). */
  readonly data: string;
  /** `retrieval`, or the classification task (default: the model's). */
  readonly task?: string;
  readonly batchSize: string;
  readonly threads?: string;
  readonly json?: boolean;
  readonly revision?: string;
  /** seqeval's entity reading: `default` (lenient) or `strict` with a scheme. */
  readonly entityMode?: string;
  readonly scheme?: string;
  /** For an adapter directory: the base model instead of the one adapter_config.json names. */
  readonly baseModel?: string;
}

/**
 * `tuna eval --model DIR --data FILE`: runs a fine-tuned classifier over a labelled file and prints
 * the classification report (seqeval entity scores too for token classification); `--json` prints
 * one JSON document instead.
 */
export async function evalCommand(o: EvalOptions, out: Output): Promise<void> {
  if (o.task === 'retrieval') return evalRetrievalCommand(o, out);
  checkClassificationEval(o);
  const batchSize = integer('--batch-size', o.batchSize, 1);
  const threads = o.threads === undefined ? undefined : integer('--threads', o.threads, 1);
  const dir = await asError(() => resolveModel(o.model, o.revision === undefined ? {} : { revision: o.revision }));
  const raw = await asError(() => (isAdapterDir(dir) ? adapterModelConfig(dir, { baseModel: o.baseModel }) : readConfig(dir)));
  // A few-shot model (prompt-trained masked LM, SetFit) is a text classifier whatever its architectures.
  const head =
    fewShotKind(dir) === undefined
      ? await asError(async () => {
          const family = familyOfConfig(raw, dir);
          return headOfArchitectures(family, family.parseConfig(raw, dir).architectures, dir);
        })
      : 'sequence-classification';
  const labelKind = HEADS[head].labels;
  if (labelKind !== 'sequence' && labelKind !== 'token') {
    throw new CliError(
      'invalid_model',
      `${dir}: config.json architectures ${JSON.stringify(raw.architectures ?? [])} name no classifier; eval needs a model fine-tuned by tuna train (a sequence or token classifier)`,
    );
  }
  const task: TaskName = labelKind === 'token' ? 'token-classification' : 'text-classification';
  // The pipeline of the task: the inference path of predict and serve (incomplete checkpoints refused).
  const loadOpts = { batchSize, ...(threads === undefined ? {} : { threads }), ...(o.baseModel === undefined ? {} : { baseModel: o.baseModel }) };
  const pipe =
    task === 'token-classification' ? await asError(() => pipeline('token-classification', dir, loadOpts)) : await asError(() => pipeline('text-classification', dir, loadOpts));
  try {
    const { tokenizer, maxLength } = pipe;
    const labels = LabelMap.fromConfig(pipe.config.id2label);
    const kind: TaskKind = task === 'token-classification' ? 'token' : pipe.config.problem_type === 'multi_label_classification' ? 'multi_label' : 'single_label';
    const multiLabel = kind === 'multi_label';
    // Column names and separators of the training data, unless given again.
    const stored = (await asError(() => readDataConfig(dir))) ?? {};
    // A flag left at its default does not override what the model was trained with.
    const given = Object.fromEntries(Object.entries(o).filter(([k, v]) => v !== undefined && DATA_DEFAULTS[k] !== v));
    const examples = await asError(() => readExamples(task, o.data, { ...stored, ...given, multiLabel }));
    const scoring =
      o.entityMode === undefined && o.scheme === undefined
        ? {}
        : await asError(async () => resolveEntityScoring({ mode: o.entityMode as EntityMode, scheme: o.scheme as TagScheme }, labels));
    // Features carry the gold labels, aligned to the same tokenization the pipeline runs.
    const features = await asError(async () => featuresOf(tokenizer, examples, labels, maxLength, multiLabel));
    const texts = examples.kind === 'text' ? examples.items.map((e) => sampleOf(e.text)) : examples.items.map((e) => sampleOf(e.tokens.join(' ')));
    const warning = unknownTokenWarning(unknownTokenRate(tokenizer, texts), texts, o.model, tokenizer);
    if (warning) out.stderr(`tuna: ${warning}\n`);
    const t0 = performance.now();
    const logits = await asError(() => pipelineLogits(pipe, examples));
    const seconds = (performance.now() - t0) / 1000;
    logits.forEach((l, i) => {
      const expected = kind === 'token' ? features[i]!.inputIds.length * labels.size : labels.size;
      if (l.length !== expected) throw new CliError('internal', `${o.data}: example ${i + 1} was tokenized differently for scoring and for prediction`);
    });
    const { prediction, loss } = predictionOf(kind, labels.size, features, logits, o.model);
    const report = taskReport(kind, prediction, labels, scoring);
    if (o.json) {
      out.stdout(`${toJson({ model: o.model, data: o.data, examples: features.length, loss, ...report.json })}\n`);
      return;
    }
    out.stdout(`${o.data}: ${features.length} examples, loss ${loss?.toFixed(4)}, ${(features.length / seconds).toFixed(1)} examples/s\n\n${report.text}`);
  } finally {
    await pipe.dispose();
  }
}

/** Raw logits of every example through the task's pipeline: a row per text, or a row per token of each sentence. */
async function pipelineLogits(pipe: TextClassificationPipeline | TokenClassificationPipeline, examples: Examples): Promise<Float32Array[]> {
  if (examples.kind === 'token') {
    const results = await (pipe as TokenClassificationPipeline).runWithLogits(examples.items.map((e) => e.tokens) as never, { isSplitIntoWords: true });
    return results.map((r) => Float32Array.from(r.logits[0]!.flat()));
  }
  const inputs: TextClassificationInput[] = examples.items.map((e) => (e.textPair === undefined ? e.text : { text: e.text, textPair: e.textPair }));
  const results = await (pipe as TextClassificationPipeline).runWithLogits(inputs);
  return results.map((r) => Float32Array.from(r.logits));
}
