import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Feature, collate, planBatches } from '../data/index.js';
import type { HostTensor } from '../runtime/tensor.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { PreTrainedModel } from '../models/pretrained-model.js';
import type { Tokenizer } from '../models/registry.js';
import type { PeftMethod } from '../peft/config.js';
import { type PeftModel, type PeftTrainingOptions, loraPlusScale, peftForTraining, restoreAdapterWeights } from '../peft/index.js';
import { AdamW } from './adamw.js';
import { type ResolvedArguments, type TrainingArguments, TrainingArgumentsError, resolveArguments } from './arguments.js';
import type { TrainerCallback, TrainerProgress } from './callbacks.js';
import {
  OPTIMIZER_FILE,
  ResumeError,
  type RunTotals,
  TRAINER_STATE_FILE,
  type TrainerStateFile,
  checkpointWriteError,
  listCheckpoints,
  readTrainerState,
  restoreWeights,
  rotateCheckpoints,
  writeCheckpointDir,
  writeTrainerState,
} from './checkpoints.js';
import { clipCoefficient, globalNorm } from './clip.js';
import { lockOutputDir } from './output-dir.js';
import { learningCurveSvg } from './curve.js';
import { type EvalPrediction, type TaskKind, predictDataset, taskKind } from './evaluate.js';
import { type Schedule, constantSchedule, constantWithWarmupSchedule, linearSchedule } from './schedule.js';
import { loadOptimizerState, saveOptimizerState } from './state.js';

/** Metrics from predictions, without the `eval_` prefix (e.g. `{ accuracy, f1 }`). */
export type ComputeMetrics = (prediction: EvalPrediction) => Record<string, number>;

/** What {@link Trainer} works with. */
export interface TrainerOptions {
  readonly model: PreTrainedModel;
  readonly args: TrainingArguments;
  readonly trainDataset: readonly Feature[];
  readonly evalDataset?: readonly Feature[];
  /** Saved beside the model in every checkpoint and in the output directory. */
  readonly tokenizer?: Tokenizer;
  readonly computeMetrics?: ComputeMetrics;
  readonly callbacks?: readonly TrainerCallback[];
  /**
   * Builds a training batch from example indices (default: padding plus the head's labels). It gets
   * the epoch, so a collator that draws random masks can draw fresh ones every epoch, reproducibly.
   */
  readonly dataCollator?: DataCollator;
  /** Masked-LM heads score only masked tokens; batches then carry `masked_positions` and `masked_labels`. */
  readonly sparseMlm?: boolean;
  /**
   * Only the parameters for which this returns true are trained (the rest keep their values and
   * get no gradients), e.g. the head alone or adapter weights. Default: every parameter.
   */
  readonly trainableParameters?: (name: string) => boolean;
  /** Replaces the default evaluation (logits over `evalDataset`); returns metrics without the `eval_` prefix. */
  readonly evaluate?: () => Promise<Record<string, number>>;
  /**
   * Parameter-efficient fine-tuning: `lora`, `bitfit`, `adapter` or `prompt`, settings (`{ method:
   * 'lora', loraR: 8, loraAlpha: 16, loraDropout, loraTarget, useRslora, useDora, loraPlusLrRatio }`), or a PeftModel already applied to
   * `model`. Only the method's parameters and the head train; checkpoints and the output directory
   * hold the adapter (adapter_config.json, adapter_model.safetensors), not the whole model.
   */
  readonly peft?: PeftMethod | PeftTrainingOptions | PeftModel;
}

/** Turns example indices into the tensors of one training batch. */
export type DataCollator = (features: readonly Feature[], indices: readonly number[], at: { epoch: number; seed: number }) => Record<string, HostTensor>;

/** What `train()` returns. */
export interface TrainOutput {
  readonly globalStep: number;
  /** Mean training loss over the steps of the whole run (all its segments, when it was resumed). */
  readonly trainingLoss: number;
  /**
   * `train_runtime` (s), `train_samples_per_second`, `train_steps_per_second`, `train_loss`, `epoch`,
   * over the whole run: after a resume, the segments before it count too.
   */
  readonly metrics: Record<string, number>;
  /** True when `stop()` ended training early; a checkpoint was saved to resume from. */
  readonly interrupted: boolean;
  /** True when early stopping ended training. */
  readonly earlyStopped: boolean;
  readonly bestModelCheckpoint?: string;
}

/** Name of the metrics log in the output directory (one JSON record per line). */
export const METRICS_LOG = 'metrics.jsonl';
export const LEARNING_CURVE = 'learning_curve.svg';

/**
 * The fine-tuning loop: AdamW with decoupled weight decay (none on biases and LayerNorm weights),
 * a warmup/decay schedule, gradient clipping and accumulation, dropout on in training and off in
 * evaluation, periodic evaluation with early stopping and best-model tracking, and resumable
 * checkpoints written atomically. Metrics go to `metrics.jsonl` and a learning curve SVG in the
 * output directory.
 */
export class Trainer {
  readonly model: PreTrainedModel;
  readonly args: ResolvedArguments;
  /** The head's label layout (undefined when a custom collator and evaluation drive a non-classifier). */
  readonly task: TaskKind | undefined;
  private readonly callbacks: TrainerCallback[];
  private stopRequested = false;
  private history: Record<string, number>[] = [];
  /** The parameter-efficient method applied to the model, if any. */
  readonly peft: PeftModel | undefined;

  constructor(private readonly opts: TrainerOptions) {
    this.model = opts.model;
    this.args = resolveArguments(opts.args, (opts.evalDataset?.length ?? 0) > 0 || opts.evaluate !== undefined);
    // A custom collator needs no label layout unless the default evaluation runs on an evaluation set.
    this.task = opts.dataCollator && (opts.evaluate || !opts.evalDataset?.length) ? undefined : taskKind(opts.model);
    this.callbacks = [...(opts.callbacks ?? [])];
    this.peft = opts.peft === undefined ? undefined : peftForTraining(opts.model, opts.peft, this.args.seed);
    if (opts.trainDataset.length === 0) throw new TrainingArgumentsError('trainDataset', 'the training set is empty');
    const a = this.args;
    if (a.loadBestModelAtEnd && a.evalStrategy !== 'no') {
      const aligned = a.saveStrategy === a.evalStrategy && (a.evalStrategy !== 'steps' || a.saveSteps % a.evalSteps === 0);
      if (!aligned) {
        throw new TrainingArgumentsError(
          'saveStrategy',
          `loadBestModelAtEnd needs checkpoints where evaluations happen: saveStrategy (${a.saveStrategy}) must equal evalStrategy (${a.evalStrategy}) and saveSteps be a multiple of evalSteps`,
        );
      }
    }
  }

  /** Adds a callback. */
  addCallback(cb: TrainerCallback): void {
    this.callbacks.push(cb);
  }

  /**
   * Asks the loop to stop after the current optimizer step; it then saves a checkpoint to resume
   * from and returns with `interrupted: true` (what Ctrl-C does in `tuna train`).
   */
  stop(): void {
    this.stopRequested = true;
  }

  /** Log records so far (what metrics.jsonl holds). */
  get logHistory(): readonly Record<string, number>[] {
    return this.history;
  }

  /**
   * Trains. `resumeFromCheckpoint`: a checkpoint directory, or `true` for the latest in the
   * output directory; weights, optimizer moments, schedule position, data order and dropout
   * stream continue where they stopped.
   *
   * The output directory is locked for the run (see `lockOutputDir`): a second run into it, from
   * another process, is refused with code `output_locked`. Temporaries of dead runs are removed.
   * A failed checkpoint write names the last complete checkpoint to resume from.
   */
  async train(opts: { resumeFromCheckpoint?: string | boolean } = {}): Promise<TrainOutput> {
    const lock = await lockOutputDir(this.args.outputDir);
    try {
      return await this.trainLocked(opts);
    } finally {
      await lock.release();
    }
  }

  private async trainLocked(opts: { resumeFromCheckpoint?: string | boolean }): Promise<TrainOutput> {
    const a = this.args;
    const model = this.model;
    const data = this.opts.trainDataset;
    const lengths = data.map((f) => f.inputIds.length);
    const batchesPerEpoch = Math.ceil(data.length / a.perDeviceTrainBatchSize);
    const stepsPerEpoch = Math.ceil(batchesPerEpoch / a.gradientAccumulationSteps);
    const maxSteps = a.maxSteps > 0 ? a.maxSteps : Math.ceil(a.numTrainEpochs * stepsPerEpoch);
    const numEpochs = Math.ceil(maxSteps / stepsPerEpoch);
    const warmup = a.warmupSteps > 0 ? a.warmupSteps : Math.ceil(a.warmupRatio * maxSteps);
    const schedule: Schedule =
      a.lrSchedulerType === 'linear'
        ? linearSchedule(a.learningRate, warmup, maxSteps)
        : a.lrSchedulerType === 'constant_with_warmup'
          ? constantWithWarmupSchedule(a.learningRate, warmup)
          : constantSchedule(a.learningRate);
    const loggingSteps = a.loggingSteps ?? Math.max(1, Math.min(50, Math.floor(maxSteps / 50)));

    let resumeDir: string | undefined;
    if (opts.resumeFromCheckpoint === true) {
      const found = await listCheckpoints(a.outputDir);
      if (found.length === 0) throw new ResumeError(`${a.outputDir}: no checkpoint-N directory to resume from; start without resuming`);
      resumeDir = found.at(-1)!.dir;
    } else if (typeof opts.resumeFromCheckpoint === 'string') {
      resumeDir = opts.resumeFromCheckpoint;
    }

    const step = await model.compileTraining({
      sparseMlm: this.opts.sparseMlm,
      disableDropout: a.disableDropout,
      dropoutSeed: a.seed,
      threads: a.threads,
      trainable: this.trainable(),
    });
    const optimizer = new AdamW({ beta1: a.adamBeta1, beta2: a.adamBeta2, eps: a.adamEpsilon, weightDecay: a.weightDecay });
    const lrScale = loraPlusScale(this.opts.peft);

    let globalStep = 0;
    let epochIndex = 0;
    let batchInEpoch = 0;
    let samplesSeen = 0;
    let bestMetric: number | undefined;
    let bestCheckpoint: string | undefined;
    let patience = 0;
    let runId: string = randomUUID();
    // What the run's earlier segments add to this one's figures.
    let before: RunTotals = { seconds: 0, samples: 0, lossSum: 0, steps: 0 };
    this.history = [];
    if (resumeDir) {
      const state = await readTrainerState(resumeDir);
      if (state.maxSteps !== maxSteps) {
        throw new ResumeError(`${resumeDir}: saved for a run of ${state.maxSteps} steps, this run has ${maxSteps}; resume with the same data and arguments`);
      }
      await this.restore(resumeDir);
      await loadOptimizerState(join(resumeDir, OPTIMIZER_FILE), optimizer, step.trainable);
      if (state.dropoutRng && step.masks) step.masks.setRngState(state.dropoutRng);
      globalStep = state.globalStep;
      epochIndex = state.epochIndex;
      batchInEpoch = state.batchInEpoch;
      samplesSeen = state.samplesSeen;
      bestMetric = state.bestMetric;
      bestCheckpoint = state.bestModelCheckpoint;
      patience = state.patienceCounter;
      this.history = state.logHistory.map((r) => ({ ...r }));
      runId = state.runId ?? runId;
      before = state.totals ?? before;
    }

    const startedAt = performance.now();
    const startSamples = samplesSeen;
    // This segment's loss sum and steps (the run's earlier segments are in `before`).
    let runLossSum = 0;
    let runSteps = 0;
    let lastLoss = Number.NaN;
    const progress = (): TrainerProgress => ({
      globalStep,
      maxSteps,
      epoch: epochIndex + batchInEpoch / batchesPerEpoch,
      numEpochs,
      samplesPerSecond: (samplesSeen - startSamples) / Math.max(1e-9, (performance.now() - startedAt) / 1000),
      loss: lastLoss,
      learningRate: schedule(Math.min(globalStep, maxSteps - 1)),
    });
    const emit = <K extends keyof TrainerCallback>(hook: K, ...rest: unknown[]) => {
      for (const cb of this.callbacks) (cb[hook] as ((...x: unknown[]) => void) | undefined)?.call(cb, progress(), ...rest);
    };
    const log = async (record: Record<string, number>) => {
      const full = { ...record, epoch: round(progress().epoch, 4), step: globalStep };
      this.history.push(full);
      await this.writeOrExplain({ step: globalStep, runId, what: 'the training log' }, () => this.writeLogs());
      emit('onLog', full);
    };

    const totals = (): RunTotals => ({
      seconds: before.seconds + (performance.now() - startedAt) / 1000,
      samples: before.samples + samplesSeen - startSamples,
      lossSum: before.lossSum + runLossSum,
      steps: before.steps + runSteps,
    });
    const save = async (): Promise<string> => {
      const dir = await this.writeOrExplain({ step: globalStep, runId }, () =>
        writeCheckpointDir(a.outputDir, globalStep, async (tmp) => {
          await this.writeModel(tmp);
          await saveOptimizerState(join(tmp, OPTIMIZER_FILE), optimizer, { global_step: String(globalStep) });
          const state: TrainerStateFile = {
            format: 'tuna-trainer-state',
            globalStep,
            epoch: progress().epoch,
            epochIndex,
            batchInEpoch,
            maxSteps,
            bestMetric,
            bestModelCheckpoint: bestCheckpoint,
            patienceCounter: patience,
            logHistory: this.history,
            dropoutRng: step.masks?.rngState(),
            samplesSeen,
            runId,
            totals: totals(),
          };
          await writeTrainerState(join(tmp, TRAINER_STATE_FILE), state);
        }),
      );
      await rotateCheckpoints(a.outputDir, a.saveTotalLimit, { runId, keep: bestCheckpoint });
      emit('onSave', dir);
      return dir;
    };

    // Evaluates, tracks the best metric, and reports whether early stopping should end training.
    let earlyStopped = false;
    const evaluateAndTrack = async (): Promise<boolean> => {
      const metrics = await this.evaluate();
      await log(metrics);
      const key = `eval_${a.metricForBestModel}`;
      const value = metrics[key];
      if (value === undefined) {
        throw new TrainingArgumentsError(
          'metricForBestModel',
          `no metric "${a.metricForBestModel}" after evaluation; available: ${Object.keys(metrics)
            .map((k) => k.replace(/^eval_/, ''))
            .join(', ')}`,
        );
      }
      const improved = bestMetric === undefined || (a.greaterIsBetter ? value > bestMetric + a.earlyStoppingThreshold : value < bestMetric - a.earlyStoppingThreshold);
      if (improved) {
        bestMetric = value;
        bestCheckpoint = join(a.outputDir, `checkpoint-${globalStep}`);
        patience = 0;
      } else patience++;
      return a.earlyStoppingPatience !== undefined && patience >= a.earlyStoppingPatience;
    };

    emit('onTrainBegin');
    const accum = a.gradientAccumulationSteps;
    const accumulated = accum > 1 ? new Map(step.trainable.map((p) => [p.name, new Float32Array(p.data.length)])) : undefined;
    let lossSinceLog = 0;
    let stepsSinceLog = 0;
    let interrupted = false;
    try {
      training: while (globalStep < maxSteps) {
        const plan = planBatches(lengths, { batchSize: a.perDeviceTrainBatchSize, shuffle: a.shuffleTrain, seed: a.seed + epochIndex, groupByLength: a.groupByLength });
        let micro = 0;
        let microLoss = 0;
        while (batchInEpoch < plan.length) {
          const indices = plan[batchInEpoch]!;
          const batch = this.opts.dataCollator
            ? this.opts.dataCollator(data, indices, { epoch: epochIndex, seed: a.seed })
            : collate(data, indices, { padId: model.config.pad_token_id, task: this.task! });
          const result = await step.run(batch);
          if (!Number.isFinite(result.loss)) {
            throw new TrainingArgumentsError('learningRate', `the training loss became ${result.loss} at step ${globalStep + 1}; lower the learning rate or check the labels`);
          }
          if (accumulated) for (const [name, g] of result.grads) addInto(accumulated.get(name)!, g, micro === 0);
          micro++;
          microLoss += result.loss;
          batchInEpoch++;
          samplesSeen += indices.length;
          const endOfEpoch = batchInEpoch === plan.length;
          if (micro < accum && !endOfEpoch) continue;

          const lr = schedule(globalStep);
          const norm = accumulated ? globalNorm(accumulated.values()) / micro : result.gradNorm;
          const coef = a.maxGradNorm > 0 ? clipCoefficient(norm, a.maxGradNorm) : 1;
          optimizer.update(step.trainable, accumulated ?? result.grads, lr, coef / micro, lrScale);
          globalStep++;
          lastLoss = microLoss / micro;
          lossSinceLog += lastLoss;
          stepsSinceLog++;
          runLossSum += lastLoss;
          runSteps++;
          micro = 0;
          microLoss = 0;
          if (endOfEpoch) {
            epochIndex++;
            batchInEpoch = 0;
          }
          emit('onStep');

          const last = globalStep >= maxSteps;
          if (globalStep % loggingSteps === 0 || last) {
            await log({ loss: round(lossSinceLog / stepsSinceLog, 6), learning_rate: lr, grad_norm: round(norm, 6) });
            lossSinceLog = 0;
            stepsSinceLog = 0;
          }
          const evalNow = (a.evalStrategy === 'steps' && globalStep % a.evalSteps === 0) || (a.evalStrategy === 'epoch' && endOfEpoch) || (last && a.evalStrategy !== 'no');
          if (evalNow) earlyStopped = await evaluateAndTrack();
          const saveNow =
            (a.saveStrategy === 'steps' && globalStep % a.saveSteps === 0) || (a.saveStrategy === 'epoch' && endOfEpoch) || (last && a.saveStrategy !== 'no') || earlyStopped;
          if (saveNow || this.stopRequested) await save();
          if (this.stopRequested && !last) {
            interrupted = true;
            break training;
          }
          if (earlyStopped || last) break training;
          if (endOfEpoch) break;
        }
      }
    } finally {
      await step.release();
    }

    if (!interrupted && a.loadBestModelAtEnd && bestCheckpoint && existsSync(bestCheckpoint)) await this.restore(bestCheckpoint);
    const run = totals();
    const metrics = {
      train_runtime: round(run.seconds, 3),
      train_samples_per_second: round(run.samples / run.seconds, 3),
      train_steps_per_second: round(run.steps / run.seconds, 3),
      train_loss: run.steps ? run.lossSum / run.steps : Number.NaN,
      epoch: round(progress().epoch, 4),
    };
    emit('onTrainEnd');
    if (!interrupted) {
      const results = `${JSON.stringify({ ...metrics, global_step: globalStep, best_metric: bestMetric ?? null }, null, 2)}\n`;
      await this.writeOrExplain({ step: globalStep, runId, what: `the model into ${a.outputDir}` }, async () => {
        await this.saveModel();
        await writeFileAtomic(join(a.outputDir, 'train_results.json'), new TextEncoder().encode(results));
      });
    }
    return {
      globalStep,
      trainingLoss: metrics.train_loss,
      metrics,
      interrupted,
      earlyStopped,
      bestModelCheckpoint: bestCheckpoint,
    };
  }

  /** Runs a checkpoint or model write; a failure is reported with the last complete checkpoint to resume from. */
  private async writeOrExplain<T>(at: { step: number; runId: string; what?: string }, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (e) {
      throw await checkpointWriteError(e, { outputDir: this.args.outputDir, ...at });
    }
  }

  /** Writes the model (and tokenizer) as a Hugging Face checkpoint into `dir` (default: the output directory). */
  async saveModel(dir = this.args.outputDir): Promise<void> {
    await this.writeModel(dir);
  }

  /** The model, or the adapter of a parameter-efficient run, with the tokenizer. */
  private async writeModel(dir: string): Promise<void> {
    if (this.peft) await this.peft.save(dir);
    else await this.model.savePretrained(dir);
    await this.opts.tokenizer?.save(dir);
  }

  /** Copies a checkpoint's weights (the adapter's, in a parameter-efficient run) into the model. */
  private async restore(dir: string): Promise<void> {
    if (this.peft) await restoreAdapterWeights(dir, this.peft);
    else await restoreWeights(dir, this.model.store);
  }

  /** What trains: the method's parameters (when there is one) and what `trainableParameters` allows. */
  private trainable(): ((name: string) => boolean) | undefined {
    const filter = this.opts.trainableParameters;
    const peft = this.peft;
    if (!peft) return filter;
    return filter ? (name) => peft.isTrainable(name) && filter(name) : peft.isTrainable;
  }

  private async writeLogs(): Promise<void> {
    const dir = this.args.outputDir;
    await writeFileAtomic(join(dir, METRICS_LOG), new TextEncoder().encode(this.history.map((r) => JSON.stringify(r)).join('\n') + '\n'));
    await writeFileAtomic(join(dir, LEARNING_CURVE), new TextEncoder().encode(learningCurveSvg(this.history)));
  }

  /**
   * Runs the model over a dataset (default: the evaluation set) and returns `eval_loss`, the
   * metrics of `computeMetrics` prefixed with `eval_`, `eval_runtime` and `eval_samples_per_second`.
   */
  async evaluate(dataset: readonly Feature[] | undefined = this.opts.evalDataset, prefix = 'eval'): Promise<Record<string, number>> {
    const t0 = performance.now();
    if (this.opts.evaluate && dataset === this.opts.evalDataset) {
      const out: Record<string, number> = {};
      for (const [k, v] of Object.entries(await this.opts.evaluate())) out[`${prefix}_${k}`] = v;
      out[`${prefix}_runtime`] = round((performance.now() - t0) / 1000, 3);
      return out;
    }
    if (!dataset || dataset.length === 0) throw new TrainingArgumentsError('evalDataset', 'nothing to evaluate: give an evaluation dataset');
    if (this.task === undefined) taskKind(this.model);
    const { prediction, loss } = await this.predictWithLoss(dataset);
    const out: Record<string, number> = {};
    if (loss !== undefined) out[`${prefix}_loss`] = round(loss, 6);
    for (const [k, v] of Object.entries(this.opts.computeMetrics?.(prediction) ?? {})) out[`${prefix}_${k}`] = v;
    const seconds = (performance.now() - t0) / 1000;
    out[`${prefix}_runtime`] = round(seconds, 3);
    out[`${prefix}_samples_per_second`] = round(dataset.length / seconds, 3);
    return out;
  }

  /** Logits for every example of `dataset` (dropout off), with the metrics when it has labels. */
  async predict(dataset: readonly Feature[]): Promise<{ prediction: EvalPrediction; metrics: Record<string, number> }> {
    const { prediction, loss } = await this.predictWithLoss(dataset);
    const metrics: Record<string, number> = loss === undefined ? {} : { test_loss: loss };
    if (loss !== undefined) for (const [k, v] of Object.entries(this.opts.computeMetrics?.(prediction) ?? {})) metrics[`test_${k}`] = v;
    return { prediction, metrics };
  }

  private predictWithLoss(dataset: readonly Feature[]): Promise<{ prediction: EvalPrediction; loss?: number }> {
    return predictDataset(this.model, dataset, { batchSize: this.args.perDeviceEvalBatchSize });
  }

  /** Removes checkpoint directories from the output directory (after a finished run, when they are not wanted). */
  async removeCheckpoints(): Promise<void> {
    for (const c of await listCheckpoints(this.args.outputDir)) await rm(c.dir, { recursive: true, force: true });
  }
}

function addInto(acc: Float32Array, g: Float32Array, first: boolean): void {
  if (first) acc.set(g);
  else for (let i = 0; i < acc.length; i++) acc[i]! += g[i]!;
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
