// Pre-training: masking statistics and determinism, packing and NSP pairs, and `tuna pretrain` end
// to end (the model learns: held-out masked-LM loss falls well below a uniform guess), with the
// checkpoint usable for fill-mask through `tuna predict`.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { run } from '../src/cli/main.js';
import { IGNORE_INDEX } from '../src/data/features.js';
import { seededRandom } from '../src/data/split.js';
import { AutoModelForPreTraining, AutoTokenizer } from '../src/models/auto.js';
import { TokenStore, tokenizeCorpus } from '../src/pretrain/corpus.js';
import { nspInstances, packedInstances } from '../src/pretrain/instances.js';
import { maskExample, maskedBatch } from '../src/pretrain/masking.js';
import { writeTinyModel } from './helpers/tiny-model.js';

const work = mkdtempSync(join(tmpdir(), 'tuna-pretrain-'));
after(() => rmSync(work, { recursive: true, force: true }));
const texts = readFileSync(fileURLToPath(new URL('./fixtures/banking77-4class-train.jsonl', import.meta.url)), 'utf8')
  .trim()
  .split('\n')
  .map((l) => (JSON.parse(l).text as string).replace(/\s+/g, ' ').trim());

const special = new Set([2, 3, 0]);
const opts = { maskId: 4, padId: 0, vocabSize: 1000, specialIds: special };

test('masking: 15% of tokens, 80/10/10 replacement, specials never masked, fresh per epoch and reproducible', () => {
  const ids = Int32Array.from({ length: 100_002 }, (_, i) => (i === 0 ? 2 : i === 100_001 ? 3 : 10 + (i % 900)));
  const { inputIds, labels } = maskExample(ids, seededRandom(7), opts);
  let chosen = 0;
  let masked = 0;
  let kept = 0;
  for (let t = 0; t < ids.length; t++) {
    if (labels[t] === IGNORE_INDEX) {
      assert.equal(inputIds[t], ids[t]);
      continue;
    }
    chosen++;
    assert.equal(labels[t], ids[t]);
    if (inputIds[t] === 4) masked++;
    else if (inputIds[t] === ids[t]) kept++;
  }
  assert.equal(labels[0], IGNORE_INDEX);
  assert.equal(labels[100_001], IGNORE_INDEX);
  assert.ok(Math.abs(chosen / 100_000 - 0.15) < 0.005, `chosen ${chosen}`);
  assert.ok(Math.abs(masked / chosen - 0.8) < 0.01, `masked ${masked / chosen}`);
  assert.ok(Math.abs(kept / chosen - 0.1) < 0.01, `kept ${kept / chosen}`);

  const features = [{ inputIds: Int32Array.from([2, 11, 12, 13, 14, 15, 16, 17, 18, 3]), tokenTypeIds: new Int32Array(10), line: 1 }];
  const a = maskedBatch(features, [0], { epoch: 0, seed: 1 }, opts);
  const b = maskedBatch(features, [0], { epoch: 0, seed: 1 }, opts);
  assert.deepEqual(a.labels!.data, b.labels!.data);
  const epochs = new Set(Array.from({ length: 8 }, (_, e) => String(maskedBatch(features, [0], { epoch: e, seed: 1 }, opts).labels!.data)));
  assert.ok(epochs.size > 4, 'other epochs draw other masks');
  // Every example predicts something, even a short one.
  const short = maskedBatch([{ inputIds: Int32Array.from([2, 11, 3]), tokenTypeIds: new Int32Array(3), line: 1 }], [0], { epoch: 0, seed: 3 }, opts);
  assert.deepEqual([...(short.labels!.data as BigInt64Array)].map(Number), [IGNORE_INDEX, 11, IGNORE_INDEX]);
});

test('whole-word masking takes a word with all its ## pieces', () => {
  // ids 20.. are word starts, 500.. continuation pieces.
  const ids = Int32Array.from([2, ...Array.from({ length: 3000 }, (_, i) => (i % 3 === 0 ? 20 + (i % 7) : 500 + (i % 5))), 3]);
  const { labels } = maskExample(ids, seededRandom(5), { ...opts, wholeWord: true, isContinuation: (id) => id >= 500 });
  for (let t = 1; t + 2 < ids.length - 1; t += 3) {
    const word = [labels[t], labels[t + 1], labels[t + 2]].map((l) => l !== IGNORE_INDEX);
    assert.ok(
      word.every((x) => x === word[0]),
      `word at ${t} partly masked`,
    );
  }
});

test('packing keeps every token in order; NSP pairs continue the text or come from another document', async () => {
  const store = new TokenStore(1000);
  const docs = [
    [
      [10, 11, 12],
      [13, 14],
      [15, 16, 17, 18],
    ],
    [
      [20, 21],
      [22, 23, 24],
    ],
    [[30, 31, 32, 33], [34], [35, 36]],
  ];
  for (const d of docs) {
    for (const s of d) store.addSentence(s);
    store.endDocument();
  }
  const packed = packedInstances(store, { cls: 2, sep: 3 }, { maxLength: 8 });
  assert.ok(packed.slice(0, -1).every((f) => f.inputIds.length === 8));
  const body = packed.flatMap((f) => [...f.inputIds.slice(1, -1)]);
  assert.deepEqual(body, [10, 11, 12, 13, 14, 15, 16, 17, 18, 3, 20, 21, 22, 23, 24, 3, 30, 31, 32, 33, 34, 35, 36]);

  const pairs = nspInstances(store, { cls: 2, sep: 3 }, { maxLength: 12, seed: 4, shortSeqProb: 0 });
  assert.ok(pairs.length >= 3);
  for (const p of pairs) {
    const ids = [...p.inputIds];
    assert.equal(ids[0], 2);
    assert.equal(ids.at(-1), 3);
    const sep = ids.indexOf(3);
    const types = [...p.tokenTypeIds];
    assert.ok(types.slice(0, sep + 1).every((t) => t === 0) && types.slice(sep + 1).every((t) => t === 1));
    assert.ok(ids.length <= 12);
    const docOf = (id: number) => Math.floor(id / 10) - 1;
    const a = ids.slice(1, sep);
    const b = ids.slice(sep + 1, -1);
    if (p.nextSentenceLabel === 0) assert.equal(docOf(b[0]!), docOf(a.at(-1)!), 'a true continuation stays in the document');
    else assert.notEqual(docOf(b[0]!), docOf(a[0]!), 'a random B comes from another document');
  }
  const many = new TokenStore(1000);
  for (let d = 0; d < 100; d++) {
    for (let s = 0; s < 30; s++) many.addSentence([10 + d, 11 + d, 12 + s]);
    many.endDocument();
  }
  const labels = nspInstances(many, { cls: 2, sep: 3 }, { maxLength: 12, seed: 9 }).map((p) => p.nextSentenceLabel);
  const random = labels.filter((l) => l === 1).length / labels.length;
  assert.ok(random > 0.4 && random < 0.6, `share of random B ${random}`);
});

test('tuna pretrain: a new model learns masked words; the checkpoint loads and fills masks', async () => {
  const corpus = join(work, 'corpus.txt');
  writeFileSync(corpus, texts.map((t, i) => (i % 6 === 5 ? `${t}\n` : t)).join('\n') + '\n');
  const tok = writeTinyModel(join(work, 'tok'), texts, { hidden: 32 });
  const tokenizer = await AutoTokenizer.fromPretrained(tok);
  const store = await tokenizeCorpus(tokenizer, [corpus]);
  assert.equal(store.documentCount, Math.ceil(texts.length / 6));
  const out = join(work, 'out');
  let stdout = '';
  let stderr = '';
  const code = await run(
    [
      'pretrain',
      '--tokenizer',
      tok,
      '--input',
      corpus,
      '--output',
      out,
      '--hidden-size',
      '64',
      '--layers',
      '2',
      '--heads',
      '2',
      '--nsp',
      '--max-length',
      '64',
      '--epochs',
      '12',
      '--batch-size',
      '16',
      '--lr',
      '3e-3',
      '--validation-split',
      '0.1',
      '--progress',
      'none',
      '--json',
      '--sample',
      'my card has not [MASK] yet',
    ],
    { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) },
  );
  assert.equal(code, 0, stderr);
  const summary = JSON.parse(stdout);
  const uniform = Math.log(tokenizer.vocabSize);
  assert.ok(summary.held_out.mlm_loss < 0.75 * uniform, `held-out MLM loss ${summary.held_out.mlm_loss} (uniform ${uniform.toFixed(2)})`);
  assert.ok(summary.held_out.mlm_accuracy > 0.05, `held-out MLM accuracy ${summary.held_out.mlm_accuracy}`);
  assert.equal(summary.fill_mask[0].candidates.length, 5);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.deepEqual(config.architectures, ['BertForPreTraining']);
  assert.equal(JSON.parse(readFileSync(join(out, 'tokenizer_config.json'), 'utf8')).model_max_length, 64);
  const model = await AutoModelForPreTraining.fromPretrained(out, { initMissingWeights: false });
  assert.deepEqual(model.loadReport.missing, []);
  await model.dispose();

  let predicted = '';
  assert.equal(await run(['predict', '--model', out, '--text', 'where is my [MASK] ?', '--json'], { stdout: (s) => void (predicted += s), stderr: () => {} }), 0);
  const row = JSON.parse(predicted);
  assert.equal(row.candidates.length, 5);
  assert.ok(row.candidates[0].score >= row.candidates[4].score);
  assert.match(row.candidates[0].sequence, /^where is my /);
});

test('the sparse masked-LM loss (masked tokens only) equals the dense one, gradients included', async () => {
  const { bertConfig } = await import('../src/models/bert/config.js');
  const { buildBert } = await import('../src/models/bert/modeling.js');
  const { ParameterStore, Rng } = await import('../src/nn/parameters.js');
  const { TrainStep } = await import('../src/train/step.js');
  const cfg = bertConfig({
    vocab_size: 50,
    hidden_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 32,
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
  });
  const store = new ParameterStore(new Rng(3));
  const features = [
    { inputIds: Int32Array.from([2, 11, 12, 13, 14, 3]), tokenTypeIds: new Int32Array(6), line: 1, nextSentenceLabel: 0 },
    { inputIds: Int32Array.from([2, 21, 22, 3]), tokenTypeIds: Int32Array.from([0, 0, 1, 1]), line: 2, nextSentenceLabel: 1 },
  ];
  const o = { maskId: 4, padId: 0, vocabSize: 50, specialIds: new Set([0, 2, 3]), probability: 0.5, nsp: true };
  for (const arch of ['masked-lm', 'pretraining'] as const) {
    const dense = await TrainStep.create(store, (ctx) => ({ loss: buildBert(ctx, cfg, arch, { withLoss: true }).loss! }));
    const sparse = await TrainStep.create(store, (ctx) => ({ loss: buildBert(ctx, cfg, arch, { withLoss: true, sparseMlm: true }).loss! }));
    const strip = (b: Record<string, unknown>) => (arch === 'masked-lm' ? (delete b.next_sentence_label, b) : b);
    const a = await dense.run(strip(maskedBatch(features, [0, 1], { epoch: 0, seed: 5 }, o)) as never);
    const gradsA = new Map([...a.grads].map(([k, v]) => [k, Float32Array.from(v)]));
    const b = await sparse.run(strip(maskedBatch(features, [0, 1], { epoch: 0, seed: 5 }, { ...o, sparse: true })) as never);
    assert.ok(Math.abs(a.loss - b.loss) < 1e-5, `${arch}: dense ${a.loss}, sparse ${b.loss}`);
    for (const [name, g] of gradsA) {
      const h = b.grads.get(name)!;
      for (let i = 0; i < g.length; i++) assert.ok(Math.abs(g[i]! - h[i]!) < 1e-5, `${arch} ${name}[${i}]`);
    }
    await dense.release();
    await sparse.release();
  }
});

test('tuna pretrain: --nsp on a masked-LM checkpoint says the next-sentence head is new; a used --output is refused; the rate follows the model size', async () => {
  const corpus = join(work, 'small-corpus.txt');
  writeFileSync(
    corpus,
    texts
      .slice(0, 60)
      .map((t, i) => (i % 6 === 5 ? `${t}\n` : t))
      .join('\n') + '\n',
  );
  const tok = writeTinyModel(join(work, 'nsp-tok'), texts, { hidden: 32 });
  const quiet = { stdout: () => {}, stderr: () => {} };
  const mlm = join(work, 'mlm');
  const base = ['--input', corpus, '--max-length', '32', '--max-steps', '1', '--batch-size', '8', '--progress', 'none'];
  let stderr = '';
  assert.equal(
    await run(['pretrain', '--tokenizer', tok, '--output', mlm, '--hidden-size', '32', '--layers', '1', '--heads', '2', ...base], { ...quiet, stderr: (s) => void (stderr += s) }),
    0,
    stderr,
  );
  assert.match(stderr, /learning rate 3e-4 \(the default for hidden size 32; set it with --lr\)/);
  assert.match(stderr, /vocabulary coverage: 0\.0% of the corpus tokens are \[UNK\]/);
  assert.deepEqual(JSON.parse(readFileSync(join(mlm, 'config.json'), 'utf8')).architectures, ['BertForMaskedLM']);

  stderr = '';
  assert.equal(await run(['pretrain', '--tokenizer', tok, '--output', mlm, ...base], { ...quiet, stderr: (s) => void (stderr += s) }), 1);
  assert.match(stderr, /already holds a training run.*--resume.*--overwrite-output-dir/);

  stderr = '';
  const nsp = join(work, 'mlm-then-nsp');
  assert.equal(await run(['pretrain', '--model', mlm, '--nsp', '--output', nsp, ...base], { ...quiet, stderr: (s) => void (stderr += s) }), 0, stderr);
  assert.match(
    stderr,
    /--nsp: .*mlm has no next-sentence head; the head \(cls\.seq_relationship\.weight, cls\.seq_relationship\.bias\) and the pooler it reads start from random weights/,
  );
  assert.doesNotMatch(stderr, /initialised \d+ parameters/);
});
