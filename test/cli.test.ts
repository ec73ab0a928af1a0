import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import { CliError } from '../src/cli/errors.js';
import { TunaError } from '../src/errors.js';
import { Graph } from '../src/onnx/graph.js';
import { serializeGraph } from '../src/onnx/proto.js';
import { TrainingStateError } from '../src/train/state.js';

// End-to-end tests of the real `tuna` executable, run as a user would: a child process started
// from another directory.
const bin = fileURLToPath(new URL('../bin/tuna.js', import.meta.url));
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
const work = await mkdtemp(join(tmpdir(), 'tuna-cli-'));
after(() => rm(work, { recursive: true, force: true }));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function tuna(...args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(bin, args, { cwd: work, env: { ...process.env, TUNA_DEBUG: '' } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A small model with symbolic batch and sequence dims, written the way tuna writes models. */
async function writeModel(): Promise<string> {
  const g = new Graph('cli-test');
  const x = g.input('tokens', 'float32', ['batch', 'seq', 8]);
  const mask = g.input('attention_mask', 'int64', ['batch', 'seq']);
  const w = g.constant(new Float32Array(8 * 4).fill(0.5), 'float32', [8, 4], 'dense.weight');
  const b = g.constant(new Float32Array(4), 'float32', [4], 'dense.bias');
  const h = g.gelu(g.add(g.matMul(x, w), b));
  const m = g.unsqueeze(g.cast(mask, 'float32'), [2]);
  g.output(g.mul(h, m), 'hidden');
  g.output(g.reduceSum(h, [2]), 'scores');
  const file = join(work, 'model.onnx');
  await writeFile(file, serializeGraph(g));
  return file;
}

test('tuna --version prints the package version', async () => {
  const r = await tuna('--version');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), pkg.version);
});

test('tuna --help lists the commands; every command has --help', async () => {
  const r = await tuna('--help');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Usage: tuna/);
  assert.match(r.stdout, /inspect/);
  assert.match(r.stdout, /ops/);
  for (const cmd of ['inspect', 'ops']) {
    const h = await tuna(cmd, '--help');
    assert.equal(h.code, 0, h.stderr);
    assert.match(h.stdout, new RegExp(`Usage: tuna ${cmd}`));
    assert.match(h.stdout, /--json/);
  }
});

test('tuna ops lists the differentiable ops, as text and as JSON', async () => {
  const r = await tuna('ops');
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  for (const op of ['MatMul', 'LayerNormalization', 'SoftmaxCrossEntropyLoss', 'com.microsoft::Gelu']) assert.ok(lines.includes(op), `${op} in ${lines}`);

  const j = await tuna('ops', '--json');
  assert.equal(j.code, 0, j.stderr);
  const doc = JSON.parse(j.stdout) as { count: number; ops: { opType: string; domain: string }[] };
  assert.equal(doc.count, doc.ops.length);
  assert.equal(doc.ops.length, lines.length);
  assert.ok(doc.ops.some((o) => o.opType === 'MatMul' && o.domain === 'ai.onnx'));
  assert.ok(doc.ops.some((o) => o.opType === 'LayerNormalization' && o.domain === 'ai.onnx'));
  assert.ok(doc.ops.some((o) => o.opType === 'FusedMatMul' && o.domain === 'com.microsoft'));
});

test('tuna inspect describes an .onnx file, with symbolic dims', async () => {
  const file = await writeModel();
  const r = await tuna('inspect', file);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /opsets\s+ai\.onnx 18, com\.microsoft 1/);
  assert.match(r.stdout, /tokens\s+float32\s+\[batch, seq, 8\]/);
  assert.match(r.stdout, /attention_mask\s+int64\s+\[batch, seq\]/);
  assert.match(r.stdout, /hidden\s+float32\s+\[batch, seq, 4\]/);
  assert.match(r.stdout, /scores\s+float32\s+\[batch, seq\]/);
  assert.match(r.stdout, /initializers\s+\d+ \(36 parameters, /);
  assert.match(r.stdout, /^\s+MatMul\s+1$/m);
  assert.match(r.stdout, /^\s+com\.microsoft::Gelu\s+1$/m);
});

test('tuna inspect --json prints one JSON document', async () => {
  const file = await writeModel();
  const r = await tuna('inspect', file, '--json');
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.file, file);
  assert.equal(doc.producer, 'tuna');
  assert.deepEqual(doc.opsets, [
    { domain: 'ai.onnx', version: 18 },
    { domain: 'com.microsoft', version: 1 },
  ]);
  assert.deepEqual(doc.inputs, [
    { name: 'tokens', dtype: 'float32', shape: ['batch', 'seq', 8] },
    { name: 'attention_mask', dtype: 'int64', shape: ['batch', 'seq'] },
  ]);
  assert.deepEqual(doc.outputs, [
    { name: 'hidden', dtype: 'float32', shape: ['batch', 'seq', 4] },
    { name: 'scores', dtype: 'float32', shape: ['batch', 'seq'] },
  ]);
  const count = (opType: string, domain = 'ai.onnx') => doc.ops.find((o: { opType: string; domain: string }) => o.opType === opType && o.domain === domain)?.count;
  assert.equal(count('MatMul'), 1);
  assert.equal(count('Gelu', 'com.microsoft'), 1);
  assert.equal(
    doc.nodes,
    doc.ops.reduce((n: number, o: { count: number }) => n + o.count, 0),
  );
  assert.equal(doc.initializers.parameters, 36);
  assert.ok(doc.initializers.count >= 2);
  assert.ok(doc.initializers.bytes >= 36 * 4);
});

function assertOneLineError(r: Result, file: string) {
  assert.equal(r.code, 1);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line of error, got:\n${r.stderr}`);
  assert.ok(lines[0]!.startsWith('tuna: '), lines[0]);
  assert.ok(lines[0]!.includes(file), `the message names ${file}: ${lines[0]}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

test('tuna inspect on a missing file fails with one clear line', async () => {
  const file = join(work, 'missing.onnx');
  const r = await tuna('inspect', file);
  assertOneLineError(r, file);
  assert.match(r.stderr, /no such file/);
  assert.equal(r.stdout, '');

  const j = await tuna('inspect', file, '--json');
  assertOneLineError(j, file);
  assert.deepEqual(JSON.parse(j.stdout), { error: { code: 'file_not_found', message: `${file}: cannot read: no such file or directory; check the path (ENOENT)`, file } });
});

test('tuna inspect on a file that is not ONNX fails with one clear line', async () => {
  const garbage = join(work, 'garbage.onnx');
  await writeFile(garbage, 'this is plain text,\nnot a protobuf model\n');
  const r = await tuna('inspect', garbage);
  assertOneLineError(r, garbage);
  assert.match(r.stderr, /not a valid ONNX model|no graph/);

  const empty = join(work, 'empty.onnx');
  await writeFile(empty, '');
  assertOneLineError(await tuna('inspect', empty), empty);

  const j = await tuna('inspect', garbage, '--json');
  assertOneLineError(j, garbage);
  assert.equal(JSON.parse(j.stdout).error.code, 'invalid_onnx');
});

test('usage errors exit with 1 and a tuna: message', async () => {
  for (const args of [['inspect'], ['no-such-command'], ['ops', '--no-such-option']]) {
    const r = await tuna(...args);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, /^tuna: /, args.join(' '));
  }
});

/** An ONNX model whose initializer `w` ([2, 2] float32) holds 3 bytes instead of 16. */
async function writeCorruptModel(): Promise<string> {
  const { onnx } = onnxProto;
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 18 }],
    graph: { name: 'corrupt', initializer: [{ name: 'w', dataType: onnx.TensorProto.DataType.FLOAT, dims: [2, 2], rawData: new Uint8Array(3) }] },
  });
  const file = join(work, 'corrupt.onnx');
  await writeFile(file, onnx.ModelProto.encode(model).finish());
  return file;
}

test('a TunaError raised deep inside the library is reported by its code: one stderr line, --json document, exit code 1', async () => {
  const file = await writeCorruptModel();
  const message = `${file}: tensor w has 3 bytes, expected 16`;
  const r = await tuna('inspect', file);
  assertOneLineError(r, file);
  assert.equal(r.stderr, `tuna: ${message}\n`);

  const j = await tuna('inspect', file, '--json');
  assertOneLineError(j, file);
  assert.deepEqual(JSON.parse(j.stdout), { error: { code: 'invalid_onnx', message, file } });
});

test('the CLI reports any TunaError by its code: JSON with file and field, exit code 1, 130 when interrupted', () => {
  const field = CliError.of(new TunaError('invalid_option', 'top_k must be at least 1', { field: 'top_k' }));
  assert.deepEqual(field.toJSON(), { error: { code: 'invalid_option', message: 'top_k must be at least 1', field: 'top_k' } });
  assert.equal(field.exitCode, 1);
  const deep = CliError.of(new TrainingStateError('opt.safetensors: state for unknown parameter w', { file: 'opt.safetensors' }));
  assert.deepEqual(deep.toJSON(), { error: { code: 'resume_failed', message: 'opt.safetensors: state for unknown parameter w', file: 'opt.safetensors' } });
  assert.equal(CliError.of(new TunaError('interrupted', 'interrupted at step 3')).exitCode, 130);
  const defect = CliError.of(new TypeError('x is undefined'));
  assert.equal(defect.code, 'internal');
  assert.equal(defect.exitCode, 1);
});
