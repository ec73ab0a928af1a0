/**
 * Zero-shot classification with a natural-language-inference classifier, in the manner of
 * transformers' zero-shot-classification pipeline: every (text, hypothesis) pair goes through the
 * classifier and the entailment logit scores the label the hypothesis states.
 */
import { type ModelConfig, numLabels } from '../models/registry.js';
import { TruncationError } from '../tokenizers/errors.js';
import type { Encoding } from '../tokenizers/encoding.js';
import type { Tokenizer } from '../tokenizers/types.js';
import { runInBatches } from './batching.js';
import type { OpenModel } from './checkpoint.js';
import { PipelineError } from './errors.js';
import { softmax } from './math.js';

/** The label ids the scores read. */
export interface NliLabelIds {
  readonly entailment: number;
  readonly contradiction: number;
}

/**
 * The entailment and contradiction ids of an NLI classifier: the first label (in id order) whose
 * name starts with "entail", and the first starting with "contra", ignoring case. Without a
 * contradiction label (e.g. `entailment` / `not_entailment`), transformers' rule: the last label
 * when entailment is label 0, else label 0.
 *
 * @throws PipelineError `wrong_task` when no label starts with "entail".
 */
export function nliLabelIds(config: ModelConfig, dir: string): NliLabelIds {
  const n = numLabels(config);
  const names = Array.from({ length: n }, (_, id) => config.id2label[String(id)] ?? `LABEL_${id}`);
  const find = (prefix: string) => names.findIndex((name) => name.toLowerCase().startsWith(prefix));
  const entailment = find('entail');
  if (entailment < 0 || n < 2) {
    throw new PipelineError(
      'wrong_task',
      `${dir}: zero-shot classification in mode 'nli' needs a classifier trained for natural language inference, whose config.json id2label/label2id names an entailment label ` +
        `(a name starting with "entail"), but its labels are ${names.map((l) => JSON.stringify(l)).join(', ')}. ` +
        `If it is an NLI model, set id2label and label2id in config.json to the labels it was trained with; else use mode 'embedding' (a sentence-embedding model) or 'cloze' (a masked LM)`,
      { field: 'task' },
    );
  }
  const contra = find('contra');
  return { entailment, contradiction: contra >= 0 ? contra : entailment === 0 ? n - 1 : 0 };
}

/** The hypothesis of a label: `template` with every `{}` replaced by it. */
export function hypothesis(template: string, label: string): string {
  return template.split('{}').join(label);
}

/**
 * Scores of one text's labels from the logits of its (text, hypothesis) pairs (one row per label):
 * single-label, the softmax of the entailment logits over the labels; multi-label (or a single
 * label), each label's softmax over its [contradiction, entailment] logits.
 */
export function nliScores(rows: readonly (readonly number[])[], ids: NliLabelIds, multiLabel: boolean): number[] {
  if (multiLabel || rows.length === 1) return rows.map((r) => softmax([r[ids.contradiction]!, r[ids.entailment]!])[1]!);
  return softmax(rows.map((r) => r[ids.entailment]!));
}

/**
 * A (premise, hypothesis) pair encoded as transformers does for zero-shot classification: only the
 * premise is truncated, so that the hypothesis stays whole; when the hypothesis alone is too long
 * for that, both are (longest first).
 */
export function encodePair(tokenizer: Tokenizer, premise: string, hypothesisText: string, maxLength: number): Encoding {
  try {
    return tokenizer.encode(premise, hypothesisText, { maxLength, truncation: 'only_first' });
  } catch (e) {
    if (!(e instanceof TruncationError)) throw e;
    return tokenizer.encode(premise, hypothesisText, { maxLength, truncation: 'longest_first' });
  }
}

/**
 * The logits of every (text, hypothesis) pair: `result[i][j]` is the row of text `i` with label
 * `j`'s hypothesis. Pairs run in length-sorted batches of `batchSize`.
 */
export async function nliLogits(checkpoint: OpenModel, texts: readonly string[], hypotheses: readonly string[], batchSize: number): Promise<number[][][]> {
  const { tokenizer, session, maxLength, dir, config } = checkpoint;
  const L = hypotheses.length;
  const n = numLabels(config);
  const encodings: Encoding[] = [];
  for (const text of texts) for (const h of hypotheses) encodings.push(encodePair(tokenizer, text, h, maxLength));
  const rows = texts.map(() => new Array<number[]>(L));
  await runInBatches(session, encodings, { padId: tokenizer.padTokenId, batchSize, source: dir }, (indices, outputs) => {
    const logits = outputs.logits!.data as Float32Array;
    indices.forEach((pair, b) => {
      rows[Math.floor(pair / L)]![pair % L] = Array.from(logits.subarray(b * n, (b + 1) * n));
    });
  });
  return rows;
}
