/**
 * SetFit's differentiable head: a linear layer over the body's sentence embeddings trained with
 * the softmax cross-entropy, either on frozen embeddings (the body computed once, dropout off) or
 * end to end, the body fine-tuned together with the head at its own learning rate. AdamW at a
 * constant rate with weight decay (on the head's weight and bias, and on the body's parameters that
 * take decay), as SetFit's classifier phase trains it.
 *
 * The trained head is returned in the logistic head's form (for two classes the one row
 * `w1 - w0`, `b1 - b0`, whose sigmoid is the two-row softmax), so the saved model, its pipeline and
 * its export are the same whichever head was trained.
 */
import { TunaError } from '../errors.js';
import type { PreTrainedModel } from '../models/pretrained-model.js';
import type { Tokenizer } from '../models/registry.js';
import { type Parameter, ParameterStore, Rng, initValues } from '../nn/parameters.js';
import type { Value } from '../onnx/graph.js';
import { batchInputs } from '../pipelines/batching.js';
import type { HostTensor } from '../runtime/tensor.js';
import type { SentenceLayout } from '../sentence/layout.js';
import { encodeWithPrompt } from '../sentence/model.js';
import { sentenceEmbedding } from '../sentence/pooling.js';
import { AdamW } from '../train/adamw.js';
import { TrainStep } from '../train/step.js';
import type { LogisticHead } from './logistic.js';

/** Parameter names of the head while it trains (never saved with the body). */
export const HEAD_WEIGHT = 'setfit_head.weight';
export const HEAD_BIAS = 'setfit_head.bias';

/** Settings of {@link trainDifferentiableHead}. */
export interface DifferentiableHeadOptions {
  /** The trained sentence-embedding body (head `encoder`). */
  readonly model: PreTrainedModel;
  readonly tokenizer: Tokenizer;
  readonly layout: SentenceLayout;
  readonly examples: readonly { text: string; label: number }[];
  /** Number of classes (labels 0 .. classes-1). */
  readonly classes: number;
  /** Train the body with the head (default false: the head on frozen embeddings). */
  readonly endToEnd?: boolean;
  /** Passes over the examples (default 16, SetFit's). */
  readonly epochs?: number;
  /** Examples per step (default 2, SetFit's). */
  readonly batchSize?: number;
  /** The head's learning rate (default 1e-2, SetFit's). */
  readonly headLearningRate?: number;
  /** The body's learning rate when training end to end (required then). */
  readonly bodyLearningRate?: number;
  /** AdamW's weight decay for head and body (SetFit's l2_weight, default 0.01). */
  readonly l2Weight?: number;
  readonly maxLength: number;
  /** Seeds the head's initial weights, the batch order and the dropout masks (default 42). */
  readonly seed?: number;
  /** Build the end-to-end graph with dropout off (parity checks). */
  readonly disableDropout?: boolean;
  readonly threads?: number;
  /** Called after every optimizer step. */
  readonly onStep?: (info: { step: number; maxSteps: number; loss: number }) => void | Promise<void>;
}

/** What {@link trainDifferentiableHead} returns. */
export interface DifferentiableHeadResult {
  /** The head in the logistic head's form. */
  readonly head: LogisticHead;
  /** The initial weights [classes, dim] and bias [classes] the head started from. */
  readonly initial: { readonly weight: Float32Array; readonly bias: Float32Array };
  /** The loss of every optimizer step. */
  readonly losses: readonly number[];
  readonly steps: number;
  readonly seconds: number;
}

/** The row-major embeddings of texts as the body computes them without dropout: [texts, dim]. */
export type EmbeddingFn = (texts: readonly string[]) => Promise<number[][]>;

/**
 * Trains the head on `examples`. On frozen embeddings `embed` gives them (the saved body's
 * feature-extraction pipeline); end to end the body in `opts.model` is updated in place.
 */
export async function trainDifferentiableHead(opts: DifferentiableHeadOptions, embed?: EmbeddingFn): Promise<DifferentiableHeadResult> {
  const { examples, classes } = opts;
  if (classes < 2) throw new TunaError('invalid_data', 'the head needs examples of at least two classes', { field: 'label' });
  const stray = examples.findIndex((e) => !Number.isInteger(e.label) || e.label < 0 || e.label >= classes);
  if (stray >= 0) {
    throw new TunaError('invalid_data', `examples[${stray}] has label ${JSON.stringify(examples[stray]!.label)}; labels must be class ids from 0 to ${classes - 1}`, {
      field: 'label',
    });
  }
  const endToEnd = opts.endToEnd ?? false;
  if (endToEnd && !(opts.bodyLearningRate! > 0)) throw new TunaError('invalid_option', 'training end to end needs the body learning rate', { field: 'bodyLearningRate' });
  if (!endToEnd && !embed) throw new TunaError('invalid_option', 'a head on frozen embeddings needs the embedding function', { field: 'embed' });
  const seed = opts.seed ?? 42;
  const X = endToEnd ? undefined : await embed!(examples.map((e) => e.text));
  const dim = X?.[0]?.length ?? opts.layout.dense.at(-1)?.outFeatures ?? opts.layout.pooling.dimension * opts.layout.pooling.modes.length;
  const initial = {
    weight: initValues([classes, dim], { kind: 'normal', std: opts.model.config.initializer_range }, new Rng(seed)),
    bias: new Float32Array(classes),
  };
  const batchSize = opts.batchSize ?? 2;
  const batchesPerEpoch = Math.ceil(examples.length / batchSize);
  const maxSteps = Math.ceil((opts.epochs ?? 16) * batchesPerEpoch);
  const headOptimizer = new AdamW({ weightDecay: opts.l2Weight ?? 0.01 });
  const bodyOptimizer = new AdamW({ weightDecay: opts.l2Weight ?? 0.01 });
  const headLr = opts.headLearningRate ?? 1e-2;

  const store = endToEnd ? opts.model.store : new ParameterStore();
  store.adopt(HEAD_WEIGHT, [classes, dim], Float32Array.from(initial.weight));
  store.adopt(HEAD_BIAS, [classes], Float32Array.from(initial.bias));
  const started = performance.now();
  const losses: number[] = [];
  try {
    const step = await compileHead(opts, store, endToEnd, dim);
    try {
      const isHead = (p: Parameter) => p.name === HEAD_WEIGHT || p.name === HEAD_BIAS;
      const headParams = step.trainable.filter(isHead);
      const bodyParams = step.trainable.filter((p) => !isHead(p));
      for (let epoch = 0; losses.length < maxSteps; epoch++) {
        const order = shuffled(examples.length, seed + epoch);
        for (let b = 0; b < batchesPerEpoch && losses.length < maxSteps; b++) {
          const rows = order.slice(b * batchSize, (b + 1) * batchSize);
          const feeds: Record<string, HostTensor> = {
            labels: { dtype: 'int64', dims: [rows.length], data: BigInt64Array.from(rows, (i) => BigInt(examples[i]!.label)) },
          };
          if (X) feeds.embeddings = { dtype: 'float32', dims: [rows.length, dim], data: Float32Array.from(rows.flatMap((i) => X[i]!)) };
          else
            Object.assign(
              feeds,
              tokenFeeds(
                opts,
                rows.map((i) => examples[i]!.text),
              ),
            );
          const result = await step.run(feeds);
          if (!Number.isFinite(result.loss)) {
            throw new TunaError('non_finite', `the head's training loss became ${result.loss} at step ${losses.length + 1}; lower the head or body learning rate`, {
              field: 'headLearningRate',
            });
          }
          headOptimizer.update(headParams, result.grads, headLr);
          if (bodyParams.length) bodyOptimizer.update(bodyParams, result.grads, opts.bodyLearningRate!);
          losses.push(result.loss);
          await opts.onStep?.({ step: losses.length, maxSteps, loss: result.loss });
        }
      }
    } finally {
      await step.release();
    }
    const weight = store.get(HEAD_WEIGHT)!.data;
    const bias = store.get(HEAD_BIAS)!.data;
    return { head: asLogisticHead(weight, bias, classes, dim), initial, losses, steps: losses.length, seconds: (performance.now() - started) / 1000 };
  } finally {
    store.delete(HEAD_WEIGHT);
    store.delete(HEAD_BIAS);
  }
}

/** The softmax head (`classes` rows) as a logistic head: two classes become one row of differences. */
export function asLogisticHead(weight: Float32Array, bias: Float32Array, classes: number, dim: number): LogisticHead {
  const row = (k: number) => Array.from(weight.subarray(k * dim, (k + 1) * dim));
  if (classes === 2) {
    const w0 = row(0);
    return { coef: [row(1).map((w, j) => w - w0[j]!)], intercept: [bias[1]! - bias[0]!], classes };
  }
  return { coef: Array.from({ length: classes }, (_, k) => row(k)), intercept: Array.from(bias), classes };
}

/** The training graph: (body, pooling,) linear head, cross-entropy. */
async function compileHead(opts: DifferentiableHeadOptions, store: ParameterStore, endToEnd: boolean, dim: number): Promise<TrainStep> {
  const { model, layout } = opts;
  const config = opts.disableDropout ? model.family.withDropout(model.config, 0) : model.config;
  return TrainStep.create(
    store,
    (ctx) => {
      const g = ctx.scope.g;
      let embeddings: Value;
      if (endToEnd) {
        const hidden = model.buildGraph(ctx, {}, config).outputs.last_hidden_state;
        if (!hidden) throw new TunaError('unsupported_model', `${model.architecture} gives no last_hidden_state to pool`);
        const attentionMask = g.inputs.find((v) => v.name === 'attention_mask')!;
        embeddings = sentenceEmbedding(ctx, { hidden, attentionMask }, layout, { normalize: layout.normalize, maxPositions: model.config.max_position_embeddings });
        if (embeddings.shape[1] !== dim) {
          throw new TunaError('invalid_checkpoint', `the body's sentence embedding has ${String(embeddings.shape[1])} dimensions, but its layout gives ${dim}`, {
            field: 'layout',
          });
        }
      } else {
        embeddings = g.input('embeddings', 'float32', ['batch', dim]);
      }
      const w = ctx.scope.param(HEAD_WEIGHT, [opts.classes, dim], { kind: 'zeros' });
      const b = ctx.scope.param(HEAD_BIAS, [opts.classes], { kind: 'zeros' });
      const logits = g.gemm(embeddings, w, b, { transB: true });
      return { loss: g.softmaxCrossEntropyLoss(logits, g.input('labels', 'int64', [embeddings.shape[0]!])).loss };
    },
    { session: { threads: opts.threads }, dropoutSeed: opts.seed ?? 42, initStd: model.config.initializer_range },
  );
}

/** The token tensors of a batch of texts (the layout's prompts are not applied by SetFit). */
function tokenFeeds(opts: DifferentiableHeadOptions, texts: readonly string[]): Record<string, HostTensor> {
  return batchInputs(encodeWithPrompt(opts.tokenizer, texts, '', opts.maxLength), opts.tokenizer.padTokenId).feeds;
}

/** 0 .. n-1 in a seeded random order. */
function shuffled(n: number, seed: number): number[] {
  const order = [...Array(n).keys()];
  const rng = new Rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}
