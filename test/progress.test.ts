// Training progress: a redrawn bar only on a terminal; anywhere else (a pipe, a log file) plain
// lines with the real step total, also when the bar was asked for.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TrainerProgress } from '../src/train/callbacks.js';
import { progressCallback } from '../src/train/progress.js';

const at = (globalStep: number, maxSteps = 4): TrainerProgress => ({
  globalStep,
  maxSteps,
  epoch: globalStep / 2,
  numEpochs: 2,
  samplesPerSecond: 12.5,
  loss: 0.5,
  learningRate: 3e-4,
});

function drive(mode: 'bar' | 'auto' | 'lines', isTTY: boolean): string {
  let out = '';
  const cb = progressCallback(mode, { write: (s: string) => ((out += s), true), isTTY });
  cb.onTrainBegin?.(at(0));
  for (let s = 1; s <= 4; s++) {
    cb.onStep?.(at(s));
    cb.onLog?.(at(s), { loss: 0.5, learning_rate: 3e-4, epoch: s / 2, step: s });
  }
  cb.onLog?.(at(4), { eval_loss: 0.25, eval_f1: 0.8, epoch: 2, step: 4 });
  cb.onTrainEnd?.(at(4));
  return out;
}

test("--progress bar without a terminal prints plain lines with the run's step total, not the bar template", () => {
  const out = drive('bar', false);
  assert.doesNotMatch(out, /\{\w+\}/, 'no raw template fields');
  assert.doesNotMatch(out, /\/100 steps/);
  assert.match(out, /^training: 4 steps, 2 epoch\(s\)\n/);
  assert.match(out, /step 4\/4 epoch 2\.00: loss 0\.5000, learning_rate 3\.000e-4, 12\.5 samples\/s/);
  assert.match(out, /step 4\/4 epoch 2\.00: eval_loss 0\.2500, eval_f1 0\.8000\n/);
  assert.equal(out, drive('lines', false), 'the same as --progress lines');
  assert.equal(drive('auto', false), out);
});

test("on a terminal the bar is drawn with the run's total", () => {
  const out = drive('bar', true);
  assert.match(out, /\| 4\/4 steps \| loss 0\.5000 \| lr 3\.00e-4/);
  assert.doesNotMatch(out, /\{\w+\}/);
  assert.match(out, /step 4 epoch 2\.00: eval_loss 0\.2500/);
});
