/**
 * SetFit-style few-shot classification: contrastive fine-tuning of a sentence-embedding body on
 * pairs generated from the labelled examples (for each example and iteration, one pair with an
 * example of its class, score 1, and one with an example of another class, score 0; the
 * CosineSimilarity loss), then a logistic-regression head fitted on the body's embeddings of the
 * examples. The model is a sentence-transformers directory with `setfit_head.json` beside it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TunaError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { Rng } from '../nn/parameters.js';
import type { OpenModel } from '../pipelines/checkpoint.js';
import { featureExtractionPipeline } from '../pipelines/feature-extraction.js';
import type { PipelineOptions, TextClassificationPipeline } from '../pipelines/types.js';
import type { PreTrainedModel } from '../models/pretrained-model.js';
import type { Tokenizer } from '../models/registry.js';
import type { SentenceDataset } from '../sentence/data.js';
import type { SentenceLayout } from '../sentence/layout.js';
import { saveSentenceTransformer } from '../sentence/model.js';
import { type SentenceTrainingResult, trainSentenceEmbedding } from '../sentence/train.js';
import { classifierPipeline } from './classifier.js';
import { type LogisticHead, fitLogistic, logisticProbabilities } from './logistic.js';
import { trainDifferentiableHead } from './setfit-head.js';

/** The heads SetFit training fits: scikit-learn's logistic regression, or SetFit's differentiable linear head. */
export const SETFIT_HEADS = ['logistic', 'differentiable'] as const;
export type SetFitHeadKind = (typeof SETFIT_HEADS)[number];

/** The head file of a SetFit model directory. */
export const SETFIT_HEAD_FILE = 'setfit_head.json';

/** What `setfit_head.json` holds. */
export interface SetFitHeadFile {
  /** Class names by id. */
  readonly labels: readonly string[];
  /** How the head was trained: `logistic` (the default when absent) or `differentiable`. */
  readonly head?: SetFitHeadKind;
  /** The inverse regularisation strength a logistic head was fitted with. */
  readonly C?: number;
  /** A differentiable head: whether the body was trained with it. */
  readonly end_to_end?: boolean;
  /** Coefficient rows (one for two classes, else one per class) and intercepts. */
  readonly coef: readonly (readonly number[])[];
  readonly intercept: readonly number[];
}

/**
 * The contrastive pairs of `examples` (class ids in `label`): `iterations` rounds, each giving
 * every example a positive pair (another example of its class; itself when it is its class's only
 * one) and a negative pair (an example of another class), drawn from `seed`.
 */
export function setfitPairs(examples: readonly { text: string; label: number }[], iterations: number, seed = 42): SentenceDataset {
  const byClass = new Map<number, number[]>();
  examples.forEach((e, i) => byClass.set(e.label, [...(byClass.get(e.label) ?? []), i]));
  if (byClass.size < 2) throw new TunaError('invalid_data', 'SetFit needs examples of at least two classes', { field: 'label' });
  const rng = new Rng(seed);
  const out: { texts: string[]; score: number }[] = [];
  for (let it = 0; it < iterations; it++) {
    examples.forEach((e, i) => {
      const same = byClass.get(e.label)!.filter((j) => j !== i);
      const positive = same.length ? same[rng.int(same.length)]! : i;
      const others = examples.flatMap((o, j) => (o.label === e.label ? [] : [j]));
      const negative = others[rng.int(others.length)]!;
      out.push({ texts: [e.text, examples[positive]!.text], score: 1 }, { texts: [e.text, examples[negative]!.text], score: 0 });
    });
  }
  return { kind: 'scored', columns: ['sentence1', 'sentence2'], examples: out };
}

/** How the contrastive pairs are drawn: `iterations` rounds (see {@link setfitPairs}), or from all unique pairs. */
export const SETFIT_SAMPLINGS = ['iterations', 'oversampling', 'undersampling', 'unique'] as const;
export type SetFitSampling = (typeof SETFIT_SAMPLINGS)[number];

/**
 * Pairs from all unique pairs of examples (positives: same class, score 1; negatives: different
 * classes, score 0): `unique` keeps them all; `oversampling` repeats pairs of the smaller kind,
 * drawn at random, until both kinds are as many; `undersampling` keeps a random subset of the
 * larger kind as large as the smaller. Shuffled from `seed`.
 */
export function setfitUniquePairs(examples: readonly { text: string; label: number }[], sampling: Exclude<SetFitSampling, 'iterations'>, seed = 42): SentenceDataset {
  const positives: { texts: string[]; score: number }[] = [];
  const negatives: { texts: string[]; score: number }[] = [];
  for (let i = 0; i < examples.length; i++) {
    for (let j = i + 1; j < examples.length; j++) {
      const same = examples[i]!.label === examples[j]!.label;
      (same ? positives : negatives).push({ texts: [examples[i]!.text, examples[j]!.text], score: same ? 1 : 0 });
    }
  }
  if (negatives.length === 0) throw new TunaError('invalid_data', 'SetFit needs examples of at least two classes', { field: 'label' });
  const rng = new Rng(seed);
  const shuffle = <T>(xs: T[]): T[] => {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  };
  let pairs: { texts: string[]; score: number }[];
  const [small, large] = positives.length <= negatives.length ? [positives, negatives] : [negatives, positives];
  if (sampling === 'unique' || small.length === 0) pairs = [...positives, ...negatives];
  else if (sampling === 'undersampling') pairs = [...small, ...shuffle([...large]).slice(0, small.length)];
  else pairs = [...large, ...small, ...Array.from({ length: large.length - small.length }, () => small[rng.int(small.length)]!)];
  return { kind: 'scored', columns: ['sentence1', 'sentence2'], examples: shuffle(pairs) };
}

/** The embeddings the sentence-transformers model in `dir` gives `texts` (its own pooling, no dropout). */
export async function embedTexts(dir: string, texts: readonly string[], opts: { batchSize?: number; threads?: number } = {}): Promise<number[][]> {
  const extractor = await featureExtractionPipeline(dir, opts.threads === undefined ? {} : { threads: opts.threads });
  try {
    return await extractor.runBatch([...texts], { pooling: 'model', batchSize: opts.batchSize ?? 32 });
  } finally {
    await extractor.dispose();
  }
}

/** The share of `X` the head gives the most probability to its example's class. */
function headAccuracy(head: LogisticHead, X: readonly number[][], examples: readonly { label: number }[]): number {
  const correct = X.filter((x, i) => {
    const p = logisticProbabilities(head, x);
    return p.indexOf(Math.max(...p)) === examples[i]!.label;
  }).length;
  return correct / Math.max(1, examples.length);
}

async function writeHead(dir: string, head: SetFitHeadFile): Promise<void> {
  await writeFileAtomic(join(dir, SETFIT_HEAD_FILE), new TextEncoder().encode(`${JSON.stringify(head)}\n`));
}

/**
 * Fits the head on the embeddings the sentence-transformers model in `dir` gives the examples, and
 * writes `dir/setfit_head.json`. Returns the head and its accuracy on the examples.
 */
export async function fitSetFitHead(
  dir: string,
  examples: readonly { text: string; label: number }[],
  labels: readonly string[],
  opts: { C?: number; batchSize?: number; threads?: number } = {},
): Promise<{ head: SetFitHeadFile; trainAccuracy: number }> {
  const X = await embedTexts(
    dir,
    examples.map((e) => e.text),
    opts,
  );
  const C = opts.C ?? 1;
  const fitted = await fitLogistic(
    X,
    examples.map((e) => e.label),
    labels.length,
    { C },
  );
  const head: SetFitHeadFile = { labels, C, coef: fitted.coef, intercept: fitted.intercept };
  await writeHead(dir, head);
  return { head, trainAccuracy: headAccuracy(fitted, X, examples) };
}

/** Reads and checks `dir/setfit_head.json`. */
export async function readSetFitHead(dir: string): Promise<LogisticHead & { labels: readonly string[] }> {
  const file = join(dir, SETFIT_HEAD_FILE);
  let raw: SetFitHeadFile;
  try {
    raw = JSON.parse(await readFile(file, 'utf8')) as SetFitHeadFile;
  } catch (e) {
    throw new TunaError('invalid_checkpoint', `${file}: cannot be read as JSON (${(e as Error).message})`, { file, cause: e });
  }
  const labels = raw?.labels;
  const rows = Array.isArray(labels) && labels.length === 2 ? 1 : labels?.length;
  if (!Array.isArray(labels) || labels.length < 2 || !Array.isArray(raw.coef) || raw.coef.length !== rows || !Array.isArray(raw.intercept) || raw.intercept.length !== rows) {
    throw new TunaError('invalid_checkpoint', `${file}: needs "labels" (at least two) and "coef"/"intercept" with one row for two labels, else one per label`, { file });
  }
  return { labels, coef: raw.coef as number[][], intercept: raw.intercept as number[], classes: labels.length };
}

/** Loads a SetFit model directory as a text-classification pipeline (the body's embeddings, then the head). */
export async function setfitClassificationPipeline(dir: string, opts: PipelineOptions = {}): Promise<TextClassificationPipeline> {
  const head = await readSetFitHead(dir);
  const extractor = await featureExtractionPipeline(dir, opts);
  const D = head.coef[0]!.length;
  if (extractor.embeddingDimension !== D) {
    await extractor.dispose();
    throw new TunaError('invalid_checkpoint', `${join(dir, SETFIT_HEAD_FILE)}: the head takes ${D}-dimensional embeddings, but the model gives ${extractor.embeddingDimension}`, {
      file: join(dir, SETFIT_HEAD_FILE),
    });
  }
  const checkpoint = {
    dir: extractor.model,
    config: extractor.config,
    tokenizer: extractor.tokenizer,
    maxLength: extractor.maxLength,
    batchSize: opts.batchSize ?? 32,
    session: { release: () => extractor.dispose() },
  } as unknown as OpenModel;
  return classifierPipeline(checkpoint, head.labels, async (inputs, batchSize) => {
    const X = await extractor.runBatch(
      inputs.map((i) => i.text),
      { pooling: 'model', batchSize },
    );
    return X.map((x) => logisticProbabilities(head, x));
  });
}

/** Settings of {@link trainSetFit}. */
export interface SetFitTrainingOptions {
  /** The sentence-embedding body (head `encoder`) and its layout. */
  readonly model: PreTrainedModel;
  readonly tokenizer: Tokenizer;
  readonly layout: SentenceLayout;
  readonly examples: readonly { text: string; label: number }[];
  /** Class names by id. */
  readonly labels: readonly string[];
  /** Where the model is written. */
  readonly output: string;
  /** Pair rounds per example (SetFit's num_iterations; default 20) with sampling `iterations`. */
  readonly iterations?: number;
  /** How pairs are drawn (default `iterations`). */
  readonly sampling?: SetFitSampling;
  readonly batchSize: number;
  readonly epochs?: number;
  readonly maxSteps?: number;
  readonly learningRate: number;
  readonly maxLength: number;
  /** The head's inverse regularisation strength (default 1). */
  readonly C?: number;
  /** Which head is trained after the body (default `logistic`). */
  readonly head?: SetFitHeadKind;
  /** The differentiable head: train the body with it (default false: on frozen embeddings). */
  readonly endToEnd?: boolean;
  /** The differentiable head: passes over the examples (default 16). */
  readonly headEpochs?: number;
  /** The differentiable head: examples per step (default 2). */
  readonly headBatchSize?: number;
  /** The differentiable head's learning rate (default 1e-2). */
  readonly headLearningRate?: number;
  /** The body's learning rate when the differentiable head trains end to end (default half of `learningRate`). */
  readonly bodyLearningRate?: number;
  /** The differentiable head: AdamW's weight decay (SetFit's l2_weight; default 0.01). */
  readonly l2Weight?: number;
  readonly seed?: number;
  readonly disableDropout?: boolean;
  readonly threads?: number;
  readonly versions?: Readonly<Record<string, string>>;
  readonly onStep?: (info: { step: number; maxSteps: number; loss: number }) => void | Promise<void>;
  /** Called after every step of the differentiable head. */
  readonly onHeadStep?: (info: { step: number; maxSteps: number; loss: number }) => void | Promise<void>;
}

/** What {@link trainSetFit} did. */
export interface SetFitTrainingResult {
  /** The contrastive phase. */
  readonly body: SentenceTrainingResult;
  readonly pairs: number;
  readonly head: SetFitHeadFile;
  /** The head's accuracy on the examples' embeddings by the saved body. */
  readonly trainAccuracy: number;
  /** The differentiable head's training (absent for a logistic head). */
  readonly headTraining?: { readonly steps: number; readonly losses: readonly number[]; readonly seconds: number };
}

/**
 * Trains the body on the generated pairs, saves it to `output` as a sentence-transformers model,
 * then trains and writes the head (for a differentiable head trained end to end, the body is
 * saved again after it).
 */
export async function trainSetFit(opts: SetFitTrainingOptions): Promise<SetFitTrainingResult> {
  const sampling = opts.sampling ?? 'iterations';
  const dataset = sampling === 'iterations' ? setfitPairs(opts.examples, opts.iterations ?? 20, opts.seed ?? 42) : setfitUniquePairs(opts.examples, sampling, opts.seed ?? 42);
  const body = await trainSentenceEmbedding({
    model: opts.model,
    tokenizer: opts.tokenizer,
    layout: opts.layout,
    dataset,
    loss: { loss: 'cosine' },
    batchSize: opts.batchSize,
    epochs: opts.epochs ?? 1,
    maxSteps: opts.maxSteps,
    learningRate: opts.learningRate,
    maxLength: opts.maxLength,
    seed: opts.seed,
    disableDropout: opts.disableDropout,
    threads: opts.threads,
    onStep: opts.onStep,
  });
  const save = () => saveSentenceTransformer(opts.output, opts.model, opts.tokenizer, opts.layout, opts.versions ?? {});
  await save();
  const embedOpts = { batchSize: opts.batchSize, threads: opts.threads };
  if ((opts.head ?? 'logistic') === 'logistic') {
    const { head, trainAccuracy } = await fitSetFitHead(opts.output, opts.examples, opts.labels, { C: opts.C, ...embedOpts });
    return { body, pairs: dataset.examples.length, head, trainAccuracy };
  }
  const endToEnd = opts.endToEnd ?? false;
  const trained = await trainDifferentiableHead(
    {
      model: opts.model,
      tokenizer: opts.tokenizer,
      layout: opts.layout,
      examples: opts.examples,
      classes: opts.labels.length,
      endToEnd,
      epochs: opts.headEpochs,
      batchSize: opts.headBatchSize,
      headLearningRate: opts.headLearningRate,
      bodyLearningRate: opts.bodyLearningRate ?? opts.learningRate / 2,
      l2Weight: opts.l2Weight,
      maxLength: opts.maxLength,
      seed: opts.seed,
      disableDropout: opts.disableDropout,
      threads: opts.threads,
      onStep: opts.onHeadStep,
    },
    (texts) => embedTexts(opts.output, texts, embedOpts),
  );
  if (endToEnd) await save();
  const head: SetFitHeadFile = { labels: opts.labels, head: 'differentiable', end_to_end: endToEnd, coef: trained.head.coef, intercept: trained.head.intercept };
  await writeHead(opts.output, head);
  const X = await embedTexts(
    opts.output,
    opts.examples.map((e) => e.text),
    embedOpts,
  );
  return {
    body,
    pairs: dataset.examples.length,
    head,
    trainAccuracy: headAccuracy(trained.head, X, opts.examples),
    headTraining: { steps: trained.steps, losses: trained.losses, seconds: trained.seconds },
  };
}
