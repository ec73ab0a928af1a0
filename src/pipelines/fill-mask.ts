/** The fill-mask pipeline: the most likely tokens for each mask token of a text. */
import type { BertConfig } from '../models/bert/config.js';
import { bertInputs, bertModel, mlmHeadRows } from '../models/bert/modeling.js';
import type { BuildContext } from '../nn/layers.js';
import type { Value } from '../onnx/graph.js';
import { hostTensor } from '../runtime/tensor.js';
import type { BertTokenizer, Encoding } from '../tokenizers/bert-tokenizer.js';
import { PipelineState, assemblePipeline } from './assemble.js';
import { runInBatches } from './batching.js';
import { openCheckpoint } from './checkpoint.js';
import { PipelineError, quote } from './errors.js';
import { checkInteger, checkText, checkTexts, inputField } from './inputs.js';
import { topKIndices } from './math.js';
import type { FillMaskCandidate, FillMaskOptions, FillMaskPipeline, FillMaskResult, PipelineOptions } from './types.js';

/**
 * BERT with its masked-LM head applied only at the mask positions: input `mask_positions` (flat
 * indices into batch x sequence), output `probabilities` [masks, vocab].
 */
function maskedLmAtPositions(ctx: BuildContext, config: BertConfig): Record<string, Value> {
  const g = ctx.scope.g;
  const { sequenceOutput } = bertModel(ctx, config, 'bert.', bertInputs(g), false);
  const positions = g.input('mask_positions', 'int64', ['mask_count']);
  const rows = g.gather(g.reshape(sequenceOutput, [-1, config.hidden_size]), positions, 0);
  return { probabilities: g.softmax(mlmHeadRows(ctx, config, rows), -1) };
}

/** Positions of the mask token in an encoding, or an error saying how to mark one. */
function maskPositions(tokenizer: BertTokenizer, text: string, enc: Encoding, maskId: number, field: string): number[] {
  const positions = enc.inputIds.flatMap((id, t) => (id === maskId ? [t] : []));
  if (positions.length) return positions;
  const mask = tokenizer.options.maskToken;
  const full = tokenizer.encode(text, undefined, { truncation: false });
  if (full.inputIds.includes(maskId)) {
    throw new PipelineError('no_mask_token', `${field}: the ${mask} in ${quote(text)} lies beyond the first ${enc.inputIds.length} tokens, which is all the model reads; move it earlier or shorten the text`, { field });
  }
  throw new PipelineError('no_mask_token', `no ${mask} in ${quote(text)}; put the mask token ${mask} where a word should be predicted`, { field });
}

/** Loads a BertForMaskedLM or BertForPreTraining checkpoint as a fill-mask pipeline. */
export async function fillMaskPipeline(dirOrId: string, opts: PipelineOptions = {}): Promise<FillMaskPipeline> {
  const checkpoint = await openCheckpoint('fill-mask', dirOrId, opts, maskedLmAtPositions);
  const state = new PipelineState('fill-mask', checkpoint);
  const maskId = checkpoint.tokenizer.maskTokenId;
  if (maskId === undefined) {
    await state.dispose();
    throw new PipelineError('no_mask_token', `${checkpoint.dir}: the tokenizer has no mask token (mask_token in tokenizer_config.json), so fill-mask cannot mark a position`);
  }

  const fill = async (texts: readonly string[], callOpts: FillMaskOptions = {}, single = false): Promise<FillMaskResult[]> => {
    const { config, tokenizer, model, maxLength } = state.open();
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
    await runInBatches(model, encodings, { padId: tokenizer.padTokenId, batchSize, extraFeeds }, (indices, outputs) => {
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
