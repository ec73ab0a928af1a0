/**
 * The bi-encoder losses of sentence-transformers as ONNX graph pieces over the embeddings of a
 * batch's columns (each [pairs, dim]): MultipleNegativesRanking (in-batch negatives, hard
 * negatives, symmetric), CoSENT, CosineSimilarity (MSE), Contrastive, Triplet, and Matryoshka
 * over any of them. Formulas as sentence-transformers 6 defines them (cosine similarity, scale 20,
 * margins 0.5 and 5 by default).
 */
import { TunaError } from '../errors.js';
import type { Graph, Value } from '../onnx/graph.js';
import { l2NormalizeRows } from './pooling.js';

/** The losses, by their CLI names. */
export const SENTENCE_LOSSES = ['mnrl', 'mnrl-symmetric', 'cosent', 'cosine', 'contrastive', 'triplet'] as const;
export type SentenceLossName = (typeof SENTENCE_LOSSES)[number];

/** A loss and its settings. */
export interface SentenceLossOptions {
  readonly loss: SentenceLossName;
  /** Multiplies cosine similarities before the softmax (MNRL, CoSENT); default 20. */
  readonly scale?: number;
  /** Contrastive: distance margin of negatives (default 0.5); triplet: margin (default 5). */
  readonly margin?: number;
  /** Matryoshka: also train the embedding's first `d` dimensions for each `d` (largest first). */
  readonly matryoshkaDims?: readonly number[];
  /** Weight of each Matryoshka dimension (default 1 each). */
  readonly matryoshkaWeights?: readonly number[];
}

/** Which data kinds a loss takes. */
export const LOSS_DATA: Readonly<Record<SentenceLossName, readonly ('pairs' | 'triplets' | 'scored' | 'texts')[]>> = {
  mnrl: ['pairs', 'triplets', 'texts'],
  'mnrl-symmetric': ['pairs', 'triplets', 'texts'],
  cosent: ['scored'],
  cosine: ['scored'],
  contrastive: ['scored'],
  triplet: ['triplets'],
};

/** The batch inputs a loss graph reads besides the token tensors. */
export interface LossInputs {
  /** int64 [pairs]: 0, 1, ..., pairs-1 (the index of each anchor's positive). */
  readonly pairIndex: Value;
  /** float32 [pairs]: the score or 0/1 label of scored pairs. */
  readonly scores?: Value;
  /** float32 [pairs, pairs]: 1 where score i < score j (CoSENT's ordered pairs). */
  readonly orderMask?: Value;
}

/** Row-wise cosine similarity of two [pairs, dim] tensors: [pairs]. */
function pairwiseCosine(g: Graph, a: Value, b: Value): Value {
  return g.reduceSum(g.mul(l2NormalizeRows(g, a), l2NormalizeRows(g, b)), [1]);
}

/** Cosine similarities of every row of `a` with every row of `b`: [rows a, rows b]. */
function cosineMatrix(g: Graph, a: Value, b: Value): Value {
  return g.gemm(l2NormalizeRows(g, a), l2NormalizeRows(g, b), undefined, { transB: true });
}

/** log(1 + sum(exp(x))) over every element of `x`, shifted for stability. */
function logOnePlusSumExp(g: Graph, x: Value): Value {
  const flat = g.reshape(x, [-1]);
  const shift = g.relu(g.reduceMax(flat));
  return g.add(shift, g.log(g.add(g.exp(g.neg(shift)), g.reduceSum(g.exp(g.sub(flat, shift))))));
}

function single(g: Graph, columns: readonly Value[], inputs: LossInputs, opts: SentenceLossOptions): Value {
  const scale = opts.scale ?? 20;
  const [a, b] = columns as [Value, Value];
  switch (opts.loss) {
    case 'mnrl':
    case 'mnrl-symmetric': {
      // Each anchor against every positive and negative of the batch; its own positive is the target.
      const candidates = columns.length > 2 ? g.concat(columns.slice(1), 0) : b;
      const forward = g.softmaxCrossEntropyLoss(g.mul(cosineMatrix(g, a, candidates), scale), inputs.pairIndex).loss;
      if (opts.loss === 'mnrl') return forward;
      // And each positive against every anchor.
      const backward = g.softmaxCrossEntropyLoss(g.mul(cosineMatrix(g, b, a), scale), inputs.pairIndex).loss;
      return g.mul(g.add(forward, backward), 0.5);
    }
    case 'cosent': {
      const s = g.mul(pairwiseCosine(g, a, b), scale);
      const diff = g.sub(g.unsqueeze(s, [1]), g.unsqueeze(s, [0]));
      // Pairs (i, j) with score i < score j count; the others are pushed to -1e12.
      return logOnePlusSumExp(g, g.add(diff, g.mul(g.sub(inputs.orderMask!, 1), 1e12)));
    }
    case 'cosine': {
      const d = g.sub(pairwiseCosine(g, a, b), inputs.scores!);
      return g.reduceMean(g.mul(d, d));
    }
    case 'contrastive': {
      const margin = opts.margin ?? 0.5;
      const distance = g.sub(1, pairwiseCosine(g, a, b));
      const far = g.relu(g.sub(margin, distance));
      const labels = inputs.scores!;
      const terms = g.add(g.mul(labels, g.mul(distance, distance)), g.mul(g.sub(1, labels), g.mul(far, far)));
      return g.reduceMean(g.mul(terms, 0.5));
    }
    case 'triplet': {
      const margin = opts.margin ?? 5;
      const c = columns[2]!;
      const distance = (x: Value, y: Value) => {
        const d = g.sub(x, y);
        return g.sqrt(g.reduceSum(g.mul(d, d), [1]));
      };
      return g.reduceMean(g.relu(g.add(g.sub(distance(a, b), distance(a, c)), margin)));
    }
  }
}

/**
 * The loss of a batch from its columns' embeddings. With Matryoshka dimensions, the sum over the
 * dimensions (largest first) of weight x loss on the embeddings cut to that many dimensions and
 * renormalised, as sentence-transformers' MatryoshkaLoss computes it.
 */
export function sentenceLoss(g: Graph, columns: readonly Value[], inputs: LossInputs, opts: SentenceLossOptions): Value {
  const dims = opts.matryoshkaDims;
  if (!dims?.length) return single(g, columns, inputs, opts);
  const weights = opts.matryoshkaWeights ?? dims.map(() => 1);
  const order = dims.map((d, i) => ({ d, w: weights[i] ?? 1 })).sort((x, y) => y.d - x.d);
  let total: Value | undefined;
  for (const { d, w } of order) {
    const cut = columns.map((c) => l2NormalizeRows(g, g.slice(c, [0], [d], [1])));
    const term = g.mul(single(g, cut, inputs, opts), w);
    total = total ? g.add(total, term) : term;
  }
  return total!;
}

/** Checks a loss against the data it is given and the embedding size. */
export function checkLoss(opts: SentenceLossOptions, kind: 'pairs' | 'triplets' | 'scored' | 'texts', dimension: number, file: string): void {
  if (!LOSS_DATA[opts.loss].includes(kind)) {
    const need = LOSS_DATA[opts.loss]
      .map((k) => (k === 'scored' ? 'sentence1, sentence2, score' : k === 'triplets' ? 'anchor, positive, negative' : k === 'pairs' ? 'anchor, positive' : 'text'))
      .join(' or ');
    throw new TunaError('invalid_data', `${file}: the ${opts.loss} loss needs columns ${need}, but the file holds ${kind}`, { file, field: 'loss' });
  }
  for (const d of opts.matryoshkaDims ?? []) {
    if (!Number.isInteger(d) || d < 1 || d > dimension) {
      throw new TunaError('invalid_option', `Matryoshka dimension ${d} must be an integer from 1 to the embedding size ${dimension}`, { field: 'matryoshkaDims' });
    }
  }
  if (opts.matryoshkaWeights && opts.matryoshkaWeights.length !== (opts.matryoshkaDims?.length ?? 0)) {
    throw new TunaError('invalid_option', 'give one Matryoshka weight per Matryoshka dimension', { field: 'matryoshkaWeights' });
  }
}

/** CoSENT's order mask of a batch's scores: 1 at (i, j) where score i < score j. */
export function orderMask(scores: readonly number[]): Float32Array {
  const n = scores.length;
  const out = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] = scores[i]! < scores[j]! ? 1 : 0;
  return out;
}
