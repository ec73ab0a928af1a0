/**
 * Zero-shot classification with a masked LM (cloze prompts, as in PET): the text goes into a
 * template with a mask, and each label scores the probability its words (the verbalizer) have at
 * the mask. A word of several pieces gets one mask per piece, and the geometric mean of its
 * pieces' probabilities (the mean log-probability, exponentiated).
 */
import { hostTensor } from '../runtime/tensor.js';
import type { Encoding } from '../tokenizers/encoding.js';
import type { Tokenizer } from '../tokenizers/types.js';
import { runInBatches } from './batching.js';
import type { OpenModel } from './checkpoint.js';
import { PipelineError, quote } from './errors.js';

/** The placeholder of the text in a cloze template. */
export const TEXT_SLOT = '{text}';
/** The placeholder of the mask in a cloze template (the tokenizer's own mask token works too). */
export const MASK_SLOT = '{mask}';

/** A label word and its token ids. */
export interface ClozeWord {
  readonly word: string;
  readonly pieces: readonly number[];
}

/** A candidate label and its words. */
export interface ClozeLabel {
  readonly label: string;
  readonly words: readonly ClozeWord[];
}

/** What a cloze run gives for one text. */
export interface ClozeScores {
  /** Each label's score: the mean of its words' scores. */
  readonly labelScores: number[];
  /** Each label's words and their scores. */
  readonly wordScores: Record<string, number>[];
}

/**
 * Checks a cloze template and returns it with its mask written `{mask}`: it needs `{text}` once and
 * one mask (`{mask}`, or the tokenizer's mask token).
 */
export function checkClozeTemplate(template: unknown, maskToken: string, field = 'template'): string {
  if (typeof template !== 'string') throw new PipelineError('invalid_option', `${field} must be a string, got ${JSON.stringify(template)}`, { field });
  const t = template.split(maskToken).join(MASK_SLOT);
  const count = (s: string) => t.split(s).length - 1;
  if (count(TEXT_SLOT) !== 1 || count(MASK_SLOT) !== 1) {
    throw new PipelineError(
      'invalid_option',
      `${field} ${quote(template)} must hold ${TEXT_SLOT} once (where the text goes) and one mask, ${MASK_SLOT} or ${maskToken} (where a label word goes), e.g. "{text} It was ${maskToken}."`,
      { field },
    );
  }
  return t;
}

/** The default cloze template: the text, a space, and the hypothesis template with the mask in the label's place. */
export function defaultClozeTemplate(hypothesisTemplate: string): string {
  return `${TEXT_SLOT} ${hypothesisTemplate.split('{}').join(MASK_SLOT)}`;
}

/**
 * The token ids of a label word: the token itself when the vocabulary has it (as transformers'
 * fill-mask `targets` look words up), else the pieces the tokenizer splits it into.
 */
export function wordPieces(tokenizer: Tokenizer, word: string, field: string): number[] {
  if (typeof word !== 'string' || word.trim() === '') throw new PipelineError('invalid_option', `${field} must be a non-empty word, got ${JSON.stringify(word)}`, { field });
  const id = tokenizer.tokenToId(word);
  if (id !== undefined) return [id];
  const pieces = tokenizer.encode(word, undefined, { addSpecialTokens: false, truncation: false }).inputIds;
  if (pieces.length === 0) throw new PipelineError('invalid_option', `${field} ${quote(word)} gives no token`, { field });
  if (pieces.includes(tokenizer.unkTokenId)) {
    throw new PipelineError('invalid_option', `${field} ${quote(word)} holds characters the tokenizer does not know (it becomes the unknown token); choose another word`, {
      field,
    });
  }
  return pieces;
}

/** The prompt of `text` with `k` masks in the template's mask slot. */
function prompt(template: string, text: string, maskToken: string, k: number): string {
  const masks = Array.from({ length: k }, () => maskToken).join(' ');
  return template.split(MASK_SLOT).join(masks).split(TEXT_SLOT).join(text);
}

/**
 * The prompt of `text` with `k` masks, encoded; when it is longer than `maxLength` tokens, the
 * text is shortened (at a token boundary) until the prompt fits, so the template and its masks stay.
 */
export function encodePrompt(tokenizer: Tokenizer, template: string, text: string, k: number, maxLength: number, field: string): Encoding {
  const maskToken = tokenizer.options.maskToken!;
  let t = text;
  for (;;) {
    const enc = tokenizer.encode(prompt(template, t, maskToken, k), undefined, { truncation: false });
    const over = enc.inputIds.length - maxLength;
    if (over <= 0) return enc;
    const own = tokenizer.encode(t, undefined, { addSpecialTokens: false, truncation: false });
    const keep = own.inputIds.length - over;
    if (keep < 1) {
      throw new PipelineError(
        'invalid_option',
        `the cloze template with ${k} mask${k > 1 ? 's' : ''} leaves no room for ${field} within maxLength ${maxLength} tokens; shorten the template or the label words`,
        { field: 'template' },
      );
    }
    t = t.slice(0, own.offsets[keep - 1]![1]);
  }
}

/**
 * Runs the masked LM (a session whose `probabilities` output holds the softmax over the vocabulary
 * at each position of `mask_positions`) over every text's prompts, one prompt per distinct number
 * of word pieces, and scores each label: a word's score is the geometric mean of its pieces'
 * probabilities at their masks, a label's the mean of its words' scores.
 */
export async function clozeScores(
  checkpoint: OpenModel,
  texts: readonly string[],
  fields: readonly string[],
  template: string,
  labels: readonly ClozeLabel[],
  batchSize: number,
): Promise<ClozeScores[]> {
  const { tokenizer, session, maxLength, dir, config } = checkpoint;
  const maskId = tokenizer.maskTokenId!;
  const counts = [...new Set(labels.flatMap((l) => l.words.map((w) => w.pieces.length)))].sort((a, b) => a - b);
  const encodings: Encoding[] = [];
  const masks: number[][] = [];
  texts.forEach((text, i) => {
    for (const k of counts) {
      const enc = encodePrompt(tokenizer, template, text, k, maxLength, fields[i]!);
      const positions = enc.inputIds.flatMap((id, t) => (id === maskId ? [t] : []));
      if (positions.length !== k) {
        throw new PipelineError('invalid_input', `${fields[i]} holds the mask token ${tokenizer.options.maskToken}; in cloze mode only the template has one`, { field: fields[i] });
      }
      encodings.push(enc);
      masks.push(positions);
    }
  });
  const V = config.vocab_size;
  // probs[e][j]: the vocabulary probabilities at the j-th mask of encoding e.
  const probs = encodings.map(() => [] as Float32Array[]);
  const extraFeeds = (indices: readonly number[], S: number) => {
    const flat = indices.flatMap((e, b) => masks[e]!.map((t) => BigInt(b * S + t)));
    return { mask_positions: hostTensor('int64', BigInt64Array.from(flat), [flat.length]) };
  };
  await runInBatches(session, encodings, { padId: tokenizer.padTokenId, batchSize, extraFeeds, source: dir }, (indices, outputs) => {
    const data = outputs.probabilities!.data as Float32Array;
    let row = 0;
    for (const e of indices) for (let j = 0; j < masks[e]!.length; j++) probs[e]!.push(data.slice(row * V, ++row * V));
  });
  return texts.map((_, i) => {
    const wordScores = labels.map((label) =>
      Object.fromEntries(
        label.words.map((w) => {
          const at = probs[i * counts.length + counts.indexOf(w.pieces.length)]!;
          const logMean = w.pieces.reduce((s, id, j) => s + Math.log(at[j]![id]!), 0) / w.pieces.length;
          return [w.word, Math.exp(logMean)];
        }),
      ),
    );
    const labelScores = labels.map((label, l) => label.words.reduce((s, w) => s + wordScores[l]![w.word]!, 0) / label.words.length);
    return { labelScores, wordScores };
  });
}
