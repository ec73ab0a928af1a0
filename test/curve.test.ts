// The learning-curve SVG: losses each drawn once, only rates on the 0-1 metrics panel, legends
// beside the plot areas, ticks on round values.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { learningCurveSvg, niceTicks } from '../src/train/curve.js';

/** What pre-training logs: eval_loss equals eval_mlm_loss without NSP, and a token count rides along. */
function pretrainHistory(): Record<string, number>[] {
  const h: Record<string, number>[] = [];
  for (let s = 50; s <= 1300; s += 50) h.push({ loss: 7 * Math.exp(-s / 400) + 2.1, learning_rate: 5e-4, grad_norm: 1, epoch: s / 130, step: s });
  for (let s = 130; s <= 1300; s += 130) {
    const loss = 6.5 * Math.exp(-s / 450) + 2.4;
    h.push({ eval_loss: loss, eval_mlm_loss: loss, eval_mlm_accuracy: 0.45 - 0.35 * Math.exp(-s / 400), eval_masked_tokens: 4123, eval_runtime: 3.2, epoch: s / 130, step: s });
  }
  return h;
}

const legendNames = (svg: string) => [...svg.matchAll(/<text x="(\d+(?:\.\d+)?)" y="[\d.]+" font-size="11">([^<]+)<\/text>/g)].map((m) => ({ x: Number(m[1]), name: m[2]! }));
const tickLabels = (svg: string) => [...svg.matchAll(/font-size="10" text-anchor="(?:end|middle)">([^<]+)<\/text>/g)].map((m) => m[1]!);

test('pre-training curve: each loss once, no count on the accuracy axis, no timings', () => {
  const svg = learningCurveSvg(pretrainHistory());
  const names = legendNames(svg).map((l) => l.name);
  assert.deepEqual(names, ['train loss', 'eval_loss', 'eval_mlm_accuracy']);
  assert.doesNotMatch(svg, /masked_tokens|runtime/);
  assert.equal((svg.match(/<polyline /g) ?? []).length, 3);
  // No axis stretched to a count of thousands (4.1e+3 beside an accuracy of 0.4).
  assert.ok(!tickLabels(svg).some((l) => /e/.test(l) || Number(l) === 4000), tickLabels(svg).join(' '));
});

test('legends sit to the right of the plot areas, never over the lines', () => {
  const svg = learningCurveSvg(pretrainHistory());
  const plots = [...svg.matchAll(/<rect x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)" fill="none"/g)].map((m) => Number(m[1]) + Number(m[3]));
  assert.equal(plots.length, 2);
  const right = Math.max(...plots);
  for (const { x, name } of legendNames(svg)) assert.ok(x > right, `legend "${name}" at x=${x} is inside the plot (right edge ${right})`);
  const width = Number(/<svg [^>]*width="(\d+)"/.exec(svg)![1]);
  for (const { x } of legendNames(svg)) assert.ok(x + 120 <= width, 'the legend fits in the picture');
});

test('ticks fall on 1, 2 or 5 times a power of ten', () => {
  const round = (v: number, step: number) => Math.abs(v / step - Math.round(v / step)) < 1e-9;
  for (const [lo, hi] of [
    [2.31, 8.25],
    [0.197, 0.43],
    [0, 1300],
    [0.615, 0.885],
    [0, 171],
    [4e-5, 3e-4],
    [7, 7],
  ] as const) {
    const ticks = niceTicks(lo, hi, 5);
    assert.ok(ticks.length >= 2 && ticks.length <= 11, `${lo}..${hi}: ${ticks}`);
    assert.ok(ticks[0]! <= lo && ticks.at(-1)! >= hi, `${lo}..${hi}: ${ticks} covers the range`);
    const step = ticks[1]! - ticks[0]!;
    const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
    assert.ok(
      [1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-6),
      `${lo}..${hi}: step ${step}`,
    );
    for (const t of ticks) assert.ok(round(t, step), `${t} is a multiple of ${step}`);
  }
  const svg = learningCurveSvg(pretrainHistory());
  const labels = tickLabels(svg);
  for (const l of labels) assert.match(l, /^\d+(\.\d{1,2})?$/, `tick label "${l}"`);
  assert.ok(labels.includes('500') && labels.includes('1000'), labels.join(' '));
  assert.ok(!labels.includes('325') && !labels.includes('2.31'), labels.join(' '));
});

test('fine-tuning curve: every rate metric beside the losses; nothing logged but loss gives one panel', () => {
  const h: Record<string, number>[] = [
    { loss: 1.1, learning_rate: 3e-4, grad_norm: 2, epoch: 0.5, step: 10 },
    { eval_loss: 0.9, eval_accuracy: 0.6, eval_f1: 0.55, eval_runtime: 1, eval_samples_per_second: 300, epoch: 1, step: 20 },
    { loss: 0.7, learning_rate: 1e-4, grad_norm: 2, epoch: 1.5, step: 30 },
    { eval_loss: 0.6, eval_accuracy: 0.75, eval_f1: 0.7, eval_runtime: 1, eval_samples_per_second: 300, epoch: 2, step: 40 },
  ];
  assert.deepEqual(
    legendNames(learningCurveSvg(h)).map((l) => l.name),
    ['train loss', 'eval_loss', 'eval_accuracy', 'eval_f1'],
  );
  const lossOnly = learningCurveSvg(h.filter((r) => 'loss' in r));
  assert.equal((lossOnly.match(/fill="none" stroke="#999"/g) ?? []).length, 1);
});
