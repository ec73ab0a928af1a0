/**
 * The Unigram language model as Hugging Face's tokenizers runs it: the Viterbi best segmentation
 * over a trie of pieces, unknown characters scored at (lowest score - 10) and fused, optional byte
 * fallback.
 */
import { type JsonAt, asArray, asNumber, asString, child, type Fields, fieldError } from '../json.js';
import { type Model, type Token, WordCache, byteToken } from './model.js';

const UNK_PENALTY = 10;
const encoder = new TextEncoder();

interface TrieNode {
  next: Map<number, TrieNode> | undefined;
  id: number;
}

/** The Unigram model. */
export class Unigram implements Model {
  readonly vocab = new Map<string, number>();
  private readonly pieces: string[];
  private readonly scores: Float64Array;
  private readonly root: TrieNode = { next: undefined, id: -1 };
  private readonly minScore: number;
  private readonly cache = new WordCache();
  readonly continuingSubwordPrefix = undefined;

  constructor(
    pieces: readonly (readonly [string, number])[],
    readonly unkId: number | undefined,
    readonly byteFallback: boolean,
  ) {
    this.pieces = pieces.map((p) => p[0]);
    this.scores = Float64Array.from(pieces.map((p) => p[1]));
    let min = Number.POSITIVE_INFINITY;
    pieces.forEach(([piece, score], id) => {
      this.vocab.set(piece, id);
      if (score < min) min = score;
    });
    for (const [piece, id] of this.vocab) {
      if (piece.length === 0) continue;
      let node = this.root;
      for (let i = 0; i < piece.length; i++) {
        const c = piece.charCodeAt(i);
        node.next ??= new Map();
        let n = node.next.get(c);
        if (!n) {
          n = { next: undefined, id: -1 };
          node.next.set(c, n);
        }
        node = n;
      }
      node.id = id;
    }
    this.minScore = min;
  }

  get unkToken(): string | undefined {
    return this.unkId === undefined ? undefined : this.pieces[this.unkId];
  }

  idToToken(id: number): string | undefined {
    return this.pieces[id];
  }

  /** The best segmentation of `s` into strings (unknown runs fused). */
  segment(s: string): string[] {
    const n = s.length;
    if (n === 0) return [];
    const unkScore = this.minScore - UNK_PENALTY;
    const bestScore = new Float64Array(n + 1);
    const bestStart = new Int32Array(n + 1).fill(-1);
    const bestId = new Int32Array(n + 1).fill(-1);
    for (let start = 0; start < n; ) {
      const base = bestScore[start]!;
      const mblen = s.codePointAt(start)! > 0xffff ? 2 : 1;
      let single = false;
      let node: TrieNode | undefined = this.root;
      for (let i = start; i < n && node; i++) {
        node = node.next?.get(s.charCodeAt(i));
        if (!node) break;
        if (node.id < 0) continue;
        const end = i + 1;
        const cand = this.scores[node.id]! + base;
        if (bestStart[end]! < 0 || cand > bestScore[end]!) {
          bestScore[end] = cand;
          bestStart[end] = start;
          bestId[end] = node.id;
        }
        if (end - start === mblen) single = true;
      }
      if (!single) {
        const end = start + mblen;
        const cand = unkScore + base;
        if (bestStart[end]! < 0 || cand > bestScore[end]!) {
          if (this.unkId === undefined) throw new Error('the Unigram model has no unk_id but the text has characters outside its vocab');
          bestScore[end] = cand;
          bestStart[end] = start;
          bestId[end] = this.unkId;
        }
      }
      start += mblen;
    }
    const out: string[] = [];
    let fused = '';
    for (let end = n; end > 0; ) {
      const start = bestStart[end]!;
      const piece = s.slice(start, end);
      if (this.unkId !== undefined && bestId[end] === this.unkId) fused = piece + fused;
      else {
        if (fused) {
          out.push(fused);
          fused = '';
        }
        out.push(piece);
      }
      end = start;
    }
    if (fused) out.push(fused);
    return out.reverse();
  }

  tokenize(word: string): Token[] {
    if (word.length === 0) return [];
    const hit = this.cache.get(word);
    if (hit) return hit;
    const out: Token[] = [];
    let at = 0;
    for (const piece of this.segment(word)) {
      const start = at;
      const end = at + piece.length;
      at = end;
      const id = this.vocab.get(piece);
      if (id !== undefined) {
        out.push({ id, value: piece, start, end });
        continue;
      }
      if (this.byteFallback) {
        const bytes = encoder.encode(piece);
        const toks: Token[] = [];
        for (const b of bytes) {
          const t = byteToken(b);
          const bid = this.vocab.get(t);
          if (bid === undefined) break;
          toks.push({ id: bid, value: t, start, end });
        }
        if (toks.length === bytes.length) {
          out.push(...toks);
          continue;
        }
      }
      if (this.unkId === undefined) throw new Error('the Unigram model has no unk_id but the text has characters outside its vocab');
      out.push({ id: this.unkId, value: piece, start, end });
    }
    this.cache.set(word, out);
    return out;
  }
}

/** Builds a Unigram model from its tokenizer.json object. */
export function parseUnigram(f: Fields): Unigram {
  const vat = f.at_('vocab');
  const pieces = f.array('vocab').map((entry, i): [string, number] => {
    const at: JsonAt = child(vat, i);
    const pair = asArray(entry, at);
    if (pair.length !== 2) throw fieldError(at, 'must be a [piece, score] pair');
    return [asString(pair[0], child(at, 0)), asNumber(pair[1], child(at, 1))];
  });
  const unkId = f.optIndex('unk_id');
  if (unkId !== undefined && unkId >= pieces.length) throw fieldError(f.at_('unk_id'), `${unkId} is outside the vocab (${pieces.length} pieces)`);
  return new Unigram(pieces, unkId, f.bool('byte_fallback', false));
}
