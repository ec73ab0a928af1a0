// tuna export --no-merge: a LoRA adapter's weights as inputs of the exported graph, so that one
// graph serves several adapters of its base; each fed adapter gives what its merged export gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { exportCommand } from '../src/cli/commands/export.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { PreTrainedModel } from '../src/models/pretrained-model.js';
import { PeftModel, loadAdapterModel, readAdapter } from '../src/peft/index.js';
import { adapterInputFeeds, adapterInputLayout } from '../src/peft/lora-inputs.js';
import { batchInputs } from '../src/pipelines/batching.js';
import { Session } from '../src/runtime/session.js';
import type { HostTensor } from '../src/runtime/tensor.js';
import { tempDir } from './helpers/pipeline-models.js';

const FIXTURES = resolve('test/fixtures/peft');
const BASE = join(FIXTURES, 'base');
const quiet = { stdout() {}, stderr() {} } as never;
const options = { dtype: 'f32', granularity: 'per-channel', verify: true } as const;

async function exportTo(model: string, merge: boolean): Promise<string> {
  const output = await tempDir('export-no-merge');
  await exportCommand({ model, output, merge, ...options }, quiet);
  return output;
}

async function run(onnxDir: string, feeds: Record<string, HostTensor>): Promise<Float32Array> {
  const session = await Session.create(await readFile(join(onnxDir, 'onnx', 'model.onnx')), { threads: 1 });
  try {
    return (await session.run(feeds)).logits!.data as Float32Array;
  } finally {
    await session.release();
  }
}

function largestDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));
}

test('one --no-merge graph serves several LoRA adapters, each within 1e-4 of its merged export', async () => {
  // A third adapter with other ranks, fewer targets and four labels (B random so it matters).
  const thin = await tempDir('export-thin');
  const model = await PreTrainedModel.fromPretrained(BASE, { head: 'sequence-classification', id2label: { 0: 'a', 1: 'b', 2: 'c', 3: 'd' }, missing: 'init' });
  const peft = PeftModel.apply(model, { method: 'lora', lora: { r: 2, alpha: 4, targetModules: ['query'], useRslora: true } });
  for (const p of model.store.list()) if (p.name.endsWith('lora_B.weight') || p.name.startsWith('classifier.')) p.data.forEach((_, i) => (p.data[i] = Math.sin(7 * i + 1) / 2));
  await peft.save(thin, { baseModel: BASE });

  const lora = join(FIXTURES, 'lora');
  const unmerged = await exportTo(lora, false);
  const stored = await readSafetensors(join(unmerged, 'onnx', 'adapter_inputs.safetensors'));
  const tokenizer = await model.loadTokenizer();
  const { feeds: tokens } = batchInputs(
    ['a good film', 'not good at all, a long and tiring evening'].map((t) => tokenizer.encode(t, undefined, { maxLength: 40 })),
    tokenizer.padTokenId,
  );
  const own = Object.fromEntries([...stored.tensors].map(([k, t]) => [k, { dtype: 'float32' as const, dims: t.shape, data: t.data as Float32Array }]));
  const diff = largestDifference(await run(unmerged, { ...tokens, ...own }), await run(await exportTo(lora, true), tokens));
  assert.ok(diff < 1e-4, `the exporting adapter: ${diff}`);

  // Other adapters' values, for the layers of the exported graph.
  const layout = adapterInputLayout((await loadAdapterModel(lora)).model, await readAdapter(lora));
  for (const other of [join(FIXTURES, 'lora-rslora'), thin]) {
    const feeds = adapterInputFeeds(layout, await readAdapter(other));
    const got = await run(unmerged, { ...tokens, ...feeds });
    const d = largestDifference(got, await run(await exportTo(other, true), tokens));
    assert.ok(d < 1e-4, `${other}: ${d}`);
  }
  // An adapter with a layer the graph lacks is refused, naming it.
  assert.throws(
    () =>
      adapterInputFeeds(layout, {
        ...stored,
        method: 'lora',
        config: { lora: { r: 4 } },
        weightsFile: 'x',
        tensors: new Map([['bert.encoder.layer.0.output.dense.lora_A.weight', stored.tensors.values().next().value!]]),
      } as never),
    /output\.dense/,
  );
  await assert.rejects(exportCommand({ model: BASE, output: await tempDir('x'), merge: false, ...options }, quiet), /--no-merge applies to a LoRA adapter directory/);
});
