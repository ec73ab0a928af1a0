/**
 * Bi-encoder training: one compiled graph runs the encoder over every text of a batch (its columns
 * stacked: anchors, then positives, then negatives), pools them into sentence embeddings with the
 * model's layout, and computes a sentence-transformers loss; AdamW updates the encoder (and any
 * Dense module). Unsupervised SimCSE is MultipleNegativesRanking on (text, same text) with dropout
 * on: the two copies of a text get different dropout masks.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { PreTrainedModel } from '../models/pretrained-model.js';
import type { Tokenizer } from '../models/registry.js';
import { Rng } from '../nn/parameters.js';
import type { HostTensor } from '../runtime/tensor.js';
import { batchInputs } from '../pipelines/batching.js';
import { AdamW } from '../train/adamw.js';
import { clipCoefficient } from '../train/clip.js';
import { type Schedule, constantSchedule, constantWithWarmupSchedule, linearSchedule } from '../train/schedule.js';
import { TrainStep } from '../train/step.js';
import { OPTIMIZER_FILE, ResumeError, type RunTotals, TRAINER_STATE_FILE, type TrainerStateFile, readTrainerState, writeTrainerState } from '../train/checkpoints.js';
import { loadOptimizerState, saveOptimizerState } from '../train/state.js';
import { TunaError } from '../errors.js';
import type { SentenceDataset, SentenceExample } from './data.js';
import type { SentenceLayout } from './layout.js';
import { type SentenceLossOptions, orderMask, sentenceLoss } from './losses.js';
import { encodeWithPrompt, poolingMaskFeed, promptTokenCount } from './model.js';
import { POOLING_MASK_INPUT, adoptDenseParameters, sentenceEmbedding } from './pooling.js';

/** Settings of {@link trainSentenceEmbedding}. */
export interface SentenceTrainingOptions {
  readonly model: PreTrainedModel;
  readonly tokenizer: Tokenizer;
  readonly layout: SentenceLayout;
  readonly dataset: SentenceDataset;
  readonly loss: SentenceLossOptions;
  readonly batchSize: number;
  readonly epochs?: number;
  /** Optimizer steps (overrides `epochs`). */
  readonly maxSteps?: number;
  readonly learningRate: number;
  readonly warmupSteps?: number;
  readonly weightDecay?: number;
  /** Gradient clipping threshold (0: off). Default 1. */
  readonly maxGradNorm?: number;
  readonly scheduler?: 'linear' | 'constant' | 'constant_with_warmup';
  readonly adamBeta1?: number;
  readonly adamBeta2?: number;
  readonly adamEpsilon?: number;
  readonly seed?: number;
  /** Shuffle examples every epoch (default true). */
  readonly shuffle?: boolean;
  /** Build the training graph with dropout off (parity checks). */
  readonly disableDropout?: boolean;
  readonly maxLength: number;
  /** Prompt text before the first column's texts (anchors, queries). */
  readonly queryPrompt?: string;
  /** Prompt text before the other columns' texts (positives, negatives, documents). */
  readonly documentPrompt?: string;
  readonly threads?: number;
  /** Called after every optimizer step. */
  readonly onStep?: (info: { step: number; maxSteps: number; epoch: number; loss: number; learningRate: number; gradNorm: number }) => void | Promise<void>;
  /** Checked after every step: true stops training after it. */
  readonly shouldStop?: () => boolean;
  /**
   * Every `saveSteps` optimizer steps {@link onSave} is called to write a checkpoint (default:
   * never); it is also called when training is stopped early.
   */
  readonly saveSteps?: number;
  /**
   * Writes a checkpoint at `step`: the caller saves the model into a directory and calls
   * `writeState(dir)` to add the optimizer moments and the run's position (trainer_state.json),
   * which {@link resumeFrom} reads back.
   */
  readonly onSave?: (step: number, writeState: (dir: string) => Promise<void>, runId: string) => Promise<void>;
  /**
   * A checkpoint directory written through {@link onSave} to continue from: its optimizer state,
   * step, data order position and dropout stream. The model's weights must already be the
   * checkpoint's (load the model from that directory). Refused for a run of another length.
   */
  readonly resumeFrom?: string;
}

/** What training did. */
export interface SentenceTrainingResult {
  readonly steps: number;
  /** The loss of every optimizer step. */
  readonly losses: readonly number[];
  readonly seconds: number;
  readonly examplesPerSecond: number;
  readonly interrupted: boolean;
  /** Identifies the run across resumes (kept in every checkpoint). */
  readonly runId: string;
}

/** The texts of a dataset's examples as the loss sees them: SimCSE pairs each text with itself. */
function columnsOf(dataset: SentenceDataset, e: SentenceExample): readonly string[] {
  return dataset.kind === 'texts' ? [e.texts[0]!, e.texts[0]!] : e.texts;
}

/**
 * The tensors of one batch: the token tensors of every text (columns stacked, padded to the
 * longest), `pair_index`, and the scores and CoSENT order mask of scored pairs.
 */
export function sentenceBatch(
  opts: Pick<SentenceTrainingOptions, 'tokenizer' | 'layout' | 'dataset' | 'maxLength' | 'queryPrompt' | 'documentPrompt'>,
  examples: readonly SentenceExample[],
): Record<string, HostTensor> {
  const { tokenizer, layout, dataset } = opts;
  const columns = examples.map((e) => columnsOf(dataset, e));
  const k = columns[0]!.length;
  const encodings = [];
  const promptCounts: number[] = [];
  for (let c = 0; c < k; c++) {
    const prompt = (c === 0 ? opts.queryPrompt : opts.documentPrompt) ?? '';
    encodings.push(
      ...encodeWithPrompt(
        tokenizer,
        columns.map((t) => t[c]!),
        prompt,
        opts.maxLength,
      ),
    );
    const n = layout.pooling.includePrompt ? 0 : promptTokenCount(tokenizer, prompt);
    for (let i = 0; i < examples.length; i++) promptCounts.push(n);
  }
  const { feeds, sequenceLength } = batchInputs(encodings, tokenizer.padTokenId);
  const B = examples.length;
  const out: Record<string, HostTensor> = { ...feeds, pair_index: { dtype: 'int64', dims: [B], data: BigInt64Array.from({ length: B }, (_, i) => BigInt(i)) } };
  if (!layout.pooling.includePrompt) {
    const mask = new Float32Array(encodings.length * sequenceLength);
    encodings.forEach((e, r) => {
      mask.set(poolingMaskFeed([e], sequenceLength, promptCounts[r]!).data as Float32Array, r * sequenceLength);
    });
    out[POOLING_MASK_INPUT] = { dtype: 'float32', dims: [encodings.length, sequenceLength], data: mask };
  }
  if (dataset.kind === 'scored') {
    const scores = examples.map((e) => e.score!);
    out.scores = { dtype: 'float32', dims: [B], data: Float32Array.from(scores) };
    out.order_mask = { dtype: 'float32', dims: [B, B], data: orderMask(scores) };
  }
  return out;
}

/** Compiles the training graph: encoder, pooling (and Dense, Normalize), loss. */
export async function compileSentenceTraining(
  opts: Pick<SentenceTrainingOptions, 'model' | 'layout' | 'dataset' | 'loss' | 'disableDropout' | 'seed' | 'threads'>,
): Promise<TrainStep> {
  const { model, layout, dataset } = opts;
  adoptDenseParameters(model.store, layout.dense);
  const config = opts.disableDropout ? model.family.withDropout(model.config, 0) : model.config;
  const k = dataset.kind === 'texts' ? 2 : dataset.columns.length;
  const maxPositions = model.config.max_position_embeddings;
  return TrainStep.create(
    model.store,
    (ctx) => {
      const g = ctx.scope.g;
      const graph = model.buildGraph(ctx, {}, config);
      const hidden = graph.outputs.last_hidden_state;
      if (!hidden) throw new TunaError('unsupported_model', `${model.architecture} gives no last_hidden_state to pool`);
      const attentionMask = g.inputs.find((v) => v.name === 'attention_mask')!;
      const poolingMask = layout.pooling.includePrompt ? undefined : g.input(POOLING_MASK_INPUT, 'float32', attentionMask.shape);
      const embeddings = sentenceEmbedding(ctx, { hidden, attentionMask, poolingMask }, layout, { normalize: layout.normalize, maxPositions });
      const pairIndex = g.input('pair_index', 'int64', ['pairs']);
      const D = embeddings.shape[1]!;
      const stacked = g.reshape(embeddings, [k, 'pairs', D]);
      const columns = g.split(stacked, Array(k).fill(1), 0).map((c) => g.squeeze(c, [0]));
      const scored = dataset.kind === 'scored';
      const loss = sentenceLoss(
        g,
        columns,
        {
          pairIndex,
          scores: scored ? g.input('scores', 'float32', ['pairs']) : undefined,
          orderMask: scored && opts.loss.loss === 'cosent' ? g.input('order_mask', 'float32', ['pairs', 'pairs']) : undefined,
        },
        opts.loss,
      );
      return { loss };
    },
    { session: { threads: opts.threads }, dropoutSeed: opts.seed ?? 42, initStd: model.config.initializer_range },
  );
}

/**
 * Trains `model` (with the layout's Dense modules) on `dataset` with `loss`; the parameters in the
 * model's store are updated in place. Batches hold `batchSize` examples (the last of an epoch may
 * be smaller), shuffled every epoch from `seed`.
 */
export async function trainSentenceEmbedding(opts: SentenceTrainingOptions): Promise<SentenceTrainingResult> {
  const { dataset } = opts;
  const n = dataset.examples.length;
  const batchesPerEpoch = Math.ceil(n / opts.batchSize);
  const maxSteps = opts.maxSteps ?? Math.ceil((opts.epochs ?? 1) * batchesPerEpoch);
  const warmup = opts.warmupSteps ?? 0;
  const schedule: Schedule =
    (opts.scheduler ?? 'linear') === 'linear'
      ? linearSchedule(opts.learningRate, warmup, maxSteps)
      : opts.scheduler === 'constant_with_warmup'
        ? constantWithWarmupSchedule(opts.learningRate, warmup)
        : constantSchedule(opts.learningRate);
  const step = await compileSentenceTraining(opts);
  const optimizer = new AdamW({ beta1: opts.adamBeta1 ?? 0.9, beta2: opts.adamBeta2 ?? 0.999, eps: opts.adamEpsilon ?? 1e-6, weightDecay: opts.weightDecay ?? 0 });
  const maxGradNorm = opts.maxGradNorm ?? 1;
  const losses: number[] = [];
  const started = performance.now();
  let seen = 0;
  let interrupted = false;
  let globalStep = 0;
  let runId: string = randomUUID();
  let before: RunTotals = { seconds: 0, samples: 0, lossSum: 0, steps: 0 };
  let history: Record<string, number>[] = [];
  try {
    if (opts.resumeFrom) {
      const state = await readTrainerState(opts.resumeFrom);
      if (state.maxSteps !== maxSteps) {
        throw new ResumeError(`${opts.resumeFrom}: saved for a run of ${state.maxSteps} steps, this run has ${maxSteps}; resume with the same data and arguments`);
      }
      await loadOptimizerState(join(opts.resumeFrom, OPTIMIZER_FILE), optimizer, step.trainable);
      if (state.dropoutRng && step.masks) step.masks.setRngState(state.dropoutRng);
      globalStep = state.globalStep;
      runId = state.runId ?? runId;
      before = state.totals ?? before;
      history = state.logHistory.map((r) => ({ ...r }));
    }
    const writeState = (epoch: number, batchInEpoch: number) => async (dir: string) => {
      await saveOptimizerState(join(dir, OPTIMIZER_FILE), optimizer, { global_step: String(globalStep) });
      const totals: RunTotals = {
        seconds: before.seconds + (performance.now() - started) / 1000,
        samples: before.samples + seen,
        lossSum: before.lossSum + losses.reduce((a, b) => a + b, 0),
        steps: before.steps + losses.length,
      };
      const state: TrainerStateFile = {
        format: 'tuna-trainer-state',
        globalStep,
        epoch: epoch + batchInEpoch / batchesPerEpoch,
        epochIndex: epoch,
        batchInEpoch,
        maxSteps,
        patienceCounter: 0,
        logHistory: [...history, ...losses.map((loss, i) => ({ loss, step: globalStep - losses.length + i + 1 }))],
        dropoutRng: step.masks?.rngState(),
        samplesSeen: totals.samples,
        runId,
        totals,
      };
      await writeTrainerState(join(dir, TRAINER_STATE_FILE), state);
    };
    const save = async (epoch: number, batchInEpoch: number) => opts.onSave?.(globalStep, writeState(epoch, batchInEpoch), runId);
    // The shuffled order of each epoch depends on the seed and the epoch alone, so a resumed run
    // skips the batches of its epoch that the checkpoint had done.
    for (let epoch = Math.floor(globalStep / batchesPerEpoch); globalStep < maxSteps; epoch++) {
      const order = [...Array(n).keys()];
      if (opts.shuffle ?? true) {
        const rng = new Rng((opts.seed ?? 42) + epoch);
        for (let i = n - 1; i > 0; i--) {
          const j = rng.int(i + 1);
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
      }
      for (let b = epoch === Math.floor(globalStep / batchesPerEpoch) ? globalStep % batchesPerEpoch : 0; b < batchesPerEpoch && globalStep < maxSteps; b++) {
        const examples = order.slice(b * opts.batchSize, (b + 1) * opts.batchSize).map((i) => dataset.examples[i]!);
        const result = await step.run(sentenceBatch(opts, examples));
        if (!Number.isFinite(result.loss)) {
          throw new TunaError('non_finite', `the training loss became ${result.loss} at step ${globalStep + 1}; lower the learning rate or check the data`, {
            field: 'learningRate',
          });
        }
        const lr = schedule(globalStep);
        optimizer.update(step.trainable, result.grads, lr, maxGradNorm > 0 ? clipCoefficient(result.gradNorm, maxGradNorm) : 1);
        globalStep++;
        seen += examples.length;
        losses.push(result.loss);
        await opts.onStep?.({ step: globalStep, maxSteps, epoch: epoch + (b + 1) / batchesPerEpoch, loss: result.loss, learningRate: lr, gradNorm: result.gradNorm });
        const stopping = opts.shouldStop?.() === true;
        if ((opts.saveSteps !== undefined && globalStep % opts.saveSteps === 0) || (stopping && globalStep < maxSteps)) await save(epoch, b + 1);
        if (stopping) {
          interrupted = globalStep < maxSteps;
          break;
        }
      }
      if (interrupted) break;
    }
  } finally {
    await step.release();
  }
  const seconds = (performance.now() - started) / 1000;
  return { steps: globalStep, losses, seconds, examplesPerSecond: seen / Math.max(seconds, 1e-9), interrupted, runId };
}
