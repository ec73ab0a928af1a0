// ONNX export: exported models against the PyTorch reference outputs of the fixtures and against
// tuna's own inference graph, graph properties of each variant, the passes, and `tuna export`.
import assert from 'node:assert/strict';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { run } from '../src/cli/main.js';
import { ExportModel, exportModel, quantizeDynamicInt8, quantizeWeight } from '../src/export/index.js';
import { Graph } from '../src/onnx/graph.js';
import { loadOnnx } from '../src/onnx/proto.js';
import { Session } from '../src/runtime/session.js';
import { type HostTensor, hostTensor } from '../src/runtime/tensor.js';

const work = mkdtempSync(join(tmpdir(), 'tuna-export-'));
after(() => rmSync(work, { recursive: true, force: true }));
const fixture = (name: string) => new URL(`./fixtures/bert/${name}/`, import.meta.url).pathname;
const BUNDLED_EN = new URL('../models/tuna-small-en/', import.meta.url).pathname;

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'lengths');
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

const i64 = (xs: number[]) => BigInt64Array.from(xs.map((x) => BigInt(x)));

async function runFile(path: string, feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
  const session = await Session.create(readFileSync(path), { threads: 1 });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

// Output compared with the PyTorch reference, per architecture (BertForPreTraining exports its masked-LM head).
const HEADS: Record<string, Record<string, string>> = {
  BertForSequenceClassification: { logits: 'logits' },
  BertForTokenClassification: { logits: 'logits' },
  BertForMaskedLM: { logits: 'logits' },
  BertForPreTraining: { logits: 'prediction_logits' },
  BertModel: { last_hidden_state: 'last_hidden_state', pooler_output: 'pooler_output' },
};

for (const [name, outputs] of Object.entries(HEADS)) {
  test(`${name}: exported F32, F16 and int8 models run and match the PyTorch reference`, async () => {
    const out = join(work, name);
    const result = await exportModel({ model: fixture(name), output: out, quantize: 'int8', dtype: 'f16' });
    assert.deepEqual(result.outputs, Object.keys(outputs));
    assert.deepEqual(result.inputs, ['input_ids', 'attention_mask', 'token_type_ids']);
    assert.ok(result.files.find((f) => f.kind === 'f32')!.maxAbsDiff! <= 1e-4, 'verified against tuna on a sample batch');
    // The fixtures have no tokenizer: the models are written, with a warning.
    assert.match(result.warnings.join('\n'), /no tokenizer/);
    assert.ok(existsSync(join(out, 'config.json')));

    const expected = JSON.parse(readFileSync(join(fixture(name), 'expected.json'), 'utf8'));
    for (const batch of expected.batches) {
      const [B, S] = batch.shape as [number, number];
      const feeds: Record<string, HostTensor> = {};
      for (const k of ['input_ids', 'attention_mask', 'token_type_ids']) feeds[k] = hostTensor('int64', i64(batch.inputs[k]), [B, S]);
      const f32 = await runFile(join(out, 'onnx/model.onnx'), feeds);
      const f16 = await runFile(join(out, 'onnx/model_fp16.onnx'), feeds);
      const int8 = await runFile(join(out, 'onnx/model_quantized.onnx'), feeds);
      for (const [ours, theirs] of Object.entries(outputs)) {
        const ref = batch.outputs[theirs] as number[];
        const scale = Math.max(...ref.map(Math.abs));
        assert.ok(maxDiff(f32[ours]!.data as Float32Array, ref) <= 1e-4, `${name} ${ours} F32 vs PyTorch`);
        assert.ok(maxDiff(f16[ours]!.data as Float32Array, ref) <= 1e-2 * Math.max(1, scale), `${name} ${ours} F16 vs PyTorch`);
        assert.ok(maxDiff(int8[ours]!.data as Float32Array, ref) <= 0.1 * Math.max(1, scale), `${name} ${ours} int8 vs PyTorch: ${maxDiff(int8[ours]!.data as Float32Array, ref)}`);
        assert.equal(f16[ours]!.dtype, 'float32', 'the F16 model keeps float32 outputs');
      }
    }
  });
}

test('exported graphs: standard names, int64 inputs with dynamic axes, standard ops only, int8 and float16 weights', async () => {
  const out = join(work, 'BertForSequenceClassification');
  const f32 = loadOnnx(readFileSync(join(out, 'onnx/model.onnx')));
  assert.deepEqual(f32.opsets, { '': 17 });
  for (const input of f32.inputs) {
    assert.equal(input.dtype, 'int64');
    assert.deepEqual(input.shape, ['batch_size', 'sequence_length']);
  }
  assert.deepEqual(
    f32.outputs.map((o) => [o.name, o.dtype, o.shape]),
    [['logits', 'float32', ['batch_size', 3]]],
  );
  assert.ok(f32.initializers.has('bert.encoder.layer.0.attention.output.dense.weight'), 'weights keep their Hugging Face names');
  const int8 = loadOnnx(readFileSync(join(out, 'onnx/model_quantized.onnx')));
  const f16 = loadOnnx(readFileSync(join(out, 'onnx/model_fp16.onnx')));
  for (const m of [f32, int8, f16]) {
    assert.ok(
      m.nodes.every((n) => n.domain === ''),
      'no com.microsoft ops',
    );
    assert.ok(!m.opCounts().has('Gemm') || m === f32 || m === f16);
  }
  const ops = int8.opCounts();
  // 2 layers x (QKV, attention output, FFN in, FFN out) + pooler + classifier.
  assert.equal(ops.get('MatMulInteger'), 10);
  assert.equal(ops.get('DynamicQuantizeLinear'), 10);
  assert.equal(ops.get('Gemm') ?? 0, 0);
  const int8Weights = [...int8.initializers.values()].filter((t) => t.dtype === 'int8');
  assert.equal(int8Weights.length, 10);
  assert.ok([...f16.initializers.values()].some((t) => t.dtype === 'float16'));
  assert.ok(![...f16.initializers.values()].some((t) => t.dtype === 'float32' && t.data.length > 1), 'every float32 weight is stored as float16');
  const size = (f: string) => readFileSync(join(out, 'onnx', f)).byteLength;
  assert.ok(size('model_fp16.onnx') < 0.65 * size('model.onnx'), 'float16 roughly halves the file');
});

test('int8 weights: symmetric per output channel, error within half a step', () => {
  const k = 5;
  const n = 3;
  const w = Float32Array.from({ length: k * n }, (_, i) => Math.sin(i) * (1 + (i % n) * 10));
  for (const limit of [127, 63]) {
    const { q, scales } = quantizeWeight(w, k, n, true, limit);
    assert.equal(scales.length, n);
    for (let c = 0; c < n; c++) {
      let max = 0;
      for (let r = 0; r < k; r++) max = Math.max(max, Math.abs(w[r * n + c]!));
      assert.ok(Math.abs(scales[c]! - max / limit) < 1e-7);
      assert.ok(
        [...Array(k).keys()].some((r) => Math.abs(q[r * n + c]!) === limit),
        'the largest weight of a column uses the whole range',
      );
      for (let r = 0; r < k; r++) {
        assert.ok(Math.abs(q[r * n + c]!) <= limit);
        assert.ok(Math.abs(q[r * n + c]! * scales[c]! - w[r * n + c]!) <= scales[c]! / 2 + 1e-7);
      }
    }
  }
  assert.equal(quantizeWeight(w, k, n, false).scales.length, 1);
});

test('int8 pass: MatMuls reading one activation share a DynamicQuantizeLinear, and results stay close', async () => {
  const g = new Graph('two');
  const x = g.input('x', 'float32', ['rows', 8]);
  const w1 = Float32Array.from({ length: 8 * 4 }, (_, i) => Math.cos(i) / 3);
  const w2 = Float32Array.from({ length: 8 * 6 }, (_, i) => Math.sin(i * 0.7) / 3);
  g.output(g.matMul(x, g.constant(w1, 'float32', [8, 4], 'w1')), 'a');
  g.output(g.gemm(x, g.constant(w2, 'float32', [6, 8], 'w2'), g.constant(new Float32Array(6).fill(0.5), 'float32', [6], 'b2'), { transB: true }), 'b');
  const m = ExportModel.fromGraph(g);
  const reference = m.encode({ opset: 17 });
  const report = quantizeDynamicInt8(m);
  assert.deepEqual(report, { matmuls: 2, activationQuantizers: 1 });
  assert.equal(m.opCounts().get('DynamicQuantizeLinear'), 1);
  assert.ok(!m.initializers.has('w1') && !m.initializers.has('w2'), 'the float32 weights are gone');
  // 7-bit weights by default: u8 x s8 pair sums then fit the 16 bits AVX2 kernels add them in.
  const int8 = [...m.initializers.values()].filter((t) => t.dtype === 'int8');
  assert.equal(int8.length, 2);
  for (const t of int8) assert.equal(Math.max(...Array.from(t.data as Int8Array, Math.abs)), 63);
  const feeds = {
    x: hostTensor(
      'float32',
      Float32Array.from({ length: 3 * 8 }, (_, i) => Math.sin(i + 1)),
      [3, 8],
    ),
  };
  const want = await runFile(writeTemp('ref.onnx', reference), feeds);
  const got = await runFile(writeTemp('q.onnx', m.encode({ opset: 17 })), feeds);
  for (const k of ['a', 'b']) assert.ok(maxDiff(got[k]!.data as Float32Array, want[k]!.data as Float32Array) < 0.03, k);
});

function writeTemp(name: string, bytes: Uint8Array): string {
  const path = join(work, name);
  writeFileSync(path, bytes);
  return path;
}

test("--contrib-ops: ONNX Runtime's Attention, QAttention and DynamicQuantizeMatMul, same results", async () => {
  const out = join(work, 'contrib');
  const r = await exportModel({ model: fixture('BertForSequenceClassification'), output: out, quantize: 'int8', contribOps: true });
  const f32 = loadOnnx(readFileSync(join(out, 'onnx/model.onnx')));
  const int8 = loadOnnx(readFileSync(join(out, 'onnx/model_quantized.onnx')));
  assert.equal(f32.opCounts().get('com.microsoft::Attention'), 2);
  assert.equal(int8.opCounts().get('com.microsoft::QAttention'), 2);
  assert.equal(int8.opCounts().get('com.microsoft::DynamicQuantizeMatMul'), 8);
  assert.ok(r.files.find((f) => f.kind === 'f32')!.maxAbsDiff! <= 1e-5);
  assert.ok(r.files.find((f) => f.kind === 'int8')!.maxAbsDiff! < 0.1);
});

test('tuna export: the transformers.js layout, --json summary, tokenizer files copied', async () => {
  const ckpt = join(work, 'mlm-no-tokenizer-json');
  // A checkpoint without tokenizer.json and special_tokens_map.json: the export writes them.
  for (const f of ['config.json', 'model.safetensors', 'vocab.txt', 'tokenizer_config.json']) {
    cpSync(join(BUNDLED_EN, f), join(ckpt, f), { recursive: true });
  }
  const out = join(work, 'cli-out');
  let stdout = '';
  let stderr = '';
  const io = { stdout: (s: string) => void (stdout += s), stderr: (s: string) => void (stderr += s) };
  const code = await run(['export', '--model', ckpt, '--output', out, '--quantize', 'int8', '--dtype', 'f16', '--opset', '18', '--json'], io);
  assert.equal(code, 0, stderr);
  const doc = JSON.parse(stdout);
  assert.equal(doc.architecture, 'BertForMaskedLM');
  assert.equal(doc.task, 'fill-mask');
  assert.equal(doc.opset, 18);
  assert.deepEqual(doc.generated.sort(), ['special_tokens_map.json', 'tokenizer.json']);
  for (const f of [
    'config.json',
    'tokenizer.json',
    'tokenizer_config.json',
    'vocab.txt',
    'special_tokens_map.json',
    'onnx/model.onnx',
    'onnx/model_quantized.onnx',
    'onnx/model_fp16.onnx',
  ]) {
    assert.ok(existsSync(join(out, f)), f);
    assert.equal(doc.files.find((x: { path: string }) => x.path === f)?.bytes, readFileSync(join(out, f)).byteLength, f);
  }
  assert.deepEqual(readFileSync(join(out, 'vocab.txt')), readFileSync(join(BUNDLED_EN, 'vocab.txt')));
  const tj = JSON.parse(readFileSync(join(out, 'tokenizer.json'), 'utf8'));
  assert.equal(tj.model.type, 'WordPiece');
  assert.equal(Object.keys(tj.model.vocab).length, 8000);
  assert.equal(loadOnnx(readFileSync(join(out, 'onnx/model.onnx'))).opsets[''], 18);

  stdout = '';
  assert.equal(await run(['export', '--model', ckpt, '--output', join(work, 'cli-text')], io), 0);
  assert.match(stdout, /exported BertForMaskedLM \(fill-mask\)/);
  assert.match(stdout, /onnx\/model\.onnx\s+\d/);
  assert.ok(!existsSync(join(work, 'cli-text', 'onnx', 'model_quantized.onnx')), 'int8 only when asked');
});

test('tuna export: errors name the file and say what is wrong', async () => {
  const cases: { args: string[]; code: string; message: RegExp }[] = [
    { args: ['--model', join(work, 'missing'), '--output', join(work, 'e1')], code: 'file_not_found', message: /missing: no such checkpoint directory/ },
    {
      args: ['--model', fixture('BertForNextSentencePrediction'), '--output', join(work, 'e2')],
      code: 'invalid_model',
      message: /config\.json: architectures \["BertForNextSentencePrediction"\] cannot be exported/,
    },
    { args: ['--model', fixture('BertModel'), '--output', join(work, 'e3'), '--quantize', 'int4'], code: 'usage', message: /--quantize must be one of int8/ },
    { args: ['--model', fixture('BertModel'), '--output', join(work, 'e4'), '--opset', '13'], code: 'usage', message: /--opset must be one of 17, 18, 19, 20/ },
    { args: ['--model', fixture('BertModel'), '--output', join(fixture('BertModel'), 'config.json')], code: 'file_unreadable', message: /config\.json: exists and is a file/ },
  ];
  const noWeights = join(work, 'no-weights');
  mkdirSync(noWeights, { recursive: true });
  cpSync(join(fixture('BertModel'), 'config.json'), join(noWeights, 'config.json'));
  cases.push({ args: ['--model', noWeights, '--output', join(work, 'e5')], code: 'file_not_found', message: /no-weights\/model\.safetensors: no such file/ });
  const badConfig = join(work, 'bad-config');
  mkdirSync(badConfig, { recursive: true });
  writeFileSync(join(badConfig, 'config.json'), '{"model_type": "gpt2"}');
  cases.push({ args: ['--model', badConfig, '--output', join(work, 'e6')], code: 'invalid_model', message: /gpt2/ });
  if (process.getuid?.() !== 0) {
    const locked = join(work, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o500);
    cases.push({
      args: ['--model', fixture('BertModel'), '--output', join(locked, 'out')],
      code: 'file_unreadable',
      message: /cannot create the output directory \(permission denied\)/,
    });
  }
  for (const c of cases) {
    let stdout = '';
    let stderr = '';
    const code = await run(['export', ...c.args, '--json'], { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) });
    assert.equal(code, 1, `${c.args.join(' ')}: ${stderr}`);
    assert.match(stderr, c.message);
    assert.equal(JSON.parse(stdout).error.code, c.code, stderr);
  }
});
