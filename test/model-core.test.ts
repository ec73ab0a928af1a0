// The model core: the registry's lookups, declared parameters equal to what each graph uses, the
// layer-factory seam, the Trainer's trainable-parameter filter and partial saves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Graph } from '../src/onnx/graph.js';
import { ParameterScope, ParameterStore, Rng } from '../src/nn/parameters.js';
import type { BuildContext, LayerFactory } from '../src/nn/layers.js';
import { parseSafetensors } from '../src/io/safetensors.js';
import { bertConfig, bertConfigToJson } from '../src/models/bert/config.js';
import { HEADS, type HeadKind, architectureEntry, familyOf, headForTask, tasksOfArchitectures, UnsupportedModelError, familyOfConfig } from '../src/models/registry.js';
import { PreTrainedModel } from '../src/models/pretrained-model.js';
import { hostTensor } from '../src/runtime/tensor.js';
import { tempDir } from './helpers/pipeline-models.js';

const config = bertConfig({
  vocab_size: 40,
  hidden_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 32,
  max_position_embeddings: 24,
  id2label: { 0: 'a', 1: 'b', 2: 'c' },
});

function batch(B: number, S: number) {
  const ids = BigInt64Array.from({ length: B * S }, (_, i) => BigInt(5 + ((i * 7) % 30)));
  const ones = new BigInt64Array(B * S).fill(1n);
  return { input_ids: hostTensor('int64', ids, [B, S]), attention_mask: hostTensor('int64', ones, [B, S]), token_type_ids: hostTensor('int64', new BigInt64Array(B * S), [B, S]) };
}

test('registry: architecture names, heads, tasks and families are lookups', () => {
  assert.deepEqual(architectureEntry('BertForTokenClassification')?.head, 'token-classification');
  assert.equal(architectureEntry('GPT2LMHeadModel'), undefined);
  assert.deepEqual(tasksOfArchitectures(['BertForPreTraining']), ['fill-mask', 'feature-extraction']);
  assert.deepEqual(tasksOfArchitectures(['BertForSequenceClassification']), ['text-classification', 'feature-extraction']);
  assert.equal(headForTask('fill-mask', ['BertForSequenceClassification']), undefined);
  assert.equal(headForTask('feature-extraction', ['BertForSequenceClassification']), 'encoder');
  assert.throws(
    () => familyOf('gpt2'),
    (e: unknown) => e instanceof UnsupportedModelError && e.code === 'unsupported_model' && /model_type "gpt2".*supported: .*bert/.test(e.message),
  );
  assert.equal(familyOfConfig({ architectures: ['BertForMaskedLM'] }).modelType, 'bert', 'old configs without model_type');
});

test('every head declares exactly the parameters its graph uses, and the store refuses others', () => {
  const family = familyOf('bert');
  for (const head of Object.keys(family.architectures) as HeadKind[]) {
    const declared = family.parameters(config, head);
    for (const withLoss of [false, true]) {
      if (withLoss && HEADS[head].labelInputs.length === 0) continue;
      const store = new ParameterStore(new Rng(0), { allocate: false });
      for (const s of declared) store.create(s.name, s.shape, s.init, s.decay);
      store.seal(head);
      const scope = new ParameterScope(new Graph('g'), store);
      family.build({ scope, training: withLoss, nextSeed: () => 0, initStd: 0.02 }, config, head, { withLoss });
      assert.deepEqual(
        scope
          .used()
          .map((u) => u.param.name)
          .sort(),
        declared.map((s) => s.name).sort(),
        `${head} withLoss=${withLoss}`,
      );
    }
  }
  const store = new ParameterStore();
  store.seal('BertModel (base)');
  assert.throws(() => store.create('extra.weight', [2], { kind: 'zeros' }), /not among the parameters BertModel \(base\) declares/);
});

test('a layer factory wraps linear layers by name (where LoRA plugs in) without the model knowing', async () => {
  const model = PreTrainedModel.fromConfig(bertConfigToJson(config, 'BertForSequenceClassification'), { seed: 1 });
  const plain = await model.compileInference({ fusedKernels: false, threads: 1 });
  const before = (await plain.run(batch(2, 5))).logits!.data as Float32Array;
  const seen: string[] = [];
  // A rank-1 update on the query and value projections, as LoRA adds one.
  const lora: LayerFactory = {
    linear(ctx: BuildContext, name, x, inF, outF, bias, next) {
      seen.push(name);
      const y = next(ctx, name, x, inF, outF, bias);
      if (!/attention\.self\.(query|value)$/.test(name)) return y;
      const g = ctx.scope.g;
      const a = ctx.scope.param(`${name}.lora_A.weight`, [1, inF], { kind: 'normal', std: 0.5 });
      const b = ctx.scope.param(`${name}.lora_B.weight`, [outF, 1], { kind: 'normal', std: 0.5 });
      const rows = g.reshape(x, [-1, inF]);
      const update = g.gemm(g.gemm(rows, a, undefined, { transB: true }), b, undefined, { transB: true });
      return g.add(y, g.reshape(update, [...x.shape.slice(0, -1), outF]));
    },
  };
  model.store.unseal();
  model.layers = lora;
  const wrapped = await model.compileInference({ threads: 1 });
  const after = (await wrapped.run(batch(2, 5))).logits!.data as Float32Array;
  assert.ok(seen.includes('bert.encoder.layer.1.attention.self.value') && seen.includes('classifier'), 'every linear layer passes through the factory');
  assert.ok(model.store.has('bert.encoder.layer.0.attention.self.query.lora_A.weight'));
  assert.ok(
    before.some((v, i) => Math.abs(v - after[i]!) > 1e-4),
    'the update changes the outputs',
  );
  await plain.release();
  await wrapped.release();
});

test('the trainable filter: only chosen parameters get gradients; a partial save writes only those', async () => {
  const model = PreTrainedModel.fromConfig(bertConfigToJson(config, 'BertForSequenceClassification'), { seed: 2 });
  const head = (name: string) => name.startsWith('classifier.');
  const step = await model.compileTraining({ trainable: head, disableDropout: true, threads: 1 });
  assert.deepEqual(step.trainable.map((p) => p.name).sort(), ['classifier.bias', 'classifier.weight']);
  const result = await step.run({ ...batch(3, 4), labels: hostTensor('int64', BigInt64Array.from([0n, 1n, 2n]), [3]) });
  assert.deepEqual([...result.grads.keys()].sort(), ['classifier.bias', 'classifier.weight']);
  assert.ok(result.gradNorm > 0);
  await step.release();
  const dir = await tempDir('partial');
  await model.savePretrained(dir, { select: head });
  const { tensors } = parseSafetensors(await readFile(join(dir, 'model.safetensors')));
  assert.deepEqual([...tensors.keys()].sort(), ['classifier.bias', 'classifier.weight']);
  assert.deepEqual(tensors.get('classifier.weight')!.data, model.store.get('classifier.weight')!.data);
});
