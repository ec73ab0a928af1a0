/**
 * Cross-encoders (rerankers): a sequence classifier that reads a (query, passage) pair as one input
 * and scores it, as sentence-transformers' CrossEncoder does. This module holds the host-side parts
 * on a handful of numbers per pair: the activation on the logits, the ranking of documents, the
 * binary scores of a validation set, and saving a trained model in the CrossEncoder layout.
 */
import type { PreTrainedModel } from '../models/pretrained-model.js';
import type { Tokenizer } from '../models/registry.js';
import { type CrossEncoderActivation, writeCrossEncoderLayout } from './cross-encoder-layout.js';

/** `activation` applied to one logit. */
export function activate(x: number, activation: CrossEncoderActivation): number {
  switch (activation) {
    case 'sigmoid':
      return 1 / (1 + Math.exp(-x));
    case 'tanh':
      return Math.tanh(x);
    case 'relu':
      return Math.max(0, x);
    default:
      return x;
  }
}

/** One ranked document, as CrossEncoder.rank returns it. */
export interface RankedDocument {
  /** Index of the document in the list given. */
  readonly corpus_id: number;
  readonly score: number;
  /** The document, with `returnDocuments`. */
  readonly text?: string;
}

/**
 * Documents ordered by score, best first (equal scores keep their input order, as Python's stable
 * sort does), the first `topK` of them (all when undefined), with their texts when `documents` is
 * given.
 */
export function rankDocuments(scores: readonly number[], opts: { topK?: number; documents?: readonly string[] } = {}): RankedDocument[] {
  const order = [...scores.keys()].sort((a, b) => scores[b]! - scores[a]! || a - b);
  return order
    .slice(0, opts.topK ?? order.length)
    .map((i) => (opts.documents ? { corpus_id: i, score: scores[i]!, text: opts.documents[i]! } : { corpus_id: i, score: scores[i]! }));
}

/** Binary scores of a validation set at the 0.5 threshold. */
export interface BinaryScores {
  readonly accuracy: number;
  /** F1 of the positive class (0 when nothing is predicted or labelled positive). */
  readonly f1: number;
  readonly precision: number;
  readonly recall: number;
  /**
   * Average precision of the ranking by score (scikit-learn's `average_precision_score`: the mean,
   * over the score thresholds, of precision weighted by the recall gained; tied scores form one
   * threshold).
   */
  readonly average_precision: number;
}

/**
 * Accuracy, precision, recall and F1 of `probabilities` >= 0.5 against 0/1 `labels`, and the
 * average precision of the ranking by probability.
 */
export function binaryScores(probabilities: readonly number[], labels: readonly number[]): BinaryScores {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let correct = 0;
  probabilities.forEach((p, i) => {
    const predicted = p >= 0.5 ? 1 : 0;
    const gold = labels[i]! >= 0.5 ? 1 : 0;
    if (predicted === gold) correct++;
    if (predicted === 1 && gold === 1) tp++;
    else if (predicted === 1) fp++;
    else if (gold === 1) fn++;
  });
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { accuracy: correct / Math.max(1, probabilities.length), f1, precision, recall, average_precision: averagePrecision(probabilities, labels) };
}

/** Average precision as scikit-learn computes it (step-wise, ties grouped). */
export function averagePrecision(scores: readonly number[], labels: readonly number[]): number {
  const positives = labels.filter((l) => l >= 0.5).length;
  if (positives === 0) return 0;
  const order = [...scores.keys()].sort((a, b) => scores[b]! - scores[a]!);
  let tp = 0;
  let seen = 0;
  let lastRecall = 0;
  let ap = 0;
  for (let i = 0; i < order.length; i++) {
    seen++;
    if (labels[order[i]!]! >= 0.5) tp++;
    // A threshold ends where the next score differs.
    if (i + 1 < order.length && scores[order[i + 1]!] === scores[order[i]!]) continue;
    const recall = tp / positives;
    ap += (recall - lastRecall) * (tp / seen);
    lastRecall = recall;
  }
  return ap;
}

/**
 * Saves `model` (a sequence classifier) and `tokenizer` as a CrossEncoder directory: the Hugging
 * Face checkpoint, then the sentence-transformers files with `activation`. Returns the files of
 * the layout written.
 */
export async function saveCrossEncoder(
  dir: string,
  model: PreTrainedModel,
  tokenizer: Tokenizer | undefined,
  activation: CrossEncoderActivation,
  versions: Readonly<Record<string, string>> = {},
): Promise<string[]> {
  await model.savePretrained(dir);
  await tokenizer?.save(dir);
  return writeCrossEncoderLayout(dir, activation, versions);
}
