/** Tokenized, label-encoded examples: what batches are cut from. */
import type { Tokenizer } from '../tokenizers/types.js';
import { DataError } from './errors.js';
import type { TextExample, TokenExample } from './examples.js';
import { type LabelMap, unknownLabelProblem } from './labels.js';

/** One encoded example. */
export interface Feature {
  inputIds: Int32Array;
  tokenTypeIds: Int32Array;
  /**
   * Single-label: the class id. Multi-label: 0/1 per class (Float32Array). Token classification:
   * one id per token (Int32Array), -100 where the loss ignores it ([CLS], [SEP], continuation
   * sub-tokens).
   */
  labels?: number | Float32Array | Int32Array;
  /** Token classification: the index of the word of every token, -1 for special tokens. */
  wordIds?: Int32Array;
  /**
   * Token classification: the gold tag id of every word of the example, including words cut off by
   * truncation, so that word-level scores count entities the model never saw as missed.
   */
  wordLabels?: Int32Array;
  /** The file the example comes from, when known. */
  file?: string;
  /** The example's 1-based line. */
  line: number;
}

/** Label id of tokens the loss ignores (PyTorch's and Hugging Face's convention). */
export const IGNORE_INDEX = -100;

const fileOf = (e: { file?: string }) => e.file ?? '(data)';

/**
 * Tokenizes texts (and text pairs), truncating to `maxLength` tokens, and maps labels to ids:
 * a class id, or with `multiLabel` a 0/1 vector over the label map. Examples without a label, or
 * no label map, give features without labels.
 *
 * @throws DataError for a label the map does not have, or several labels on a single-label task.
 */
export function textFeatures(tokenizer: Tokenizer, examples: readonly TextExample[], labels: LabelMap | undefined, opts: { maxLength: number; multiLabel?: boolean }): Feature[] {
  return examples.map((e) => {
    const enc = tokenizer.encode(e.text, e.textPair, { maxLength: opts.maxLength, truncation: true });
    const f: Feature = { inputIds: Int32Array.from(enc.inputIds), tokenTypeIds: Int32Array.from(enc.tokenTypeIds), line: e.line };
    if (e.file !== undefined) f.file = e.file;
    if (labels && e.label !== undefined) {
      const where = { file: fileOf(e), line: e.line };
      if (opts.multiLabel) {
        const v = new Float32Array(labels.size);
        for (const l of typeof e.label === 'string' ? [e.label] : e.label) v[labels.id(l, where)] = 1;
        f.labels = v;
      } else if (typeof e.label === 'string') {
        f.labels = labels.id(e.label, where);
      } else if (e.label.length === 1) {
        f.labels = labels.id(e.label[0]!, where);
      } else {
        throw new DataError(where.file, e.line, `${e.label.length} labels (${e.label.join(', ')}) for a single-label task. Give one label, or train with --multi-label`, 'label');
      }
    }
    return f;
  });
}

/**
 * Tokenizes sentences given as words (`encodeWords`), truncating to
 * `maxLength` tokens. Each word's tag id goes on its first sub-token and the other sub-tokens,
 * [CLS] and [SEP] get -100 (with `labelAllTokens`, every sub-token gets the word's tag, as in
 * Hugging Face's run_ner); words cut off by truncation get no token, but their tags stay in
 * `wordLabels` (every word's tag id), so scores count their entities as missed.
 *
 * @throws DataError for a tag the map does not have, naming the word.
 */
export function tokenFeatures(
  tokenizer: Tokenizer,
  examples: readonly TokenExample[],
  labels: LabelMap | undefined,
  opts: { maxLength: number; labelAllTokens?: boolean },
): Feature[] {
  return examples.map((e) => {
    const enc = tokenizer.encodeWords(e.tokens, { maxLength: opts.maxLength, truncation: true });
    const wordIds = Int32Array.from(enc.wordIds, (w) => (w === null ? -1 : w));
    const f: Feature = { inputIds: Int32Array.from(enc.inputIds), tokenTypeIds: Int32Array.from(enc.tokenTypeIds), wordIds, line: e.line };
    if (e.file !== undefined) f.file = e.file;
    if (labels && e.tags) {
      if (e.tags.length !== e.tokens.length) {
        throw new DataError(fileOf(e), e.line, `${e.tokens.length} words but ${e.tags.length} tags. Give one tag per word`, 'tags');
      }
      const ids = e.tags.map((t, i) => {
        if (!labels.has(t)) throw new DataError(fileOf(e), e.line, unknownLabelProblem(t, labels.labels, `of word ${i + 1} ("${e.tokens[i]}")`), 'tags');
        return labels.id(t);
      });
      const out = new Int32Array(wordIds.length).fill(IGNORE_INDEX);
      let previous = -1;
      for (let t = 0; t < wordIds.length; t++) {
        const w = wordIds[t]!;
        if (w >= 0 && (w !== previous || opts.labelAllTokens)) out[t] = ids[w]!;
        previous = w;
      }
      f.labels = out;
      f.wordLabels = Int32Array.from(ids);
    }
    return f;
  });
}
