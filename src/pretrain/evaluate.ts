/** Held-out masked-LM (and next-sentence) loss and accuracy, and fill-mask predictions. */
import { seededRandom } from '../data/split.js';
import type { PreTrainedModel } from '../models/pretrained-model.js';
import type { HostTensor } from '../runtime/tensor.js';
import type { Tokenizer } from '../models/registry.js';
import { argmax, crossEntropy, softmaxRow } from '../train/losses.js';
import type { PretrainFeature } from './instances.js';
import { type MaskingOptions, maskedBatch } from './masking.js';

/** Logits of the masked-LM head and of the next-sentence head (when the model has one). */
function headLogits(model: PreTrainedModel, out: Record<string, HostTensor>): { mlm: HostTensor; nsp?: HostTensor } {
  if (model.head === 'pretraining') return { mlm: out.prediction_logits!, nsp: out.seq_relationship_logits! };
  return { mlm: out.logits! };
}

/**
 * Masked-LM loss and accuracy over the masked tokens of `features` (masks drawn from a fixed seed,
 * so every evaluation sees the same ones), plus next-sentence loss and accuracy for BertForPreTraining.
 */
export async function evaluateMlm(
  model: PreTrainedModel,
  features: readonly PretrainFeature[],
  o: MaskingOptions & { nsp?: boolean; batchSize: number; seed: number },
): Promise<Record<string, number>> {
  const V = model.config.vocab_size;
  let mlmLoss = 0;
  let mlmCorrect = 0;
  let masked = 0;
  let nspLoss = 0;
  let nspCorrect = 0;
  for (let i = 0; i < features.length; i += o.batchSize) {
    const indices = [...features.keys()].slice(i, i + o.batchSize);
    const batch = maskedBatch(features, indices, { epoch: -1, seed: o.seed }, o);
    const labels = batch.labels!.data as BigInt64Array;
    const nspLabels = batch.next_sentence_label?.data as BigInt64Array | undefined;
    delete batch.labels;
    delete batch.next_sentence_label;
    const { mlm, nsp } = headLogits(model, await model.forward(batch));
    const logits = mlm.data as Float32Array;
    for (let k = 0; k < labels.length; k++) {
      const y = Number(labels[k]);
      if (y < 0) continue;
      masked++;
      mlmLoss += crossEntropy(logits, k * V, V, y);
      if (argmax(logits, k * V, V) === y) mlmCorrect++;
    }
    if (nsp && nspLabels) {
      const n = nsp.data as Float32Array;
      for (let b = 0; b < indices.length; b++) {
        const y = Number(nspLabels[b]);
        nspLoss += crossEntropy(n, b * 2, 2, y);
        if (argmax(n, b * 2, 2) === y) nspCorrect++;
      }
    }
  }
  const out: Record<string, number> = {
    loss: mlmLoss / Math.max(1, masked) + (model.head === 'pretraining' ? nspLoss / Math.max(1, features.length) : 0),
    mlm_loss: mlmLoss / Math.max(1, masked),
    mlm_accuracy: mlmCorrect / Math.max(1, masked),
    masked_tokens: masked,
  };
  if (model.head === 'pretraining') {
    out.nsp_loss = nspLoss / Math.max(1, features.length);
    out.nsp_accuracy = nspCorrect / Math.max(1, features.length);
  }
  return out;
}

/** One candidate for a [MASK], with the fields of the fill-mask pipeline. */
export interface FillMaskCandidate {
  readonly score: number;
  /** The token's id. */
  readonly token: number;
  /** The token as text. */
  readonly token_str: string;
  /** The text with this candidate in place of the mask. */
  readonly sequence: string;
}

/**
 * The `topK` most likely tokens for the first [MASK] of each text, from the live weights of a
 * model in training (for samples during pre-training; saved checkpoints go through the fill-mask
 * pipeline).
 */
export async function fillMask(model: PreTrainedModel, tokenizer: Tokenizer, texts: readonly string[], topK = 5): Promise<FillMaskCandidate[][]> {
  const maskId = tokenizer.maskTokenId;
  if (maskId === undefined) throw new RangeError('the tokenizer has no [MASK] token');
  const V = model.config.vocab_size;
  const results: FillMaskCandidate[][] = [];
  for (const text of texts) {
    const enc = tokenizer.encode(text, undefined, { maxLength: model.config.max_position_embeddings });
    const at = enc.inputIds.indexOf(maskId);
    if (at < 0) throw new RangeError(`no ${tokenizer.options.maskToken} in "${text}"; put one where a word should be predicted`);
    const T = enc.inputIds.length;
    const toTensor = (xs: number[]): HostTensor => ({ dtype: 'int64', dims: [1, T], data: BigInt64Array.from(xs, (v) => BigInt(v)) });
    const out = await model.forward({ input_ids: toTensor(enc.inputIds), attention_mask: toTensor(enc.attentionMask), token_type_ids: toTensor(enc.tokenTypeIds) });
    const probs = softmaxRow(headLogits(model, out).mlm.data as Float32Array, at * V, V);
    const best = [...probs.keys()].sort((a, b) => probs[b]! - probs[a]!).slice(0, topK);
    results.push(
      best.map((id) => {
        const ids = [...enc.inputIds];
        ids[at] = id;
        return { score: probs[id]!, token: id, token_str: tokenizer.idToToken(id) ?? String(id), sequence: tokenizer.decode(ids, { skipSpecialTokens: true }) };
      }),
    );
  }
  return results;
}

/** Shuffled split of examples into training and held-out parts. */
export function holdOut<T>(items: readonly T[], fraction: number, seed: number, max = 2000): { train: T[]; heldOut: T[] } {
  const rand = seededRandom(seed);
  const order = [...items.keys()];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const n = Math.min(max, Math.max(fraction > 0 ? 1 : 0, Math.round(items.length * fraction)));
  const held = new Set(order.slice(0, n));
  return { train: items.filter((_, i) => !held.has(i)), heldOut: items.filter((_, i) => held.has(i)) };
}
