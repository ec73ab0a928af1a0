/**
 * From per-token label probabilities to entities, with the rules of Hugging Face's
 * TokenClassificationPipeline aggregation strategies (see {@link AggregationStrategy}).
 */
import { argmax } from './math.js';
import type { AggregationStrategy, EntityGroup, TokenEntity } from './types.js';

/** One (non-special) token's prediction, before aggregation. */
export interface TokenScores {
  /** Position in the encoded sequence ([CLS] is 0). */
  readonly index: number;
  /** The token string (`##ing`), or the original text for an unknown-word token. */
  readonly word: string;
  /** Probability of each label id. */
  readonly scores: readonly number[];
  readonly start: number;
  readonly end: number;
  /** Whether the token continues the word of the token before it. */
  readonly isSubword: boolean;
}

/** What aggregation needs to know about the model and tokenizer. */
export interface AggregationContext {
  /** Label name of each label id. */
  readonly labelOf: (id: number) => string;
  /** Joins tokens back into text (the tokenizer's `convert_tokens_to_string`). */
  readonly joinTokens: (tokens: readonly string[]) => string;
  /**
   * The input text between two offsets: when given, an entity group's `word` is the group as
   * written in the text (original case and accents), not its tokens joined.
   */
  readonly textSpan?: (start: number, end: number) => string;
}

/** A token or word with one label, before grouping. */
interface Labelled {
  readonly entity: string;
  readonly score: number;
  readonly words: readonly string[];
  readonly start: number;
  readonly end: number;
}

/** Each token's best label (strategies `none` and `simple`). */
function tokenEntities(tokens: readonly TokenScores[], ctx: AggregationContext): TokenEntity[] {
  return tokens.map((t) => {
    const id = argmax(t.scores);
    return { entity: ctx.labelOf(id), score: t.scores[id]!, index: t.index, word: t.word, start: t.start, end: t.end };
  });
}

/** Splits tokens into words: a word is a token and the sub-word tokens that follow it. */
export function wordsOf(tokens: readonly TokenScores[]): TokenScores[][] {
  const words: TokenScores[][] = [];
  for (const t of tokens) {
    if (t.isSubword && words.length) words.at(-1)!.push(t);
    else words.push([t]);
  }
  return words;
}

/** `Math.max(...xs)` (NaN when any score is NaN) without spreading the scores into arguments. */
function largest(xs: readonly number[]): number {
  let max = Number.NEGATIVE_INFINITY;
  for (const x of xs) {
    if (Number.isNaN(x)) return Number.NaN;
    if (x > max) max = x;
  }
  return max;
}

/** One label for a whole word, by the `first`, `average` or `max` rule. */
function wordEntity(word: readonly TokenScores[], strategy: 'first' | 'average' | 'max', ctx: AggregationContext): Labelled {
  let scores: readonly number[];
  if (strategy === 'first') scores = word[0]!.scores;
  else if (strategy === 'max') {
    // The token whose best label is the most confident (the first such token on ties).
    let best = word[0]!;
    let bestScore = largest(best.scores);
    for (const t of word) {
      const score = largest(t.scores);
      if (score > bestScore) {
        best = t;
        bestScore = score;
      }
    }
    scores = best.scores;
  } else {
    scores = word[0]!.scores.map((_, k) => word.reduce((s, t) => s + t.scores[k]!, 0) / word.length);
  }
  const id = argmax(scores);
  return { entity: ctx.labelOf(id), score: scores[id]!, words: [ctx.joinTokens(word.map((t) => t.word))], start: word[0]!.start, end: word.at(-1)!.end };
}

/** `B-`/`I-` prefix and entity type of a label; a label without either counts as a continuation (`I`). */
export function splitTag(label: string): { bi: 'B' | 'I'; type: string } {
  if (label.startsWith('B-')) return { bi: 'B', type: label.slice(2) };
  if (label.startsWith('I-')) return { bi: 'I', type: label.slice(2) };
  return { bi: 'I', type: label };
}

/** Merges one run of labelled tokens/words into an entity group. */
function groupOf(run: readonly Labelled[], ctx: AggregationContext): EntityGroup {
  const first = run[0]!.entity;
  const dash = first.indexOf('-');
  return {
    entity_group: dash < 0 ? first : first.slice(dash + 1),
    score: run.reduce((s, e) => s + e.score, 0) / run.length,
    word: ctx.textSpan ? ctx.textSpan(run[0]!.start, run.at(-1)!.end) : ctx.joinTokens(run.flatMap((e) => e.words)),
    start: run[0]!.start,
    end: run.at(-1)!.end,
  };
}

/**
 * Groups adjacent labelled items: an item joins the current group when it has the same entity type
 * and does not start with `B-`.
 */
function groupEntities(items: readonly Labelled[], ctx: AggregationContext): EntityGroup[] {
  const groups: EntityGroup[] = [];
  let run: Labelled[] = [];
  for (const item of items) {
    if (run.length) {
      const { bi, type } = splitTag(item.entity);
      if (type === splitTag(run.at(-1)!.entity).type && bi !== 'B') {
        run.push(item);
        continue;
      }
      groups.push(groupOf(run, ctx));
    }
    run = [item];
  }
  if (run.length) groups.push(groupOf(run, ctx));
  return groups;
}

/**
 * The results of one sequence's tokens under `strategy`, leaving out those whose label (or entity
 * group) is in `ignoreLabels`.
 */
export function aggregateTokens(
  tokens: readonly TokenScores[],
  strategy: AggregationStrategy,
  ignoreLabels: readonly string[],
  ctx: AggregationContext,
): TokenEntity[] | EntityGroup[] {
  const ignored = new Set(ignoreLabels);
  if (strategy === 'none') return tokenEntities(tokens, ctx).filter((e) => !ignored.has(e.entity));
  const items: Labelled[] =
    strategy === 'simple'
      ? tokenEntities(tokens, ctx).map((e) => ({ entity: e.entity, score: e.score, words: [e.word], start: e.start, end: e.end }))
      : wordsOf(tokens).map((w) => wordEntity(w, strategy, ctx));
  return groupEntities(items, ctx).filter((g) => !ignored.has(g.entity_group));
}

/**
 * Merges the entities found in overlapping windows of one text: sorted by start, an entity that
 * starts inside the one kept before it replaces it when it is longer (or as long and more
 * confident), and is dropped otherwise.
 */
export function resolveOverlaps<E extends { readonly start: number; readonly end: number; readonly score: number }>(entities: readonly E[]): E[] {
  if (entities.length === 0) return [];
  const sorted = [...entities].sort((a, b) => a.start - b.start);
  const kept: E[] = [];
  let previous = sorted[0]!;
  for (const e of sorted.slice(1)) {
    if (previous.start <= e.start && e.start < previous.end) {
      const length = e.end - e.start;
      const previousLength = previous.end - previous.start;
      if (length > previousLength || (length === previousLength && e.score > previous.score)) previous = e;
    } else {
      kept.push(previous);
      previous = e;
    }
  }
  kept.push(previous);
  return kept;
}
