/**
 * Pre-training examples cut from a token store: `[CLS] A [SEP] B [SEP]` pairs for next-sentence
 * prediction (B the true continuation half of the time, a random document's text otherwise), or,
 * without NSP, documents packed back to back into full-length `[CLS] ... [SEP]` sequences.
 */
import { seededRandom } from '../data/split.js';
import type { Feature } from '../data/features.js';
import type { TokenStore } from './corpus.js';

/** A pre-training example: tokens with special tokens, segment ids and the NSP label (0: B follows A, 1: B is random). */
export interface PretrainFeature extends Feature {
  nextSentenceLabel?: number;
}

/** Special-token ids the builders need. */
export interface SpecialIds {
  readonly cls: number;
  readonly sep: number;
}

/**
 * Pairs for masked-LM plus next-sentence prediction, as BERT's data preparation makes them: within
 * each document, sentences are gathered up to a target length (usually `maxLength`, sometimes
 * shorter with probability `shortSeqProb`), split at a random sentence boundary into A and B, and
 * half of the time B is replaced by text from another document. Long pairs are trimmed from the
 * longer side, at a random end.
 */
export function nspInstances(store: TokenStore, ids: SpecialIds, opts: { maxLength: number; seed: number; shortSeqProb?: number }): PretrainFeature[] {
  const rand = seededRandom(opts.seed);
  const maxTokens = opts.maxLength - 3;
  const out: PretrainFeature[] = [];
  const docs = store.documentCount;
  for (let d = 0; d < docs; d++) {
    const [first, end] = store.document(d);
    const target = rand() < (opts.shortSeqProb ?? 0.1) ? 2 + Math.floor(rand() * (maxTokens - 1)) : maxTokens;
    let chunk: number[] = [];
    let chunkTokens = 0;
    for (let s = first; s < end; s++) {
      chunk.push(s);
      chunkTokens += store.sentence(s).length;
      if (s !== end - 1 && chunkTokens < target) continue;
      if (chunk.length === 0) continue;
      const aEnd = chunk.length >= 2 ? 1 + Math.floor(rand() * (chunk.length - 1)) : 1;
      const a: number[] = [];
      for (const c of chunk.slice(0, aEnd)) a.push(...store.sentence(c));
      let b: number[] = [];
      let random = false;
      if (docs > 1 && (chunk.length === 1 || rand() < 0.5)) {
        random = true;
        let other = Math.floor(rand() * (docs - 1));
        if (other >= d) other++;
        const [of, oe] = store.document(other);
        const start = of + Math.floor(rand() * (oe - of));
        for (let o = start; o < oe && b.length < target - a.length; o++) b.push(...store.sentence(o));
        // The unused tail of this chunk goes back to be used by the next pair.
        s -= chunk.length - aEnd;
      } else {
        for (const c of chunk.slice(aEnd)) b.push(...store.sentence(c));
      }
      if (b.length === 0) {
        chunk = [];
        chunkTokens = 0;
        continue;
      }
      while (a.length + b.length > maxTokens) {
        const longer = a.length > b.length ? a : b;
        if (rand() < 0.5) longer.shift();
        else longer.pop();
      }
      const inputIds = Int32Array.from([ids.cls, ...a, ids.sep, ...b, ids.sep]);
      const tokenTypeIds = new Int32Array(inputIds.length);
      tokenTypeIds.fill(1, a.length + 2);
      out.push({ inputIds, tokenTypeIds, nextSentenceLabel: random ? 1 : 0, line: d + 1 });
      chunk = [];
      chunkTokens = 0;
    }
  }
  return out;
}

/**
 * Masked-LM sequences without NSP: all documents' tokens back to back (a [SEP] between documents),
 * cut into `[CLS] ... [SEP]` sequences of exactly `maxLength` tokens (the last one shorter).
 */
export function packedInstances(store: TokenStore, ids: SpecialIds, opts: { maxLength: number }): PretrainFeature[] {
  const body = opts.maxLength - 2;
  const out: PretrainFeature[] = [];
  let current: number[] = [];
  const flush = () => {
    if (current.length === 0) return;
    const inputIds = Int32Array.from([ids.cls, ...current, ids.sep]);
    out.push({ inputIds, tokenTypeIds: new Int32Array(inputIds.length), line: out.length + 1 });
    current = [];
  };
  for (let d = 0; d < store.documentCount; d++) {
    // A [SEP] between documents that share a sequence.
    if (current.length > 0) {
      current.push(ids.sep);
      if (current.length === body) flush();
    }
    const [first, end] = store.document(d);
    for (let s = first; s < end; s++) {
      for (const t of store.sentence(s)) {
        current.push(t);
        if (current.length === body) flush();
      }
    }
  }
  flush();
  return out;
}
