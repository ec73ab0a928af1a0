import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BertTokenizer } from '../src/tokenizers/bert-tokenizer.js';
import { parseSafetensors } from '../src/io/safetensors.js';
import { ParameterStore } from '../src/nn/parameters.js';
import { ForwardModel } from '../src/nn/forward.js';
import { TrainStep } from '../src/train/step.js';
import { type BertArchitecture, type BertConfig, parseBertConfig } from '../src/models/bert/config.js';
import { buildBert } from '../src/models/bert/modeling.js';
import { HEADS, type HeadKind } from '../src/models/heads.js';
import type { BuildContext } from '../src/nn/layers.js';
import { type HostTensor, hostTensor } from '../src/runtime/tensor.js';

// Checkpoints and outputs from tools/make-bert-fixtures.py (a plain PyTorch BERT).
const root = new URL('./fixtures/bert/', import.meta.url);

/** The head each Hugging Face architecture of the fixtures carries. */
const HEAD_OF: Record<BertArchitecture, HeadKind> = {
  BertModel: 'base',
  BertForSequenceClassification: 'sequence-classification',
  BertForTokenClassification: 'token-classification',
  BertForMaskedLM: 'masked-lm',
  BertForNextSentencePrediction: 'next-sentence',
  BertForPreTraining: 'pretraining',
};

/** The BERT graph of `arch`: its outputs (with `hiddenStates`, every layer's too), and its loss when `withLoss`. */
const bert = (ctx: BuildContext, config: BertConfig, arch: BertArchitecture, withLoss: boolean, opts: { hiddenStates?: boolean } = {}) =>
  buildBert(ctx, config, HEAD_OF[arch], { withLoss, ...opts });

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, what: string) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  assert.ok(worst <= atol, `${what}: max abs error ${worst} > ${atol}`);
}

function load(dir: URL) {
  const config = parseBertConfig(JSON.parse(readFileSync(new URL('config.json', dir), 'utf8')));
  const { tensors } = parseSafetensors(readFileSync(new URL('model.safetensors', dir)));
  const store = new ParameterStore();
  for (const [key, t] of tensors) {
    const name = key.replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
    store.create(name, t.shape, { kind: 'zeros' }).data.set(t.data as Float32Array);
  }
  return { config, store, tensorNames: new Set([...tensors.keys()]) };
}

const i64 = (xs: number[]) => BigInt64Array.from(xs.map((x) => BigInt(x)));

for (const name of readdirSync(root).filter((n) => existsSync(new URL(`${n}/expected.json`, root)))) {
  test(`${name}: logits/hidden states and loss match the PyTorch reference`, async () => {
    const dir = new URL(`${name}/`, root);
    const expected = JSON.parse(readFileSync(new URL('expected.json', dir), 'utf8'));
    const arch = expected.architecture as BertArchitecture;
    const { config, store } = load(dir);
    const before = store.count();
    const model = await ForwardModel.create(store, (ctx) => bert(ctx, config, arch, false, { hiddenStates: true }).outputs, { session: { threads: 1 } });
    assert.equal(store.count(), before, 'every parameter the graph uses comes from the checkpoint');
    const fused = await ForwardModel.create(store, (ctx) => bert(ctx, config, arch, false).outputs, {
      session: { threads: 1 },
      frozen: true,
      fusedKernels: true,
    });
    assert.ok(
      fused.graph.nodes.some((n) => n.opType === 'Attention'),
      'the fused graph uses the Attention kernel',
    );
    // The loss is compared with dropout off, as in the reference.
    const noDropout = { ...config, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 };
    const step = arch === 'BertModel' ? undefined : await TrainStep.create(store, (ctx) => ({ loss: bert(ctx, noDropout, arch, true).loss! }), { session: { threads: 1 } });
    for (const batch of expected.batches) {
      const [B, S] = batch.shape as [number, number];
      const feeds: Record<string, HostTensor> = {};
      for (const k of ['input_ids', 'token_type_ids', 'attention_mask']) feeds[k] = hostTensor('int64', i64(batch.inputs[k]), [B, S]);
      const out = await model.run(feeds);
      const fusedOut = await fused.run(feeds);
      for (const [k, v] of Object.entries(batch.outputs as Record<string, number[]>)) {
        close(out[k]!.data as Float32Array, v, 1e-4, `${name} ${k} [${B}x${S}]`);
        close(fusedOut[k]!.data as Float32Array, v, 1e-4, `${name} ${k} [${B}x${S}] with fused kernels`);
      }
      if (batch.hidden_states) {
        assert.equal(batch.hidden_states.length, config.num_hidden_layers + 1);
        (batch.hidden_states as number[][]).forEach((h, i) => close(out[`hidden_states.${i}`]!.data as Float32Array, h, 1e-4, `${name} hidden_states.${i}`));
      }
      if (!step || batch.loss === undefined) continue;
      const labelFeeds: Record<string, HostTensor> = {};
      for (const k of HEADS[HEAD_OF[arch]].labelInputs) {
        const values = batch.labels[k] as number[];
        const input = step.batchInputs.find((v) => v.name === k)!;
        const dims = input.shape.map((d) => (d === 'batch_size' ? B : d === 'sequence_length' ? S : (d as number)));
        labelFeeds[k] = input.dtype === 'int64' ? hostTensor('int64', i64(values), dims) : hostTensor('float32', Float32Array.from(values), dims);
      }
      const r = await step.run({ ...feeds, ...labelFeeds });
      assert.ok(Math.abs(r.loss - batch.loss) <= 1e-4 * Math.max(1, Math.abs(batch.loss)), `${name} loss ${r.loss} vs ${batch.loss}`);
      for (const [pname, grad] of r.grads) assert.ok(grad.every(Number.isFinite), `${pname} gradient is finite`);
    }
    await model.release();
    await fused.release();
    await step?.release();
  });
}

test('tokenizer and model together: raw text to logits matches the PyTorch reference', async () => {
  const dir = new URL('BertForSequenceClassification-text/', root);
  const { cases } = JSON.parse(readFileSync(new URL('texts.json', dir), 'utf8')) as { cases: { text: string; input_ids: number[]; logits: number[] }[] };
  const tok = await BertTokenizer.fromDirectory(fileURLToPath(new URL('../tokenizer/uncased/', root)));
  const { config, store } = load(dir);
  const model = await ForwardModel.create(store, (ctx) => bert(ctx, config, 'BertForSequenceClassification', false).outputs, {
    session: { threads: 1 },
    frozen: true,
    fusedKernels: true,
  });
  assert.ok(cases.some((c) => c.text === '') && cases.some((c) => c.input_ids.length === config.max_position_embeddings));
  for (const c of cases) {
    const enc = tok.encode(c.text, undefined, { maxLength: config.max_position_embeddings });
    assert.deepEqual(enc.inputIds, c.input_ids, JSON.stringify(c.text));
    const S = enc.inputIds.length;
    const t = (xs: number[]) => hostTensor('int64', i64(xs), [1, S]);
    const out = await model.run({ input_ids: t(enc.inputIds), attention_mask: t(enc.attentionMask), token_type_ids: t(enc.tokenTypeIds) });
    close(out.logits!.data as Float32Array, c.logits, 1e-4, `logits of ${JSON.stringify(c.text)}`);
  }
  await model.release();
});

// Gradients of the loss with respect to every parameter, from tools/make-bert-fixtures.py
// (`gradients`): PyTorch autograd in float64 on the float32 weights, dropout off, one padded batch
// with a sentence pair. tuna's come from a TrainStep built as the Trainer builds it (dropout off).
const gradientRoot = new URL('./fixtures/bert-gradients/', import.meta.url);
/** Error allowed, relative to the largest gradient of each tensor. */
const GRADIENT_RTOL = 1e-4;
/**
 * The attention key bias gets no gradient at all: it adds the same q·b to every score of a query,
 * which softmax ignores. PyTorch's is float64 round-off (~1e-17); tuna's must be float32 round-off,
 * this small next to the model's largest gradient.
 */
const ZERO_GRADIENT = /\.attention\.self\.key\.bias$/;
const ZERO_ATOL = 1e-6;

for (const name of readdirSync(gradientRoot).filter((n) => existsSync(new URL(`${n}/gradients.safetensors`, gradientRoot)))) {
  test(`${name}: the gradient of every parameter matches PyTorch autograd`, async (t) => {
    const dir = new URL(`${name}/`, gradientRoot);
    const batch = JSON.parse(readFileSync(new URL('batch.json', dir), 'utf8')) as {
      architecture: BertArchitecture;
      shape: [number, number];
      inputs: Record<string, number[]>;
      labels: number[];
      loss: number;
    };
    const arch = batch.architecture;
    const { config, store } = load(dir);
    const expected = parseSafetensors(readFileSync(new URL('gradients.safetensors', dir))).tensors;
    const before = store.count();
    const training = { ...config, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, classifier_dropout: 0 };
    const step = await TrainStep.create(store, (ctx) => ({ loss: bert(ctx, training, arch, true).loss! }), {
      session: { threads: 1 },
      initStd: config.initializer_range,
    });
    try {
      assert.equal(store.count(), before, 'every parameter the graph uses comes from the checkpoint');
      const [B, S] = batch.shape;
      const feeds: Record<string, HostTensor> = {};
      for (const k of ['input_ids', 'token_type_ids', 'attention_mask']) feeds[k] = hostTensor('int64', i64(batch.inputs[k]!), [B, S]);
      assert.ok(batch.inputs.attention_mask!.includes(0) && batch.inputs.token_type_ids!.includes(1), 'the batch has padding and a sentence pair');
      feeds.labels = hostTensor('int64', i64(batch.labels), HEAD_OF[arch] === 'token-classification' ? [B, S] : [B]);
      const r = await step.run(feeds);
      assert.ok(Math.abs(r.loss - batch.loss) <= 1e-5 * Math.abs(batch.loss), `loss ${r.loss} vs ${batch.loss}`);

      assert.deepEqual([...r.grads.keys()].sort(), [...expected.keys()].sort(), 'a gradient for every parameter, and only those');
      let modelScale = 0;
      for (const g of expected.values()) for (const v of g.data as Float32Array) modelScale = Math.max(modelScale, Math.abs(v));
      let worst = { name: '', relative: 0 };
      for (const [pname, grad] of r.grads) {
        const want = expected.get(pname)!.data as Float32Array;
        assert.equal(grad.length, want.length, `${pname}: size`);
        let scale = 0;
        let err = 0;
        for (let i = 0; i < want.length; i++) {
          scale = Math.max(scale, Math.abs(want[i]!));
          err = Math.max(err, Math.abs(grad[i]! - want[i]!));
        }
        if (ZERO_GRADIENT.test(pname)) {
          assert.ok(scale <= 1e-12 * modelScale, `${pname}: the reference gradient is zero (${scale.toExponential(2)})`);
          assert.ok(err <= ZERO_ATOL * modelScale, `${pname}: gradient ${err.toExponential(2)} where it is zero (the model's largest is ${modelScale.toExponential(2)})`);
          continue;
        }
        assert.ok(scale > 0, `${pname}: the reference gradient is not all zeros`);
        const relative = err / scale;
        if (relative > worst.relative) worst = { name: pname, relative };
        assert.ok(relative <= GRADIENT_RTOL, `${pname}: max abs error ${err.toExponential(2)} is ${relative.toExponential(2)} of its largest gradient ${scale.toExponential(2)}`);
      }
      // Rows of tokens absent from the batch get exactly zero, as in PyTorch.
      const words = r.grads.get('bert.embeddings.word_embeddings.weight')!;
      const H = config.hidden_size;
      const used = new Set(batch.inputs.input_ids);
      for (let row = 0; row < config.vocab_size; row++) {
        if (!used.has(row))
          assert.ok(
            words.subarray(row * H, (row + 1) * H).every((v) => v === 0),
            `word embedding row ${row} is not in the batch`,
          );
      }
      t.diagnostic(`worst gradient error: ${worst.relative.toExponential(2)} of the largest gradient of ${worst.name}`);
    } finally {
      await step.release();
    }
  });
}
