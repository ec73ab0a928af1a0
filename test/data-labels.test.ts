import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { DataError, LabelMap, loadTextExamples, loadTokenExamples, shuffle, stratifiedSplit } from '../src/data/index.js';

const fx = (name: string) => fileURLToPath(new URL(`./fixtures/data/${name}`, import.meta.url));

test('LabelMap.fromExamples: distinct labels sorted by code units, whatever the order of the data', async () => {
  const ex = await loadTextExamples(fx('banking77-train-sample.csv'), { columns: { label: 'category' } });
  const labels = LabelMap.fromExamples(ex.map((e) => e.label!));
  assert.deepEqual(labels.labels, ['card_arrival', 'card_linking', 'card_not_working', 'exchange_rate', 'extra_charge_on_statement']);
  assert.ok(labels.equals(LabelMap.fromExamples([...ex].reverse().map((e) => e.label!))));
  assert.equal(labels.size, 5);
  assert.equal(labels.id('exchange_rate'), 3);
  assert.equal(labels.label(3), 'exchange_rate');
  // Code-unit order: upper case before lower case (Banking77 has "Refund_not_showing_up").
  assert.deepEqual(LabelMap.fromExamples(['card', 'Refund', 'b', '10', '9']).labels, ['10', '9', 'Refund', 'b', 'card']);
  // Multi-label lists and BIO tags.
  assert.deepEqual(LabelMap.fromExamples([['late', 'cold'], 'good', []]).labels, ['cold', 'good', 'late']);
  const sentences = await loadTokenExamples(fx('conll2003-train-sample.txt'));
  assert.deepEqual(LabelMap.fromExamples(sentences.map((s) => s.tags!)).labels, ['B-LOC', 'B-MISC', 'B-ORG', 'B-PER', 'I-PER', 'O']);
});

test('LabelMap: config round trip; unknown labels are DataErrors naming the place and the known labels', () => {
  const labels = LabelMap.fromExamples(['neg', 'pos', 'neutral']);
  const config = labels.toConfig();
  assert.deepEqual(config, { id2label: { '0': 'neg', '1': 'neutral', '2': 'pos' }, label2id: { neg: 0, neutral: 1, pos: 2 } });
  const back = LabelMap.fromConfig(config.id2label);
  assert.ok(back.equals(labels));
  assert.ok(!back.equals(LabelMap.fromExamples(['neg', 'pos'])));
  // Hugging Face's default names fill gaps.
  assert.deepEqual(LabelMap.fromConfig({ '1': 'pos', '0': 'neg', '3': 'x' }).labels, ['neg', 'pos', 'LABEL_2', 'x']);
  assert.throws(
    () => labels.id('happy', { file: 'test.csv', line: 7 }),
    (e: unknown) =>
      e instanceof DataError &&
      e.file === 'test.csv' &&
      e.line === 7 &&
      e.message === 'test.csv:7: label "happy" is not one of the model\'s 3 labels (neg, neutral, pos); retrain with it or fix the data',
  );
  assert.throws(() => labels.id('happy'), DataError);
  assert.throws(() => labels.label(3), RangeError);
  const many = LabelMap.fromExamples(Array.from({ length: 20 }, (_, i) => `l${String(i).padStart(2, '0')}`));
  assert.throws(() => many.id('x'), /20 labels \(l00, l01, .*, l11\.\.\.\)/);
});

test('shuffle: deterministic per seed, a permutation, input untouched', () => {
  const items = Array.from({ length: 100 }, (_, i) => i);
  const a = shuffle(items, 42);
  assert.deepEqual(a, shuffle(items, 42));
  assert.notDeepEqual(a, items);
  assert.notDeepEqual(a, shuffle(items, 43));
  assert.deepEqual(
    [...a].sort((x, y) => x - y),
    items,
  );
  assert.deepEqual(
    items,
    Array.from({ length: 100 }, (_, i) => i),
  );
  // Every position is reachable: over many seeds, item 0 lands everywhere in a 5-element list.
  const seen = new Set<number>();
  for (let s = 0; s < 200; s++) seen.add(shuffle([0, 1, 2, 3, 4], s).indexOf(0));
  assert.equal(seen.size, 5);
});

test('stratifiedSplit: proportional per class, every class of 2+ keeps one in train, deterministic', async () => {
  const ex = await loadTextExamples(fx('banking77-train-sample.csv'), { columns: { label: 'category' } });
  const { train, validation } = stratifiedSplit(ex, (e) => e.label as string, 0.25, 7);
  assert.equal(train.length + validation.length, ex.length);
  const count = (xs: typeof ex, l: string) => xs.filter((e) => e.label === l).length;
  // 10 → round(2.5) = 3 (JS rounds half up), 8 → 2, 1 → stays in train.
  assert.equal(count(validation, 'card_arrival'), 3);
  assert.equal(count(validation, 'card_linking'), 2);
  assert.equal(count(validation, 'exchange_rate'), 2);
  assert.equal(count(validation, 'extra_charge_on_statement'), 0);
  assert.equal(count(train, 'extra_charge_on_statement'), 1);
  // Input order kept in both parts.
  assert.ok(train.every((e, i) => i === 0 || e.line > train[i - 1]!.line));
  assert.ok(validation.every((e, i) => i === 0 || e.line > validation[i - 1]!.line));
  assert.deepEqual(
    stratifiedSplit(ex, (e) => e.label as string, 0.25, 7),
    { train, validation },
  );
  assert.notDeepEqual(stratifiedSplit(ex, (e) => e.label as string, 0.25, 8).validation, validation);

  // Tiny classes: at least one in validation, at least one left in train.
  const tiny = ['a', 'a', 'b', 'b', 'b', 'c'];
  const s = stratifiedSplit(tiny, (x) => x, 0.01, 1);
  assert.deepEqual(s.validation, ['a', 'b']);
  assert.deepEqual(s.train, ['a', 'b', 'b', 'c']);
  const most = stratifiedSplit(tiny, (x) => x, 0.9, 1);
  assert.deepEqual(most.train, ['a', 'b', 'c']);
  assert.deepEqual(
    stratifiedSplit(tiny, (x) => x, 0, 1),
    { train: tiny, validation: [] },
  );
  assert.throws(() => stratifiedSplit(tiny, (x) => x, 1, 1), RangeError);
});

test('labels: sorted and stable, unknown labels at evaluation name the file and line', () => {
  const m = LabelMap.fromExamples(['b', 'a', ['c', 'a']]);
  assert.deepEqual(m.labels, ['a', 'b', 'c']);
  assert.deepEqual(m.toConfig(), { id2label: { 0: 'a', 1: 'b', 2: 'c' }, label2id: { a: 0, b: 1, c: 2 } });
  assert.ok(LabelMap.fromConfig(m.toConfig().id2label).equals(m));
  assert.throws(
    () => m.id('zzz', { file: 'test.csv', line: 7 }),
    (e: unknown) => e instanceof DataError && /^test\.csv:7: label "zzz" is not one of the model's 3 labels \(a, b, c\)/.test((e as Error).message),
  );
});

test('splits and order: seeded shuffles, stratified validation keeps every class in training', () => {
  const items = Array.from({ length: 103 }, (_, i) => ({ i, y: i % 10 === 0 ? 'rare' : i % 2 ? 'odd' : 'even' }));
  assert.deepEqual(shuffle(items, 1), shuffle(items, 1));
  assert.notDeepEqual(shuffle(items, 1), shuffle(items, 2));
  const { train, validation } = stratifiedSplit(items, (x) => x.y, 0.2, 3);
  assert.equal(train.length + validation.length, items.length);
  for (const cls of ['rare', 'odd', 'even']) {
    const all = items.filter((x) => x.y === cls).length;
    const held = validation.filter((x) => x.y === cls).length;
    assert.ok(Math.abs(held - all * 0.2) <= 1, `${cls}: ${held} of ${all}`);
  }
  assert.deepEqual(
    stratifiedSplit(items, (x) => x.y, 0.2, 3),
    { train, validation },
  );
  assert.equal(stratifiedSplit([{ y: 'solo' }], (x) => x.y, 0.5, 0).train.length, 1);
});
