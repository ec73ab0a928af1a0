import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Value } from '../src/onnx/graph.js';
import { type BuildContext, dropout, embedding, layerNorm, linear } from '../src/nn/layers.js';
import { ParameterStore, Rng } from '../src/nn/parameters.js';
import { AttentionMask, encoderLayer } from '../src/nn/transformer.js';
import { BERT_LAYER_NAMES } from '../src/models/bert/names.js';
import { ForwardModel } from '../src/nn/forward.js';
import { TrainStep } from '../src/train/step.js';
import { AdamW } from '../src/train/adamw.js';
import { linearSchedule } from '../src/train/schedule.js';
import { clipCoefficient, globalNorm } from '../src/train/clip.js';
import { loadOptimizerState, saveOptimizerState } from '../src/train/state.js';
import { type HostTensor, hostTensor } from '../src/runtime/tensor.js';

// A small intent classifier trained from scratch on four Banking77 intents (320 examples).

interface Example {
  text: string;
  label: string;
}
const load = (f: string): Example[] =>
  readFileSync(new URL(`./fixtures/${f}`, import.meta.url), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Example);
const train = load('banking77-4class-train.jsonl');
const heldOut = load('banking77-4class-test.jsonl');
const labels = [...new Set(train.map((e) => e.label))].sort();
const words = (t: string) => t.toLowerCase().match(/[a-z0-9]+|[^\sa-z0-9]/g) ?? [];
const vocab = new Map<string, number>([
  ['[PAD]', 0],
  ['[CLS]', 1],
  ['[UNK]', 2],
]);
for (const e of train) for (const w of words(e.text)) if (!vocab.has(w)) vocab.set(w, vocab.size);
const MAX_LEN = 32;
const cfg = { hidden: 64, heads: 2, intermediate: 128, layerNormEps: 1e-12, hiddenDropout: 0.1, attentionDropout: 0.1 };

function encode(batch: Example[]): Record<string, HostTensor> {
  const toks = batch.map((e) => [1, ...words(e.text).map((w) => vocab.get(w) ?? 2)].slice(0, MAX_LEN));
  const len = Math.max(...toks.map((t) => t.length));
  const ids = new BigInt64Array(batch.length * len);
  const mask = new BigInt64Array(batch.length * len);
  const pos = new BigInt64Array(batch.length * len);
  toks.forEach((t, b) =>
    t.forEach((id, i) => {
      ids[b * len + i] = BigInt(id);
      mask[b * len + i] = 1n;
      pos[b * len + i] = BigInt(i);
    }),
  );
  for (let b = 0; b < batch.length; b++) for (let i = toks[b]!.length; i < len; i++) pos[b * len + i] = BigInt(i);
  return {
    input_ids: hostTensor('int64', ids, [batch.length, len]),
    attention_mask: hostTensor('int64', mask, [batch.length, len]),
    position_ids: hostTensor('int64', pos, [batch.length, len]),
    labels: hostTensor('int64', BigInt64Array.from(batch.map((e) => BigInt(labels.indexOf(e.label)))), [batch.length]),
  };
}

function classifier(ctx: BuildContext): { logits: Value; labels: Value } {
  const g = ctx.scope.g;
  const ids = g.input('input_ids', 'int64', ['batch', 'seq']);
  const am = g.input('attention_mask', 'int64', ['batch', 'seq']);
  const pos = g.input('position_ids', 'int64', ['batch', 'seq']);
  const y = g.input('labels', 'int64', ['batch']);
  let x = g.add(embedding(ctx, 'embeddings.word', ids, vocab.size, cfg.hidden), embedding(ctx, 'embeddings.position', pos, MAX_LEN, cfg.hidden));
  x = dropout(ctx, layerNorm(ctx, 'embeddings.LayerNorm', x, cfg.hidden, cfg.layerNormEps), cfg.hiddenDropout);
  const mask = new AttentionMask(ctx, am);
  for (let l = 0; l < 2; l++) x = encoderLayer(ctx, `encoder.layer.${l}`, x, mask, cfg, BERT_LAYER_NAMES);
  const cls = g.squeeze(g.slice(x, [0], [1], [1]), [1]);
  const pooled = g.tanh(linear(ctx, 'pooler.dense', cls, cfg.hidden, cfg.hidden));
  return { logits: linear(ctx, 'classifier', dropout(ctx, pooled, cfg.hiddenDropout), cfg.hidden, labels.length), labels: y };
}

function shuffled<T>(xs: T[], rng: Rng): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

async function trainRun(seed: number, steps: number, opts: { stateDir?: string } = {}) {
  const store = new ParameterStore(new Rng(seed));
  const step = await TrainStep.create(
    store,
    (ctx) => {
      const { logits, labels: y } = classifier(ctx);
      return { loss: ctx.scope.g.softmaxCrossEntropyLoss(logits, y).loss };
    },
    { dropoutSeed: seed, session: { threads: 1 } },
  );
  const opt = new AdamW({ weightDecay: 0.01 });
  const schedule = linearSchedule(2e-3, Math.round(steps * 0.1), steps);
  const rng = new Rng(seed + 1);
  const losses: number[] = [];
  let order: Example[] = [];
  for (let s = 0; s < steps; s++) {
    if (order.length < 16) order = [...order, ...shuffled(train, rng)];
    const batch = order.splice(0, 16);
    const r = await step.run(encode(batch));
    losses.push(r.loss);
    if (s === 0) assert.ok(Math.abs(r.gradNorm - globalNorm(r.grads.values())) <= 1e-4 * r.gradNorm, 'in-graph gradient norm');
    const coef = clipCoefficient(r.gradNorm, 1.0);
    opt.update(step.trainable, r.grads, schedule(s), coef);
  }
  if (opts.stateDir) await saveOptimizerState(join(opts.stateDir, 'optimizer.safetensors'), opt, { rng: JSON.stringify(rng.state()) });
  await step.release();
  return { store, losses, opt, step };
}

test('a transformer encoder learns Banking77 intents: loss falls and held-out accuracy beats chance', async () => {
  const { store, losses } = await trainRun(42, 160);
  const first = losses.slice(0, 10).reduce((a, b) => a + b) / 10;
  const last = losses.slice(-10).reduce((a, b) => a + b) / 10;
  assert.ok(first > 1.2, `initial loss ${first} should be near ln(4)=1.39`);
  assert.ok(last < first * 0.25, `loss should fall far below its start: ${first.toFixed(3)} -> ${last.toFixed(3)}`);

  const model = await ForwardModel.create(store, (ctx) => ({ logits: classifier(ctx).logits }), { session: { threads: 1 } });
  let correct = 0;
  for (let i = 0; i < heldOut.length; i += 25) {
    const batch = heldOut.slice(i, i + 25);
    const out = await model.run(encode(batch));
    const logits = out.logits!.data as Float32Array;
    batch.forEach((e, b) => {
      const row = Array.from(logits.subarray(b * labels.length, (b + 1) * labels.length));
      if (labels[row.indexOf(Math.max(...row))] === e.label) correct++;
    });
  }
  await model.release();
  const accuracy = correct / heldOut.length;
  assert.ok(accuracy >= 0.75, `held-out accuracy ${accuracy} should be well above chance (0.25)`);
});

test('training is deterministic for a seed and differs across seeds', async () => {
  const a = await trainRun(7, 6);
  const b = await trainRun(7, 6);
  const c = await trainRun(8, 6);
  assert.deepEqual(a.losses, b.losses);
  assert.notDeepEqual(a.losses, c.losses);
});

test('optimizer state saves and loads', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tuna-state-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const a = await trainRun(3, 3, { stateDir: dir });
  const fresh = new AdamW({ weightDecay: 0.01 });
  const meta = await loadOptimizerState(join(dir, 'optimizer.safetensors'), fresh, a.step.trainable);
  assert.equal(fresh.step, 3);
  assert.ok(meta.rng);
  for (const [k, m] of a.opt.state().m) assert.deepEqual(fresh.state().m.get(k), m);
  for (const [k, v] of a.opt.state().v) assert.deepEqual(fresh.state().v.get(k), v);
});
