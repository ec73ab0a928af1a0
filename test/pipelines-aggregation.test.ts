// Aggregation strategies on hand-worked cases, following the rules Hugging Face documents for
// TokenClassificationPipeline: simple groups tokens (B- starts a group, same type with I- or no
// prefix continues it); first/average/max give each word one label first, from its first token,
// from the mean of its tokens' probabilities, or from its most confident token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type AggregationContext, type TokenScores, aggregateTokens, resolveOverlaps } from '../src/pipelines/aggregation.js';
import { windowRanges } from '../src/pipelines/windows.js';

const LABELS = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'];
const ctx: AggregationContext = {
  labelOf: (id) => LABELS[id]!,
  joinTokens: (tokens) => tokens.map((t, i) => (i > 0 && t.startsWith('##') ? t.slice(2) : i > 0 ? ` ${t}` : t)).join(''),
};

/** A token with probability `p` on `label` and the rest spread evenly. */
function tok(index: number, word: string, start: number, label: string, p: number, isSubword = false): TokenScores {
  const k = LABELS.indexOf(label);
  const rest = (1 - p) / (LABELS.length - 1);
  return { index, word, start, end: start + word.replace(/^##/, '').length, scores: LABELS.map((_, i) => (i === k ? p : rest)), isSubword };
}

// "in washington" where washington = wash ##ing ##ton with disagreeing labels.
//   wash: B-LOC 0.6, ##ing: I-PER 0.9, ##ton: B-LOC 0.6 (rest spread evenly: 0.1, 0.025, 0.1)
const washington = [tok(1, 'in', 0, 'O', 0.9), tok(2, 'wash', 3, 'B-LOC', 0.6), tok(3, '##ing', 7, 'I-PER', 0.9, true), tok(4, '##ton', 10, 'B-LOC', 0.6, true)];

test('none: one result per token, O left out, fields as Hugging Face names them', () => {
  assert.deepEqual(aggregateTokens(washington, 'none', ['O'], ctx), [
    { entity: 'B-LOC', score: 0.6, index: 2, word: 'wash', start: 3, end: 7 },
    { entity: 'I-PER', score: 0.9, index: 3, word: '##ing', start: 7, end: 10 },
    { entity: 'B-LOC', score: 0.6, index: 4, word: '##ton', start: 10, end: 13 },
  ]);
  assert.equal(aggregateTokens(washington, 'none', [], ctx).length, 4, 'ignoreLabels [] keeps O tokens');
});

test('simple: tokens keep their own labels, so the word splits where types change or B- restarts', () => {
  assert.deepEqual(aggregateTokens(washington, 'simple', ['O'], ctx), [
    { entity_group: 'LOC', score: 0.6, word: 'wash', start: 3, end: 7 },
    { entity_group: 'PER', score: 0.9, word: '##ing', start: 7, end: 10 },
    { entity_group: 'LOC', score: 0.6, word: '##ton', start: 10, end: 13 },
  ]);
});

test('first: the word takes the label and score of its first token', () => {
  assert.deepEqual(aggregateTokens(washington, 'first', ['O'], ctx), [{ entity_group: 'LOC', score: 0.6, word: 'washington', start: 3, end: 13 }]);
});

test('max: the word takes the label of its most confident token', () => {
  assert.deepEqual(aggregateTokens(washington, 'max', ['O'], ctx), [{ entity_group: 'PER', score: 0.9, word: 'washington', start: 3, end: 13 }]);
});

test('average: the word takes the best label of its mean probabilities', () => {
  // B-LOC: (0.6 + 0.025 + 0.6) / 3 = 0.408..., I-PER: (0.1 + 0.9 + 0.1) / 3 = 0.3666...
  const [group] = aggregateTokens(washington, 'average', ['O'], ctx) as { entity_group: string; score: number; word: string }[];
  assert.equal(group!.entity_group, 'LOC');
  assert.ok(Math.abs(group!.score - (0.6 + 0.025 + 0.6) / 3) < 1e-12);
  assert.equal(group!.word, 'washington');
});

test('simple: B- then I- of one type merge; a second B- starts a new entity; an I- after O opens one', () => {
  // "new york paris berlin is nice" : B-LOC I-LOC B-LOC B-LOC O I-PER
  const tokens = [
    tok(1, 'new', 0, 'B-LOC', 0.8),
    tok(2, 'york', 4, 'I-LOC', 0.6),
    tok(3, 'paris', 9, 'B-LOC', 0.9),
    tok(4, 'berlin', 15, 'B-LOC', 0.7),
    tok(5, 'is', 22, 'O', 0.9),
    tok(6, 'nice', 25, 'I-PER', 0.5),
  ];
  const groups = aggregateTokens(tokens, 'simple', ['O'], ctx) as { entity_group: string; score: number; word: string; start: number; end: number }[];
  assert.deepEqual(
    groups.map((g) => [g.entity_group, g.word, g.start, g.end]),
    [
      ['LOC', 'new york', 0, 8],
      ['LOC', 'paris', 9, 14],
      ['LOC', 'berlin', 15, 21],
      ['PER', 'nice', 25, 29],
    ],
  );
  assert.ok(Math.abs(groups[0]!.score - 0.7) < 1e-12, 'group score is the mean of its tokens');
});

test('simple: labels without a B-/I- prefix continue a run of the same label', () => {
  const labels = ['O', 'PER'];
  const plain: AggregationContext = { ...ctx, labelOf: (id) => labels[id]! };
  const t = (index: number, word: string, start: number, per: number): TokenScores => ({ index, word, start, end: start + word.length, scores: [1 - per, per], isSubword: false });
  const groups = aggregateTokens([t(1, 'ada', 0, 0.9), t(2, 'lovelace', 4, 0.7), t(3, 'wrote', 13, 0.1)], 'simple', ['O'], plain);
  assert.deepEqual(groups, [{ entity_group: 'PER', score: 0.8, word: 'ada lovelace', start: 0, end: 12 }]);
});

test('ignoreLabels filters entity groups by type', () => {
  const groups = aggregateTokens(washington, 'simple', ['O', 'LOC'], ctx) as { entity_group: string }[];
  assert.deepEqual(
    groups.map((g) => g.entity_group),
    ['PER'],
  );
});

test('overlapping entities from windows: the longer one wins, then the more confident', () => {
  const merged = resolveOverlaps([
    { entity_group: 'LOC', score: 0.9, word: 'washing', start: 3, end: 10 },
    { entity_group: 'LOC', score: 0.5, word: 'washington', start: 3, end: 13 },
    { entity_group: 'LOC', score: 0.9, word: '##ton', start: 10, end: 13 },
    { entity_group: 'PER', score: 0.6, word: 'john', start: 20, end: 24 },
    { entity_group: 'PER', score: 0.8, word: 'john', start: 20, end: 24 },
  ]);
  assert.deepEqual(
    merged.map((e) => [e.word, e.score]),
    [
      ['washington', 0.5],
      ['john', 0.8],
    ],
  );
});

test('window ranges overlap by the stride and cover every token', () => {
  assert.deepEqual(windowRanges(10, 4, 1), [
    [0, 4],
    [3, 7],
    [6, 10],
  ]);
  assert.deepEqual(windowRanges(11, 4, 1), [
    [0, 4],
    [3, 7],
    [6, 10],
    [9, 11],
  ]);
  assert.deepEqual(windowRanges(3, 4, 2), [[0, 3]]);
  assert.deepEqual(windowRanges(6, 4, 0), [
    [0, 4],
    [4, 6],
  ]);
});
