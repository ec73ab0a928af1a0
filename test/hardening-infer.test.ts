// Inference on broken checkpoints: incomplete or misshapen weights, NaN/Inf weights and outputs,
// tokenizers larger than the embeddings, sizes beyond memory, thread counts, huge batches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isTunaError } from '../src/errors.js';
import { buildExportModel } from '../src/export/build.js';
import { readSafetensors, writeSafetensors, type NamedTensor } from '../src/io/safetensors.js';
import { bertFamily } from '../src/models/bert/family.js';
import { PreTrainedModel, checkDeclaredSize } from '../src/models/pretrained-model.js';
import { DropoutMasks } from '../src/nn/dropout.js';
import { Graph } from '../src/onnx/graph.js';
import { batchInputs } from '../src/pipelines/batching.js';
import { pipeline } from '../src/pipelines/pipeline.js';
import { resolveThreads } from '../src/runtime/session.js';
import { BertTokenizer } from '../src/tokenizers/bert-tokenizer.js';
import { predictionOf } from '../src/train/evaluate.js';
import { tempDir } from './helpers/pipeline-models.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/bert/${name}/`, import.meta.url));

/** A vocabulary of `size` tokens: the special tokens, then w0, w1, ... */
function vocabulary(size: number): string[] {
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  for (let i = 0; vocab.length < size; i++) vocab.push(`w${i}`);
  return vocab;
}

/**
 * A copy of a fixture checkpoint (vocab_size 97) with its tensors edited by `edit`, and a tokenizer
 * of `vocabSize` tokens (97 unless given).
 */
async function brokenCheckpoint(name: string, edit: (tensors: Map<string, NamedTensor>) => void, vocabSize = 97): Promise<string> {
  const dir = join(await tempDir('infer'), name);
  await cp(fixture(name), dir, { recursive: true });
  const { tensors } = await readSafetensors(join(dir, 'model.safetensors'));
  edit(tensors);
  await writeSafetensors(join(dir, 'model.safetensors'), tensors);
  await new BertTokenizer(vocabulary(vocabSize)).save(dir);
  return dir;
}

const values = (tensors: Map<string, NamedTensor>, name: string) => {
  const t = tensors.get(name);
  assert.ok(t, `the fixture has ${name}`);
  return t.data as Float32Array;
};

/** Asserts that `promise` rejects with a TunaError of `code` whose message matches every pattern. */
async function rejectsWith(promise: Promise<unknown>, code: string, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(isTunaError(e), `a TunaError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

const QUERY = 'bert.encoder.layer.0.attention.self.query.weight';

test('a checkpoint missing an encoder tensor is refused by every pipeline, naming the file and the tensor', async () => {
  const dir = await brokenCheckpoint('BertForSequenceClassification', (t) => {
    t.delete(QUERY);
    t.delete('bert.encoder.layer.1.output.dense.bias');
  });
  const file = join(dir, 'model.safetensors').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  for (const task of ['text-classification', 'feature-extraction'] as const) {
    await rejectsWith(
      pipeline(task, dir),
      'invalid_checkpoint',
      new RegExp(`^${file}: `),
      /lacks 2 parameter\(s\)/,
      /(bert\.)?encoder\.layer\.0\.attention\.self\.query\.weight \(missing\)/,
      /(bert\.)?encoder\.layer\.1\.output\.dense\.bias \(missing\)/,
      /random weights/,
    );
  }
  // Training may start from it: the missing tensors are created and reported.
  const model = await PreTrainedModel.fromPretrained(dir);
  assert.deepEqual(model.loadReport.missing, [QUERY, 'bert.encoder.layer.1.output.dense.bias']);
});

test('a sharded checkpoint whose index lacks a tensor is refused naming the index', async () => {
  const dir = join(await tempDir('infer'), 'sharded');
  const model = await PreTrainedModel.fromPretrained(fixture('BertForSequenceClassification'));
  await model.savePretrained(dir, { maxShardBytes: 20_000, select: (name) => name !== QUERY });
  await new BertTokenizer(vocabulary(97)).save(dir);
  await rejectsWith(
    pipeline('text-classification', dir),
    'invalid_checkpoint',
    /model\.safetensors\.index\.json: the checkpoint lacks 1 parameter\(s\) the model needs: bert\.encoder\.layer\.0\.attention\.self\.query\.weight \(missing\)/,
  );
});

test('a head stored with another shape is refused for inference with both shapes; training re-initialises it', async () => {
  const dir = await brokenCheckpoint('BertForSequenceClassification', (t) => {
    t.set('classifier.weight', { shape: [2, 32], data: new Float32Array(64) });
    t.set('classifier.bias', { shape: [2], data: new Float32Array(2) });
  });
  await rejectsWith(
    pipeline('text-classification', dir),
    'invalid_checkpoint',
    /model\.safetensors: /,
    /classifier\.weight \(stored with shape \[2, 32\], but config\.json declares \[3, 32\]\)/,
    /classifier\.bias \(stored with shape \[2\], but config\.json declares \[3\]\)/,
  );
  const model = await PreTrainedModel.fromPretrained(dir);
  assert.deepEqual(
    model.loadReport.mismatched.map((m) => [m.name, m.checkpoint, m.model]),
    [
      ['classifier.weight', [2, 32], [3, 32]],
      ['classifier.bias', [2], [3]],
    ],
  );
});

test('a config declaring more rows than the checkpoint stores is refused before the parameters are allocated', async () => {
  const dir = await brokenCheckpoint('BertForSequenceClassification', () => {});
  const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
  await writeFile(join(dir, 'config.json'), JSON.stringify({ ...config, vocab_size: 200_000, type_vocab_size: 50_000 }));
  await rejectsWith(
    pipeline('text-classification', dir),
    'invalid_checkpoint',
    /bert\.embeddings\.word_embeddings\.weight \(stored with shape \[97, 32\], but config\.json declares \[200000, 32\]\)/,
    /bert\.embeddings\.token_type_embeddings\.weight \(stored with shape \[2, 32\], but config\.json declares \[50000, 32\]\)/,
  );
});

test('NaN or infinite weights are refused at load by every pipeline, naming the tensor and its file', async () => {
  const nanHead = await brokenCheckpoint('BertForSequenceClassification', (t) => values(t, 'classifier.weight').fill(Number.NaN));
  await rejectsWith(pipeline('text-classification', nanHead), 'non_finite', /model\.safetensors: tensor "classifier\.weight" holds NaN/, /earlier checkpoint/);
  const cases = [
    ['BertForSequenceClassification', 'text-classification'],
    ['BertForTokenClassification', 'token-classification'],
    ['BertForMaskedLM', 'fill-mask'],
    ['BertModel', 'feature-extraction'],
  ] as const;
  for (const [name, task] of cases) {
    const dir = await brokenCheckpoint(name, (t) => {
      const key = [...t.keys()].find((k) => k.endsWith('encoder.layer.1.intermediate.dense.weight'))!;
      values(t, key)[5] = Number.POSITIVE_INFINITY;
    });
    await rejectsWith(pipeline(task, dir), 'non_finite', /encoder\.layer\.1\.intermediate\.dense\.weight" holds Infinity \(at element 5\)/);
  }
  // What training loads is not checked here: it refuses a non-finite loss at its first step.
  const model = await PreTrainedModel.fromPretrained(nanHead);
  assert.ok(Number.isNaN(model.store.get('classifier.weight')!.data[0]));
});

test('outputs that overflow to NaN or Infinity are refused by every pipeline (non_finite naming the model)', async () => {
  // Finite weights so large that the outputs overflow: the load check passes, the output check must not.
  const cases = [
    ['BertForSequenceClassification', 'text-classification', 'classifier.weight', ['w1 w2 w3']],
    ['BertForTokenClassification', 'token-classification', 'classifier.weight', ['w1 w2 w3']],
    ['BertForMaskedLM', 'fill-mask', 'cls.predictions.transform.dense.weight', ['w1 [MASK] w3']],
    ['BertModel', 'feature-extraction', 'encoder.layer.1.output.dense.weight', ['w1 w2 w3']],
  ] as const;
  for (const [name, task, tensor, inputs] of cases) {
    const dir = await brokenCheckpoint(name, (t) => values(t, tensor).fill(3e38));
    const pipe = await pipeline(task, dir);
    try {
      await rejectsWith(
        (pipe as unknown as { runBatch: (x: readonly string[]) => Promise<unknown> }).runBatch(inputs),
        'non_finite',
        new RegExp(`${name}: the model's output \\w+ holds (NaN|Infinity|-Infinity)`),
        /weights hold NaN\/Inf/,
      );
    } finally {
      await pipe.dispose();
    }
  }
});

test('evaluation refuses NaN or infinite logits and loss instead of scoring them', async () => {
  const features = [
    { inputIds: [2, 5, 3], attentionMask: [1, 1, 1], tokenTypeIds: [0, 0, 0], labels: 0 },
    { inputIds: [2, 6, 3], attentionMask: [1, 1, 1], tokenTypeIds: [0, 0, 0], labels: 1 },
  ] as never;
  const finite = predictionOf('single_label', 2, features, [Float32Array.of(1, 0), Float32Array.of(0, 1)], 'models/m');
  assert.ok(Number.isFinite(finite.loss));
  assert.throws(
    () => predictionOf('single_label', 2, features, [Float32Array.of(1, 0), Float32Array.of(Number.NaN, 1)], 'models/m'),
    (e: unknown) => isTunaError(e) && e.code === 'non_finite' && /^models\/m: the logits of example 2 hold NaN/.test(e.message),
  );
  assert.throws(
    () => predictionOf('single_label', 2, features, [Float32Array.of(Number.POSITIVE_INFINITY, 0), Float32Array.of(0, 1)]),
    (e: unknown) => isTunaError(e) && e.code === 'non_finite' && /example 1 hold Infinity/.test(e.message),
  );
});

test('a tokenizer with ids beyond the word embeddings is refused by the pipelines and by export', async () => {
  const dir = await brokenCheckpoint('BertForSequenceClassification', () => {}, 117);
  await rejectsWith(
    pipeline('text-classification', dir),
    'invalid_checkpoint',
    /tokenizer\.json: the tokenizer has 117 token ids/,
    /largest id is 116/,
    /config\.json has vocab_size 97/,
  );
  await rejectsWith(buildExportModel(dir), 'invalid_checkpoint', /tokenizer\.json: the tokenizer has 117 token ids.*vocab_size 97/);
  // An added token past the vocabulary counts too (vocab.txt alone, no tokenizer.json).
  const added = await brokenCheckpoint('BertForSequenceClassification', () => {}, 97);
  const tokenizer = new BertTokenizer(vocabulary(97), { addedTokens: [{ content: '<new>', special: false }] });
  await tokenizer.save(added);
  await rejectsWith(pipeline('text-classification', added), 'invalid_checkpoint', /the tokenizer has 98 token ids/);
  // A tokenizer that fits loads, and the same ids run.
  const fits = await brokenCheckpoint('BertForSequenceClassification', () => {}, 97);
  const pipe = await pipeline('text-classification', fits);
  assert.equal((await pipe.runBatch(['w91 w90'])).length, 1);
  await pipe.dispose();
});

/** Sizes each within reason, together hundreds of gigabytes: 48 layers of 8192, a 250k vocabulary. */
const HUGE = { vocab_size: 250_000, hidden_size: 8192, num_hidden_layers: 48, num_attention_heads: 64, intermediate_size: 32_768 };

test('a config whose sizes together exceed memory is refused fast, before any parameter is allocated', async () => {
  const dir = await brokenCheckpoint('BertForSequenceClassification', () => {});
  const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
  await writeFile(join(dir, 'config.json'), JSON.stringify({ ...config, ...HUGE }));
  const rss = process.memoryUsage().rss;
  const t0 = performance.now();
  await rejectsWith(
    pipeline('text-classification', dir),
    'too_large',
    /config\.json: declares \d+ parameters \(\d+ GiB\); inference holds them twice/,
    /the largest tensor is bert\.embeddings\.word_embeddings\.weight \[250000, 8192\]/,
    /vocab_size 250000, intermediate_size 32768, hidden_size 8192/,
    /num_hidden_layers 48/,
  );
  // Training from scratch counts the gradients and AdamW's moments too.
  await rejectsWith(PreTrainedModel.fromPretrained(dir, { initMissingWeights: true }), 'too_large', /training holds them four times/);
  assert.throws(
    () => PreTrainedModel.fromConfig({ ...config, ...HUGE }),
    (e: unknown) => isTunaError(e) && e.code === 'too_large' && e.field === 'vocab_size',
  );
  assert.ok(performance.now() - t0 < 5000, 'refused without allocating');
  assert.ok(process.memoryUsage().rss - rss < 256 * 2 ** 20, 'no gigabytes allocated');
});

test('the declared size is checked against the memory limit it is given', () => {
  const config = bertFamily.parseConfig(JSON.parse('{"vocab_size":97,"hidden_size":32,"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":64}'), 'c');
  const specs = bertFamily.parameters(config, 'encoder');
  const bytes = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * 4, 0);
  checkDeclaredSize(specs, bertFamily as never, config, 'c/config.json', 'inference', 2 * bytes);
  assert.throws(
    () => checkDeclaredSize(specs, bertFamily as never, config, 'c/config.json', 'training', 2 * bytes),
    (e: unknown) => isTunaError(e) && e.code === 'too_large' && e.file === 'c/config.json' && /four times/.test(e.message),
  );
});

test('thread counts: TUNA_THREADS and the threads option are whole numbers of at least 1, capped to the cores', async (t) => {
  const saved = process.env.TUNA_THREADS;
  t.after(() => {
    if (saved === undefined) delete process.env.TUNA_THREADS;
    else process.env.TUNA_THREADS = saved;
  });
  const cores = availableParallelism();
  for (const bad of ['abc', '0', '-1', '1.5', '2x', '1e3']) {
    process.env.TUNA_THREADS = bad;
    assert.throws(
      () => resolveThreads(),
      (e: unknown) => isTunaError(e) && e.code === 'invalid_option' && e.field === 'TUNA_THREADS' && e.message.includes(`got ${JSON.stringify(bad)}`),
      bad,
    );
  }
  process.env.TUNA_THREADS = '1';
  assert.equal(resolveThreads(), 1);
  process.env.TUNA_THREADS = ' ';
  assert.equal(resolveThreads(), cores, 'an empty variable counts as unset');
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  process.env.TUNA_THREADS = '100000';
  assert.equal(resolveThreads(), cores);
  assert.equal(resolveThreads(), cores);
  assert.equal(resolveThreads(5000), cores);
  await new Promise((r) => setImmediate(r));
  process.off('warning', onWarning);
  assert.deepEqual(warnings, [
    `TUNA_THREADS=100000 is more than the ${cores} cores this process can use; using ${cores} threads`,
    `threads=5000 is more than the ${cores} cores this process can use; using ${cores} threads`,
  ]);
  assert.equal(resolveThreads(1), 1, 'the option wins over the variable');
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    assert.throws(
      () => resolveThreads(bad),
      (e: unknown) => isTunaError(e) && e.code === 'invalid_option' && e.field === 'threads',
    );
  }
  // The pipelines check both before loading anything.
  await rejectsWith(pipeline('feature-extraction', fixture('BertModel'), { threads: 1.5 }), 'invalid_option', /threads must be a whole number/);
  process.env.TUNA_THREADS = 'abc';
  await rejectsWith(pipeline('feature-extraction', fixture('BertModel')), 'invalid_option', /TUNA_THREADS must be a whole number/);
});

test('batches and dropout sites too many for a spread argument list are sized with loops', () => {
  const n = 300_000;
  const encoding = (length: number) => ({ inputIds: new Array(length).fill(2), attentionMask: new Array(length).fill(1), tokenTypeIds: new Array(length).fill(0) });
  const encodings = Array.from({ length: n }, (_, i) => encoding(i === 7 ? 3 : 2)) as never;
  assert.equal(batchInputs(encodings, 0).sequenceLength, 3);
  const g = new Graph();
  const masks = new DropoutMasks(g, 1);
  const x = g.input('x', 'float32', [1]);
  for (let i = 0; i < n; i++) masks.apply(x, 0.1);
  assert.equal(Object.keys(masks.feeds(new Map())).length, n);
});
