/**
 * Byte-pair encoding as Hugging Face's BPE model runs it: characters (with the continuation prefix
 * and end-of-word suffix), unknown characters fused or byte-fallback, then merges applied lowest
 * rank first (leftmost among equal ranks) with a priority queue.
 */
import { type JsonAt, asArray, asString, child, type Fields, fieldError } from '../json.js';
import { type Model, type Token, WordCache, byteToken } from './model.js';

const PAIR = 2 ** 26;
const encoder = new TextEncoder();

/** A min-heap of (rank, position) merges. */
class MergeQueue {
  private readonly ranks: number[] = [];
  private readonly pos: number[] = [];
  get size(): number {
    return this.ranks.length;
  }
  private less(i: number, j: number): boolean {
    const a = this.ranks[i]!;
    const b = this.ranks[j]!;
    return a < b || (a === b && this.pos[i]! < this.pos[j]!);
  }
  private swap(i: number, j: number): void {
    [this.ranks[i], this.ranks[j]] = [this.ranks[j]!, this.ranks[i]!];
    [this.pos[i], this.pos[j]] = [this.pos[j]!, this.pos[i]!];
  }
  push(rank: number, pos: number): void {
    this.ranks.push(rank);
    this.pos.push(pos);
    let i = this.ranks.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  /** Pops the smallest; returns [rank, pos]. */
  pop(): [number, number] {
    const top: [number, number] = [this.ranks[0]!, this.pos[0]!];
    const lastR = this.ranks.pop()!;
    const lastP = this.pos.pop()!;
    if (this.ranks.length > 0) {
      this.ranks[0] = lastR;
      this.pos[0] = lastP;
      let i = 0;
      const n = this.ranks.length;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < n && this.less(l, m)) m = l;
        if (r < n && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

/** Settings of a BPE model. */
export interface BpeOptions {
  readonly unkToken?: string | undefined;
  readonly continuingSubwordPrefix?: string | undefined;
  readonly endOfWordSuffix?: string | undefined;
  readonly fuseUnk: boolean;
  readonly byteFallback: boolean;
  readonly ignoreMerges: boolean;
}

/** The BPE model. */
export class Bpe implements Model {
  readonly vocab: Map<string, number>;
  private readonly byId: string[] = [];
  /** (left id, right id) → rank * PAIR + merged id, packed as [rank, id]. */
  private readonly merges = new Map<number, [number, number]>();
  private readonly cache = new WordCache();
  readonly unkToken: string | undefined;
  readonly continuingSubwordPrefix: string | undefined;

  constructor(
    vocab: Map<string, number>,
    merges: readonly (readonly [string, string])[],
    readonly options: BpeOptions,
    at: JsonAt,
  ) {
    this.vocab = vocab;
    for (const [t, id] of vocab) this.byId[id] = t;
    if (this.byId.length >= PAIR) throw fieldError(at, `vocab has ids up to ${this.byId.length - 1}; tuna's BPE supports ids below ${PAIR}`);
    const prefixLen = options.continuingSubwordPrefix?.length ?? 0;
    merges.forEach(([a, b], rank) => {
      const ia = vocab.get(a);
      const ib = vocab.get(b);
      const merged = a + b.slice(prefixLen);
      const im = vocab.get(merged);
      if (ia === undefined || ib === undefined || im === undefined) {
        const missing = ia === undefined ? a : ib === undefined ? b : merged;
        throw fieldError(child(child(at, 'merges'), rank), `merges ${JSON.stringify(`${a} ${b}`)}: ${JSON.stringify(missing)} is not in the vocab`);
      }
      const key = ia * PAIR + ib;
      this.merges.set(key, [rank, im]);
    });
    this.unkToken = options.unkToken;
    this.continuingSubwordPrefix = options.continuingSubwordPrefix;
  }

  idToToken(id: number): string | undefined {
    return this.byId[id];
  }

  tokenize(word: string): Token[] {
    if (word.length === 0) return [];
    const hit = this.cache.get(word);
    if (hit) return hit;
    let out: Token[];
    const whole = this.options.ignoreMerges ? this.vocab.get(word) : undefined;
    if (whole !== undefined) out = [{ id: whole, value: word, start: 0, end: word.length }];
    else out = this.mergeWord(word);
    this.cache.set(word, out);
    return out;
  }

  private mergeWord(word: string): Token[] {
    const o = this.options;
    const ids: number[] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    const add = (id: number, s: number, e: number) => {
      ids.push(id);
      starts.push(s);
      ends.push(e);
    };
    let unk: [number, number, number] | undefined;
    const unkId = o.unkToken === undefined ? undefined : this.vocab.get(o.unkToken);
    for (let i = 0; i < word.length; ) {
      const len = word.codePointAt(i)! > 0xffff ? 2 : 1;
      const end = i + len;
      let s = word.slice(i, end);
      const ch = s;
      if (o.continuingSubwordPrefix !== undefined && i > 0) s = o.continuingSubwordPrefix + s;
      if (o.endOfWordSuffix !== undefined && end === word.length) s = s + o.endOfWordSuffix;
      const id = this.vocab.get(s);
      if (id !== undefined) {
        if (unk) {
          add(unk[0], unk[1], unk[2]);
          unk = undefined;
        }
        add(id, i, end);
        i = end;
        continue;
      }
      if (o.byteFallback) {
        const bytes = encoder.encode(ch);
        const bids: number[] = [];
        for (const b of bytes) {
          const bid = this.vocab.get(byteToken(b));
          if (bid === undefined) break;
          bids.push(bid);
        }
        if (bids.length === bytes.length) {
          for (const b of bids) add(b, i, end);
          i = end;
          continue;
        }
      }
      if (o.unkToken !== undefined) {
        if (unkId === undefined) throw new Error(`the unknown token ${JSON.stringify(o.unkToken)} is not in the vocab`);
        if (unk && o.fuseUnk) unk[2] = end;
        else {
          if (unk) add(unk[0], unk[1], unk[2]);
          unk = [unkId, i, end];
        }
      }
      i = end;
    }
    if (unk) add(unk[0], unk[1], unk[2]);
    this.applyMerges(ids, ends);
    const out: Token[] = [];
    for (let k = 0; k < ids.length; k++) {
      if (ids[k]! < 0) continue;
      out.push({ id: ids[k]!, value: this.byId[ids[k]!]!, start: starts[k]!, end: ends[k]! });
    }
    return out;
  }

  /** Merges in place; merged-away symbols get id -1. */
  private applyMerges(ids: number[], ends: number[]): void {
    const n = ids.length;
    if (n < 2) return;
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    const q = new MergeQueue();
    for (let i = 0; i + 1 < n; i++) {
      const m = this.merges.get(ids[i]! * PAIR + ids[i + 1]!);
      if (m) q.push(m[0], i);
    }
    while (q.size > 0) {
      const [rank, pos] = q.pop();
      if (ids[pos]! < 0) continue;
      const right = next[pos]!;
      if (right < 0) continue;
      const m = this.merges.get(ids[pos]! * PAIR + ids[right]!);
      if (!m || m[0] !== rank) continue;
      ids[pos] = m[1];
      ends[pos] = ends[right]!;
      ids[right] = -1;
      const after = next[right]!;
      next[pos] = after;
      if (after >= 0) prev[after] = pos;
      const before = prev[pos]!;
      if (before >= 0) {
        const pm = this.merges.get(ids[before]! * PAIR + ids[pos]!);
        if (pm) q.push(pm[0], before);
      }
      if (after >= 0) {
        const nm = this.merges.get(ids[pos]! * PAIR + ids[after]!);
        if (nm) q.push(nm[0], pos);
      }
    }
  }
}

/** Reads tokenizer.json's `merges`: "a b" strings or [a, b] pairs. */
export function parseMerges(v: unknown, at: JsonAt): [string, string][] {
  if (v === undefined || v === null) return [];
  return asArray(v, at).map((m, i) => {
    const mat = child(at, i);
    if (typeof m === 'string') {
      const sp = m.indexOf(' ');
      if (sp < 0) throw fieldError(mat, `${JSON.stringify(m)} must be two tokens separated by a space`);
      return [m.slice(0, sp), m.slice(sp + 1)];
    }
    const pair = asArray(m, mat);
    if (pair.length !== 2) throw fieldError(mat, 'must be a pair of tokens');
    return [asString(pair[0], child(mat, 0)), asString(pair[1], child(mat, 1))];
  });
}

/** Builds a BPE model from its tokenizer.json object. */
export function parseBpe(f: Fields, vocab: Map<string, number>): Bpe {
  return new Bpe(
    vocab,
    parseMerges(f.raw('merges'), f.at_('merges')),
    {
      unkToken: f.optString('unk_token'),
      continuingSubwordPrefix: f.optString('continuing_subword_prefix') || undefined,
      endOfWordSuffix: f.optString('end_of_word_suffix') || undefined,
      fuseUnk: f.bool('fuse_unk', false),
      byteFallback: f.bool('byte_fallback', false),
      ignoreMerges: f.bool('ignore_merges', false),
    },
    f.at,
  );
}
