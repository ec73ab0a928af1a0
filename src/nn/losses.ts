/**
 * The losses Hugging Face's task heads compute, shared by every family: sequence classification
 * by problem type, token classification and masked LM (cross-entropy ignoring label -100).
 */
import type { Graph, Value } from '../onnx/graph.js';
import type { Dim } from '../onnx/shape.js';

/** How a sequence classifier computes its loss (`problem_type` in config.json). */
export type ClassificationProblem = 'single_label_classification' | 'multi_label_classification' | 'regression';

/**
 * The loss of sequence-classification `logits` [batch, n] for `problem` (inferred as Hugging Face
 * does when undefined: regression for one label, single-label classification otherwise). Declares
 * the `labels` input: int64 [batch] for single-label, float32 [batch] or [batch, n] for regression,
 * float32 [batch, n] for multi-label.
 */
export function sequenceClassificationLoss(g: Graph, logits: Value, n: number, problem: ClassificationProblem | undefined, batch: Dim): Value {
  const kind = problem ?? (n === 1 ? 'regression' : 'single_label_classification');
  if (kind === 'single_label_classification') {
    return g.softmaxCrossEntropyLoss(logits, g.input('labels', 'int64', [batch]), { ignoreIndex: -100 }).loss;
  }
  if (kind === 'regression') {
    const labels = g.input('labels', 'float32', n === 1 ? [batch] : [batch, n]);
    const pred = n === 1 ? g.squeeze(logits, [1]) : logits;
    const diff = g.sub(pred, labels);
    return g.reduceMean(g.mul(diff, diff));
  }
  // Mean binary cross-entropy with logits, stable: max(x, 0) - x*y + log(1 + exp(-|x|)).
  const labels = g.input('labels', 'float32', [batch, n]);
  return g.reduceMean(g.add(g.sub(g.relu(logits), g.mul(logits, labels)), g.log(g.add(g.exp(g.neg(g.abs(logits))), 1))));
}

/**
 * Mean cross-entropy of per-token `logits` [batch, seq, n] against the `labels` input (int64
 * [batch, seq], -100 ignored), as token classification and the dense masked-LM loss compute it.
 */
export function tokenCrossEntropyLoss(g: Graph, logits: Value, n: number, batch: Dim, sequence: Dim): Value {
  const labels = g.input('labels', 'int64', [batch, sequence]);
  return g.softmaxCrossEntropyLoss(g.reshape(logits, [-1, n]), g.reshape(labels, [-1]), { ignoreIndex: -100 }).loss;
}

/**
 * The sparse masked-LM loss: `head` scores the hidden states [rows, hidden] gathered at the
 * `masked_positions` input (flat indices into [batch * seq]) against `masked_labels`.
 */
export function sparseMaskedLmLoss(g: Graph, sequenceOutput: Value, hidden: number, head: (rows: Value) => Value): Value {
  const positions = g.input('masked_positions', 'int64', ['masked_count']);
  const labels = g.input('masked_labels', 'int64', ['masked_count']);
  const rows = g.gather(g.reshape(sequenceOutput, [-1, hidden]), positions, 0);
  return g.softmaxCrossEntropyLoss(head(rows), labels, { ignoreIndex: -100 }).loss;
}

/** The hidden states [mask_count, hidden] at the `mask_positions` input (fill-mask at given positions). */
export function rowsAtMaskPositions(g: Graph, sequenceOutput: Value, hidden: number): Value {
  const positions = g.input('mask_positions', 'int64', ['mask_count']);
  return g.gather(g.reshape(sequenceOutput, [-1, hidden]), positions, 0);
}
