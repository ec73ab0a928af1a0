/**
 * Batches and held-out figures of ELECTRA pre-training: masked inputs for the generator (the
 * masked-LM masking of {@link maskedBatch}), the original ids for the discriminator, and one
 * uniform number per masked position from which the joint graph samples the replacement. Every
 * random draw comes from (seed, epoch, example), so a resumed run sees the same batches.
 */
import { seededRandom } from '../data/split.js';
import type { HostTensor } from '../runtime/tensor.js';
import { argmax, crossEntropy } from '../train/losses.js';
import type { ElectraPretrainingModel } from './electra-model.js';
import type { PretrainFeature } from './instances.js';
import { type MaskingOptions, maskedBatch, seedOf } from './masking.js';

/** Stream tag of the sampling uniforms (apart from the masking stream of the same example). */
const SAMPLING_STREAM = 0x5e1ec7;

/**
 * A batch of the joint ELECTRA pass: `input_ids` (masked), `attention_mask`, `token_type_ids`,
 * `masked_positions`, `masked_labels`, `original_input_ids` and `sample_uniform`.
 */
export function electraBatch(features: readonly PretrainFeature[], indices: readonly number[], at: { epoch: number; seed: number }, o: MaskingOptions): Record<string, HostTensor> {
  const batch = maskedBatch(features, indices, at, { ...o, sparse: true });
  const [B, T] = batch.input_ids!.dims as [number, number];
  const original = new BigInt64Array(B * T).fill(BigInt(o.padId));
  indices.forEach((ex, b) => {
    const ids = features[ex]!.inputIds;
    for (let t = 0; t < ids.length; t++) original[b * T + t] = BigInt(ids[t]!);
  });
  // Positions come sorted by example; each example draws from its own stream.
  const positions = batch.masked_positions!.data as BigInt64Array;
  const uniform = new Float32Array(positions.length);
  let row = -1;
  let rand: () => number = Math.random;
  positions.forEach((p, k) => {
    const b = Math.floor(Number(p) / T);
    if (b !== row) {
      row = b;
      rand = seededRandom(seedOf(at.seed, at.epoch, indices[b]!, SAMPLING_STREAM));
    }
    uniform[k] = rand();
  });
  batch.original_input_ids = { dtype: 'int64', dims: [B, T], data: original };
  batch.sample_uniform = { dtype: 'float32', dims: [positions.length], data: uniform };
  return batch;
}

/**
 * Held-out figures of the joint model (dropout off, masks and samples from a fixed seed): the
 * generator's masked-LM loss and accuracy, the discriminator's loss, its accuracy over all attended
 * tokens and its recall of replaced tokens, and `loss` = mlm + λ·rtd.
 */
export async function evaluateElectra(
  model: ElectraPretrainingModel,
  features: readonly PretrainFeature[],
  o: MaskingOptions & { batchSize: number; seed: number },
): Promise<Record<string, number>> {
  const forward = await model.compileJointInference();
  const V = model.generatorConfig.vocab_size;
  let mlmLoss = 0;
  let mlmCorrect = 0;
  let masked = 0;
  let rtdLoss = 0;
  let rtdCorrect = 0;
  let attended = 0;
  let replacedCount = 0;
  let replacedFound = 0;
  try {
    for (let i = 0; i < features.length; i += o.batchSize) {
      const indices = [...features.keys()].slice(i, i + o.batchSize);
      const batch = electraBatch(features, indices, { epoch: -1, seed: o.seed }, o);
      const out = await forward.run(batch);
      const labels = batch.masked_labels!.data as BigInt64Array;
      const logits = out.generator_logits!.data as Float32Array;
      for (let k = 0; k < labels.length; k++) {
        const y = Number(labels[k]);
        mlmLoss += crossEntropy(logits, k * V, V, y);
        if (argmax(logits, k * V, V) === y) mlmCorrect++;
      }
      masked += labels.length;
      const keep = batch.attention_mask!.data as BigInt64Array;
      const replaced = out.replaced!.data as Float32Array;
      const disc = out.discriminator_logits!.data as Float32Array;
      for (let k = 0; k < keep.length; k++) {
        if (keep[k] === 0n) continue;
        attended++;
        const x = disc[k]!;
        const y = replaced[k]!;
        rtdLoss += Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x)));
        const says = x > 0 ? 1 : 0;
        if (says === y) rtdCorrect++;
        if (y === 1) {
          replacedCount++;
          if (says === 1) replacedFound++;
        }
      }
    }
  } finally {
    await forward.release();
  }
  const mlm = mlmLoss / Math.max(1, masked);
  const rtd = rtdLoss / Math.max(1, attended);
  return {
    loss: mlm + model.rtdWeight * rtd,
    mlm_loss: mlm,
    mlm_accuracy: mlmCorrect / Math.max(1, masked),
    rtd_loss: rtd,
    rtd_accuracy: rtdCorrect / Math.max(1, attended),
    rtd_replaced_recall: replacedFound / Math.max(1, replacedCount),
    replaced_share: replacedCount / Math.max(1, attended),
    masked_tokens: masked,
  };
}
