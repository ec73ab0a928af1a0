/** The losses Hugging Face's heads compute, as graph nodes (shared by the ELECTRA and ALBERT families). */
import type { Graph, Value } from '../../onnx/graph.js';
import { BATCH, SEQUENCE } from '../bert/modeling.js';
import { type ModelConfig, numLabels } from '../heads.js';

/** Element-wise binary cross-entropy with logits, in the stable form max(x, 0) - x*y + log(1 + exp(-|x|)). */
export function binaryCrossEntropyWithLogits(g: Graph, logits: Value, targets: Value): Value {
  return g.add(g.sub(g.relu(logits), g.mul(logits, targets)), g.log(g.add(g.exp(g.neg(g.abs(logits))), 1)));
}

/**
 * A sequence classifier's loss for the config's problem type (declaring the `labels` input):
 * cross-entropy (ignore index -100), mean squared error for regression, mean binary cross-entropy
 * for multi-label classification, as XForSequenceClassification computes it.
 */
export function sequenceClassificationLoss(g: Graph, cfg: ModelConfig, logits: Value): Value {
  const n = numLabels(cfg);
  const problem = cfg.problem_type ?? (n === 1 ? 'regression' : 'single_label_classification');
  if (problem === 'single_label_classification') {
    return g.softmaxCrossEntropyLoss(logits, g.input('labels', 'int64', [BATCH]), { ignoreIndex: -100 }).loss;
  }
  if (problem === 'regression') {
    const labels = g.input('labels', 'float32', n === 1 ? [BATCH] : [BATCH, n]);
    const pred = n === 1 ? g.squeeze(logits, [1]) : logits;
    const diff = g.sub(pred, labels);
    return g.reduceMean(g.mul(diff, diff));
  }
  return g.reduceMean(binaryCrossEntropyWithLogits(g, logits, g.input('labels', 'float32', [BATCH, n])));
}

/** Token-level cross-entropy over `[batch, seq, classes]` logits (declaring `labels` [batch, seq], ignore index -100). */
export function tokenCrossEntropyLoss(g: Graph, logits: Value, classes: number): Value {
  const labels = g.input('labels', 'int64', [BATCH, SEQUENCE]);
  return g.softmaxCrossEntropyLoss(g.reshape(logits, [-1, classes]), g.reshape(labels, [-1]), { ignoreIndex: -100 }).loss;
}
