/** Tokenized, label-encoded examples: what batches are cut from. */
import type { BertTokenizer } from '../tokenizers/bert-tokenizer.js';
import type { TextExample, TokenExample } from './examples.js';
import type { LabelMap } from './labels.js';

/** One encoded example. */
export interface Feature {
  inputIds: Int32Array;
  tokenTypeIds: Int32Array;
  /**
   * Single-label: the class id. Multi-label: 0/1 per class. Token classification: one id per token,
   * -100 where the loss ignores it ([CLS], [SEP], continuation sub-tokens).
   */
  labels?: number | Float32Array | Int32Array;
  /** Token classification: the word of every token, -1 for special tokens. */
  wordIds?: Int32Array;
  /** Where the example comes from. */
  file?: string;
  line: number;
}

/** Label id used where the loss ignores a token. */
export const IGNORE_INDEX = -100;

/** Tokenizes texts (truncating to `maxLength`) and maps labels to ids; unknown labels are errors naming file and line. */
export function textFeatures(
  tokenizer: BertTokenizer,
  examples: readonly TextExample[],
  labels: LabelMap | undefined,
  opts: { maxLength: number; multiLabel?: boolean },
): Feature[] {
  return examples.map((e) => {
    const enc = tokenizer.encode(e.text, e.textPair, { maxLength: opts.maxLength, truncation: true });
    const f: Feature = { inputIds: Int32Array.from(enc.inputIds), tokenTypeIds: Int32Array.from(enc.tokenTypeIds), file: e.file, line: e.line };
    if (labels && e.label !== undefined) {
      const where = { file: e.file, line: e.line };
      if (opts.multiLabel) {
        const v = new Float32Array(labels.size);
        for (const l of typeof e.label === 'string' ? [e.label] : e.label) v[labels.id(l, where)] = 1;
        f.labels = v;
      } else {
        if (Array.isArray(e.label)) throw new RangeError(`${e.file}:${e.line}: several labels for a single-label task; use --multi-label`);
        f.labels = labels.id(e.label as string, where);
      }
    }
    return f;
  });
}

/**
 * Tokenizes sentences given as words. Each word's label goes on its first sub-token and the other
 * sub-tokens get -100 (unless `labelAllTokens`, which repeats it); words cut off by truncation are
 * dropped.
 */
export function tokenFeatures(
  tokenizer: BertTokenizer,
  examples: readonly TokenExample[],
  labels: LabelMap | undefined,
  opts: { maxLength: number; labelAllTokens?: boolean },
): Feature[] {
  return examples.map((e) => {
    const enc = tokenizer.encodeWords(e.tokens, { maxLength: opts.maxLength, truncation: true });
    const wordIds = Int32Array.from(enc.wordIds, (w) => (w === null ? -1 : w));
    const f: Feature = { inputIds: Int32Array.from(enc.inputIds), tokenTypeIds: Int32Array.from(enc.tokenTypeIds), wordIds, file: e.file, line: e.line };
    if (labels && e.tags) {
      const ids = e.tags.map((t, i) => labels.id(t, { file: e.file, line: e.line + i }));
      const out = new Int32Array(wordIds.length).fill(IGNORE_INDEX);
      let previous = -1;
      for (let t = 0; t < wordIds.length; t++) {
        const w = wordIds[t]!;
        if (w >= 0 && (w !== previous || opts.labelAllTokens)) out[t] = ids[w]!;
        previous = w;
      }
      f.labels = out;
    }
    return f;
  });
}
