/**
 * WordPiece vocabulary training, as Hugging Face's WordPiece trainer does it. Words come from BERT
 * normalisation and pre-tokenisation (CJK characters on their own); each word starts as its
 * characters, continuation characters carrying the `##` prefix, and the most frequent pair of
 * adjacent pieces is merged, again and again, until the vocabulary is full. (Scoring pairs by
 * count(ab) / (count(a) * count(b)) instead, as the original WordPiece description does, fills the
 * vocabulary with rare fragments first and leaves words like "the" in pieces on corpora of this
 * size.) Only the words that contain a merged pair are revisited, so training time follows the
 * number of distinct words, not the size of the corpus.
 */
import { BertNormalizer } from './normalizer.js';
import { bertPreTokenize } from './pre-tokenizer.js';

/** Options of {@link trainWordPiece}. */
export interface WordPieceTrainerOptions {
  /** Vocabulary size to reach, special tokens and alphabet included. */
  readonly vocabSize: number;
  /** A pair must occur this often to be merged (default 2). */
  readonly minFrequency?: number;
  readonly lowercase?: boolean;
  readonly stripAccents?: boolean;
  /** CJK ideographs as single-character words (default true). */
  readonly tokenizeChineseChars?: boolean;
  /** Tokens placed first, in this order (default [PAD], [UNK], [CLS], [SEP], [MASK]). */
  readonly specialTokens?: readonly string[];
  /** Characters in the vocabulary whether or not the corpus has them (e.g. punctuation the texts to come will use). */
  readonly initialAlphabet?: string;
  /** Keep at most this many distinct characters (the most frequent); others become [UNK]. */
  readonly limitAlphabet?: number;
  readonly continuingSubwordPrefix?: string;
  /** Words longer than this (in characters) are skipped, as WordPiece maps them to [UNK]. */
  readonly maxWordLength?: number;
}

/** What training saw and made. */
export interface WordPieceTrainingResult {
  /** Tokens in id order. */
  readonly vocab: string[];
  /** Distinct words counted and their total occurrences. */
  readonly distinctWords: number;
  readonly words: number;
  readonly merges: number;
  /**
   * Tokens every vocabulary of this corpus needs before any merge: the special tokens, the
   * alphabet and the `##` forms of the characters seen inside words. A `vocabSize` below it is
   * exceeded (the vocabulary gets these tokens and no merged pieces).
   */
  readonly baseSize: number;
}

export const DEFAULT_SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

/** Counts the words of texts after BERT normalisation and pre-tokenisation. */
export async function countWords(
  texts: Iterable<string> | AsyncIterable<string>,
  opts: Pick<WordPieceTrainerOptions, 'lowercase' | 'stripAccents' | 'tokenizeChineseChars'> = {},
): Promise<Map<string, number>> {
  const normalizer = new BertNormalizer({
    lowercase: opts.lowercase ?? true,
    stripAccents: opts.stripAccents,
    chineseChars: opts.tokenizeChineseChars ?? true,
    cleanText: true,
  });
  const counts = new Map<string, number>();
  const spans: number[] = [];
  for await (const text of texts) {
    // Normalisation maps each character on its own and words never span a space, so a long text
    // is counted piece by piece, cut at spaces: the same words, in bounded memory.
    for (let from = 0; from < text.length; ) {
      const to = pieceEnd(text, from);
      const norm = normalizer.normalizeString(text.slice(from, to));
      spans.length = 0;
      bertPreTokenize(norm, 0, norm.length, spans);
      for (let k = 0; k < spans.length; k += 2) {
        const w = norm.slice(spans[k]!, spans[k + 1]!);
        counts.set(w, (counts.get(w) ?? 0) + 1);
      }
      from = to;
    }
  }
  return counts;
}

/** Characters normalised at a time in {@link countWords}. */
const PIECE_CHARS = 1 << 16;

/** Where the piece of `text` starting at `from` ends: at a space or tab after {@link PIECE_CHARS} characters, or at the end. */
function pieceEnd(text: string, from: number): number {
  if (text.length - from <= PIECE_CHARS) return text.length;
  for (let i = from + PIECE_CHARS; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x09) return i;
  }
  return text.length;
}

const PAIR = 2 ** 21;
const pairKey = (a: number, b: number) => a * PAIR + b;

/** Learns a WordPiece vocabulary from texts (streamed; only word counts are kept). */
export async function trainWordPiece(texts: Iterable<string> | AsyncIterable<string>, opts: WordPieceTrainerOptions): Promise<WordPieceTrainingResult> {
  return trainWordPieceFromCounts(await countWords(texts, opts), opts);
}

/** Learns a WordPiece vocabulary from word counts. */
export function trainWordPieceFromCounts(counts: ReadonlyMap<string, number>, opts: WordPieceTrainerOptions): WordPieceTrainingResult {
  const prefix = opts.continuingSubwordPrefix ?? '##';
  const minFrequency = opts.minFrequency ?? 2;
  const maxWordLength = opts.maxWordLength ?? 100;
  const vocab: string[] = [];
  const ids = new Map<string, number>();
  const add = (token: string): number => {
    let id = ids.get(token);
    if (id === undefined) {
      id = vocab.length;
      vocab.push(token);
      ids.set(token, id);
    }
    return id;
  };
  for (const t of opts.specialTokens ?? DEFAULT_SPECIAL_TOKENS) add(t);
  if (opts.vocabSize < vocab.length) throw new RangeError(`vocabSize ${opts.vocabSize} is smaller than the ${vocab.length} special tokens`);

  // The alphabet: every character (most frequent first when limited), then the continuation forms seen.
  const charCounts = new Map<string, number>();
  let totalWords = 0;
  for (const [w, c] of counts) {
    totalWords += c;
    for (const ch of w) charCounts.set(ch, (charCounts.get(ch) ?? 0) + c);
  }
  let alphabet = [...charCounts.keys()].sort((a, b) => charCounts.get(b)! - charCounts.get(a)! || (a < b ? -1 : 1));
  if (opts.limitAlphabet !== undefined) alphabet = alphabet.slice(0, opts.limitAlphabet);
  for (const ch of opts.initialAlphabet ?? '') if (!/\s/.test(ch) && !alphabet.includes(ch)) alphabet.push(ch);
  const allowed = new Set(alphabet);
  alphabet.sort();
  for (const ch of alphabet) add(ch);

  // Words as piece ids; words with characters outside the alphabet or too long are left out.
  const kept: [string[], number][] = [];
  const continuation = new Set<string>();
  for (const [w, count] of counts) {
    const chars = [...w];
    if (chars.length > maxWordLength || !chars.every((c) => allowed.has(c))) continue;
    for (let i = 1; i < chars.length; i++) continuation.add(chars[i]!);
    kept.push([chars, count]);
  }
  for (const ch of [...continuation].sort()) add(prefix + ch);
  const baseSize = vocab.length;
  const words = kept.map(([chars, count]) => ({ syms: chars.map((c, i) => ids.get(i === 0 ? c : prefix + c)!), count }));

  const freq: number[] = new Array(vocab.length).fill(0);
  const pairs = new Map<number, number>();
  const wordsOf = new Map<number, Set<number>>();
  const index = (sym: number, w: number) => {
    let s = wordsOf.get(sym);
    if (!s) wordsOf.set(sym, (s = new Set()));
    s.add(w);
  };
  words.forEach((w, k) => {
    w.syms.forEach((s, i) => {
      freq[s] = (freq[s] ?? 0) + w.count;
      index(s, k);
      if (i > 0) {
        const key = pairKey(w.syms[i - 1]!, s);
        pairs.set(key, (pairs.get(key) ?? 0) + w.count);
      }
    });
  });

  let merges = 0;
  while (vocab.length < opts.vocabSize) {
    let best = -1;
    let bestCount = 0;
    for (const [key, c] of pairs) {
      if (c < minFrequency) continue;
      if (c > bestCount || (c === bestCount && key < best)) {
        best = key;
        bestCount = c;
      }
    }
    if (best < 0) break;
    const a = Math.floor(best / PAIR);
    const b = best - a * PAIR;
    const merged = vocab[a]! + vocab[b]!.slice(vocab[b]!.startsWith(prefix) ? prefix.length : 0);
    const m = add(merged);
    if (freq[m] === undefined) freq[m] = 0;
    merges++;
    for (const k of [...(wordsOf.get(a) ?? [])]) {
      const w = words[k]!;
      const s = w.syms;
      let hit = false;
      for (let i = 0; i + 1 < s.length; i++) if (s[i] === a && s[i + 1] === b) hit = true;
      if (!hit) continue;
      for (let i = 0; i + 1 < s.length; i++) {
        const key = pairKey(s[i]!, s[i + 1]!);
        const left = pairs.get(key)! - w.count;
        if (left > 0) pairs.set(key, left);
        else pairs.delete(key);
      }
      const next: number[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          next.push(m);
          freq[a]! -= w.count;
          freq[b]! -= w.count;
          freq[m]! += w.count;
          i++;
        } else next.push(s[i]!);
      }
      w.syms = next;
      for (let i = 0; i + 1 < next.length; i++) {
        const key = pairKey(next[i]!, next[i + 1]!);
        pairs.set(key, (pairs.get(key) ?? 0) + w.count);
      }
      index(m, k);
    }
    pairs.delete(best);
  }
  return { vocab, distinctWords: counts.size, words: totalWords, merges, baseSize };
}
