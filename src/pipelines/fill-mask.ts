/** The fill-mask pipeline: the most likely tokens for each mask token of a text. */
import { hostTensor } from '../runtime/tensor.js';
import type { Encoding } from '../tokenizers/encoding.js';
import type { Tokenizer } from '../tokenizers/types.js';
import { PipelineState, assemblePipeline } from './assemble.js';
import { runInBatches } from './batching.js';
import { openModel } from './checkpoint.js';
import { PipelineError, quote } from './errors.js';
import { callOptions, checkInteger, checkText, checkTexts, inputField } from './inputs.js';
import { topKIndices } from './math.js';
import type { FillMaskCandidate, FillMaskOptions, FillMaskPipeline, FillMaskResult, PipelineOptions } from './types.js';

/** Positions of the mask token in an encoding, or an error saying how to mark one. */
function maskPositions(tokenizer: Tokenizer, text: string, enc: Encoding, maskId: number, field: string): number[] {
  const positions = enc.inputIds.flatMap((id, t) => (id === maskId ? [t] : []));
  if (positions.length) return positions;
  const mask = tokenizer.options.maskToken ?? 'mask token';
  const full = tokenizer.encode(text, undefined, { truncation: false });
  if (full.inputIds.includes(maskId)) {
    throw new PipelineError(
      'no_mask_token',
      `${field}: the ${mask} in ${quote(text)} lies beyond the first ${enc.inputIds.length} tokens, which is all the model reads; move it earlier or shorten the text`,
      { field },
    );
  }
  throw new PipelineError('no_mask_token', `no ${mask} in ${quote(text)}; put the mask token ${mask} where a word should be predicted`, { field });
}

/** Loads a BertForMaskedLM or BertForPreTraining checkpoint as a fill-mask pipeline. */
export async function fillMaskPipeline(dirOrId: string, opts: PipelineOptions = {}): Promise<FillMaskPipeline> {
  // The masked-LM head applied only at the mask positions (input `mask_positions`, flat indices
  // into batch x sequence), output `probabilities` [masks, vocab].
  const checkpoint = await openModel('fill-mask', dirOrId, opts, {}, (ctx, buildHead) => ({
    probabilities: ctx.scope.g.softmax(buildHead({ maskPositions: true }).outputs.logits!, -1),
  }));
  const state = new PipelineState('fill-mask', checkpoint);
  const maskId = checkpoint.tokenizer.maskTokenId;
  if (maskId === undefined) {
    await state.dispose();
    throw new PipelineError('no_mask_token', `${checkpoint.dir}: the tokenizer has no mask token (mask_token in tokenizer_config.json), so fill-mask cannot mark a position`);
  }

  const fill = async (texts: readonly string[], rawOpts: FillMaskOptions = {}, single = false): Promise<FillMaskResult[]> => {
    const callOpts = callOptions<FillMaskOptions>(rawOpts, { topK: 'top_k', batchSize: 'batch_size' });
    const { config, tokenizer, session, maxLength, dir } = state.open();
    const topK = Math.min(callOpts.topK === undefined ? 5 : checkInteger(callOpts.topK, 'topK', 1), config.vocab_size);
    const batchSize = state.batchSize(callOpts);
    const encodings: Encoding[] = [];
    const masks: number[][] = [];
    texts.forEach((raw, i) => {
      const field = inputField(single, i);
      const text = checkText(raw, field);
      const enc = tokenizer.encode(text, undefined, { maxLength });
      masks.push(maskPositions(tokenizer, text, enc, maskId, field));
      encodings.push(enc);
    });
    const V = config.vocab_size;
    const results = new Array<FillMaskResult>(texts.length);
    const extraFeeds = (indices: readonly number[], S: number) => {
      const flat = indices.flatMap((i, b) => masks[i]!.map((t) => BigInt(b * S + t)));
      return { mask_positions: hostTensor('int64', BigInt64Array.from(flat), [flat.length]) };
    };
    await runInBatches(session, encodings, { padId: tokenizer.padTokenId, batchSize, extraFeeds, source: dir }, (indices, outputs) => {
      const probabilities = outputs.probabilities!.data as Float32Array;
      let row = 0;
      for (const i of indices) {
        const ids = encodings[i]!.inputIds;
        const singleMask = masks[i]!.length === 1;
        const perMask = masks[i]!.map((position) => {
          const probs = probabilities.subarray(row * V, ++row * V);
          return topKIndices(probs, topK).map((id): FillMaskCandidate => {
            const filled = [...ids];
            filled[position] = id;
            return {
              score: probs[id]!,
              token: id,
              token_str: tokenizer.decode([id]),
              // As Hugging Face does: special tokens are dropped for one mask; with several, the
              // other masks (and [CLS]/[SEP]) stay visible.
              sequence: tokenizer.decode(filled, { skipSpecialTokens: singleMask }),
            };
          });
        });
        results[i] = singleMask ? perMask[0]! : perMask;
      }
    });
    return results;
  };

  const call = async (inputs: unknown, callOpts?: FillMaskOptions) => (Array.isArray(inputs) ? fill(inputs, callOpts) : (await fill([inputs as string], callOpts, true))[0]!);
  const runBatch = async (inputs: readonly string[], callOpts?: FillMaskOptions) => fill(checkTexts(inputs), callOpts);
  return assemblePipeline<FillMaskPipeline>(state, call as never, runBatch as never);
}
