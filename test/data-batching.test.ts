import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Feature, collate, planBatches, shuffle } from '../src/data/index.js';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

test('planBatches: in order by default, a smaller last batch unless dropLast', () => {
  assert.deepEqual(planBatches([5, 5, 5, 5, 5], { batchSize: 2 }), [[0, 1], [2, 3], [4]]);
  assert.deepEqual(planBatches([5, 5, 5, 5, 5], { batchSize: 2, dropLast: true }), [
    [0, 1],
    [2, 3],
  ]);
  assert.deepEqual(planBatches([], { batchSize: 4 }), []);
  assert.throws(() => planBatches([1], { batchSize: 0 }), RangeError);
  assert.throws(() => planBatches([1], { batchSize: 1.5 }), RangeError);
});

test('planBatches: shuffled deterministically per seed, every index once', () => {
  const lengths = range(103).map((i) => (i * 7) % 50);
  const a = planBatches(lengths, { batchSize: 8, shuffle: true, seed: 3 });
  assert.deepEqual(a, planBatches(lengths, { batchSize: 8, shuffle: true, seed: 3 }));
  assert.notDeepEqual(a, planBatches(lengths, { batchSize: 8, shuffle: true, seed: 4 }));
  assert.deepEqual(a.flat(), shuffle(range(103), 3));
  assert.deepEqual(sorted(a.flat()), range(103));
  assert.equal(a.length, 13);
});

test('planBatches groupByLength: mega-batches of 50 batches sorted longest first; the longest example in the first batch', () => {
  const n = 1000;
  const lengths = shuffle(range(n), 11).map((x) => 5 + (x % 120));
  const batchSize = 4;
  const plan = planBatches(lengths, { batchSize, shuffle: true, seed: 9, groupByLength: true });
  assert.deepEqual(sorted(plan.flat()), range(n));
  assert.ok(plan.every((b) => b.length === batchSize));
  const longest = Math.max(...lengths);
  assert.ok(plan[0]!.some((i) => lengths[i] === longest));
  assert.equal(lengths[plan[0]![0]!], longest);
  // Within each mega-batch (50 batches = 200 examples) lengths do not increase, except at the
  // position the longest example was swapped out of.
  const flat = plan.flat();
  let rises = 0;
  for (let m = 0; m < n; m += 50 * batchSize) {
    const group = flat.slice(m, m + 50 * batchSize).map((i) => lengths[i]!);
    for (let k = 1; k < group.length; k++) if (group[k]! > group[k - 1]!) rises++;
  }
  assert.ok(rises <= 2, `${rises} rises`);
  // Far less padding than a random order: padded tokens summed over batches.
  const padded = (p: number[][]) => p.reduce((s, b) => s + b.length * Math.max(...b.map((i) => lengths[i]!)), 0);
  assert.ok(padded(plan) < 0.7 * padded(planBatches(lengths, { batchSize, shuffle: true, seed: 9 })));
  // Deterministic, and a different seed gives different mega-batches.
  assert.deepEqual(plan, planBatches(lengths, { batchSize, shuffle: true, seed: 9, groupByLength: true }));
  assert.notDeepEqual(plan, planBatches(lengths, { batchSize, shuffle: true, seed: 10, groupByLength: true }));
  // Without shuffle: file order cut into mega-batches, each sorted.
  assert.deepEqual(planBatches([1, 3, 2, 5, 4], { batchSize: 2, groupByLength: true }), [[3, 4], [1, 2], [0]]);
});

const feature = (ids: number[], labels?: Feature['labels'], types?: number[]): Feature => ({
  inputIds: Int32Array.from(ids),
  tokenTypeIds: Int32Array.from(types ?? ids.map(() => 0)),
  labels,
  line: 1,
});

test('collate single_label: dynamic padding to the longest, int64 ids/mask/type ids and labels', () => {
  const features = [feature([2, 10, 11, 3], 1), feature([2, 12, 3, 13, 14, 3], 0, [0, 0, 0, 1, 1, 1]), feature([2, 3], 2)];
  const b = collate(features, [0, 1], { padId: 0, task: 'single_label' });
  assert.deepEqual(Object.keys(b).sort(), ['attention_mask', 'input_ids', 'labels', 'token_type_ids']);
  assert.equal(b.input_ids!.dtype, 'int64');
  assert.deepEqual(b.input_ids!.dims, [2, 6]);
  assert.deepEqual([...(b.input_ids!.data as BigInt64Array)], [2n, 10n, 11n, 3n, 0n, 0n, 2n, 12n, 3n, 13n, 14n, 3n]);
  assert.deepEqual([...(b.attention_mask!.data as BigInt64Array)], [1n, 1n, 1n, 1n, 0n, 0n, 1n, 1n, 1n, 1n, 1n, 1n]);
  assert.deepEqual([...(b.token_type_ids!.data as BigInt64Array)], [0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 1n, 1n, 1n]);
  assert.deepEqual(b.labels, { dtype: 'int64', dims: [2], data: new BigInt64Array([1n, 0n]) });
  // Batch order follows the indices; padding id comes from the caller; multiple-of rounding.
  const c = collate(features, [2, 0], { padId: 7, padToMultipleOf: 8, task: 'single_label' });
  assert.deepEqual(c.input_ids!.dims, [2, 8]);
  assert.deepEqual([...(c.input_ids!.data as BigInt64Array)].slice(0, 8), [2n, 3n, 7n, 7n, 7n, 7n, 7n, 7n]);
  assert.deepEqual([...(c.labels!.data as BigInt64Array)], [2n, 1n]);
  // Unlabelled features: no labels tensor.
  assert.equal(collate([feature([2, 3]), feature([2, 5, 3])], [0, 1], { padId: 0, task: 'single_label' }).labels, undefined);
  assert.throws(() => collate(features, [], { padId: 0, task: 'single_label' }), RangeError);
  assert.throws(() => collate(features, [5], { padId: 0, task: 'single_label' }), RangeError);
});

test('collate multi_label: float32 [batch, classes]; token: int64 [batch, length] padded with -100', () => {
  const multi = [feature([2, 3], new Float32Array([1, 0, 1])), feature([2, 9, 3], new Float32Array([0, 1, 0]))];
  const m = collate(multi, [0, 1], { padId: 0, task: 'multi_label' });
  assert.deepEqual(m.labels, { dtype: 'float32', dims: [2, 3], data: new Float32Array([1, 0, 1, 0, 1, 0]) });

  const tok = [feature([2, 10, 11, 3], Int32Array.from([-100, 4, -100, -100])), feature([2, 12, 3], Int32Array.from([-100, 1, -100]))];
  const t = collate(tok, [0, 1], { padId: 0, task: 'token' });
  assert.deepEqual(t.labels!.dims, [2, 4]);
  assert.equal(t.labels!.dtype, 'int64');
  assert.deepEqual([...(t.labels!.data as BigInt64Array)], [-100n, 4n, -100n, -100n, -100n, 1n, -100n, -100n]);
  assert.throws(() => collate(tok, [0], { padId: 0, task: 'single_label' }), /expected a class id/);
});

test('batches: every example once, length grouping cuts padding, collate pads dynamically', () => {
  const lengths = Array.from({ length: 200 }, (_, i) => 5 + ((i * 37) % 60));
  for (const groupByLength of [false, true]) {
    const plan = planBatches(lengths, { batchSize: 16, shuffle: true, seed: 4, groupByLength });
    assert.deepEqual(
      plan.flat().sort((a, b) => a - b),
      [...lengths.keys()],
    );
  }
  const padding = (plan: number[][]) => plan.reduce((t, b) => t + b.length * Math.max(...b.map((i) => lengths[i]!)) - b.reduce((s, i) => s + lengths[i]!, 0), 0);
  assert.ok(
    padding(planBatches(lengths, { batchSize: 16, shuffle: true, seed: 4, groupByLength: true })) < padding(planBatches(lengths, { batchSize: 16, shuffle: true, seed: 4 })) / 3,
  );
  assert.equal(planBatches(lengths, { batchSize: 16, dropLast: true }).length, 12);

  const f = (n: number, label: number) => ({ inputIds: Int32Array.from({ length: n }, (_, i) => i + 10), tokenTypeIds: new Int32Array(n), labels: label, line: 1 });
  const b = collate([f(3, 1), f(5, 0)], [0, 1], { padId: 0, task: 'single_label' });
  assert.deepEqual(b.input_ids!.dims, [2, 5]);
  assert.deepEqual([...(b.input_ids!.data as BigInt64Array)].map(Number), [10, 11, 12, 0, 0, 10, 11, 12, 13, 14]);
  assert.deepEqual([...(b.attention_mask!.data as BigInt64Array)].map(Number), [1, 1, 1, 0, 0, 1, 1, 1, 1, 1]);
  assert.deepEqual([...(b.labels!.data as BigInt64Array)].map(Number), [1, 0]);
  assert.deepEqual(collate([f(3, 1)], [0], { padId: 0, task: 'single_label', padToMultipleOf: 8 }).input_ids!.dims, [1, 8]);
});
