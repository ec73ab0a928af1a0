import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BertTokenizer } from '../src/tokenizers/bert-tokenizer.js';
import { PreTrainedModel } from '../src/models/pretrained-model.js';
import { hostTensor } from '../src/runtime/tensor.js';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../bin/tuna.js', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/bert/${name}/`, import.meta.url));

/** A checkpoint fixture plus a 97-token vocabulary matching its vocab_size. */
const temporary: string[] = [];
after(() => Promise.all(temporary.map((d) => rm(d, { recursive: true, force: true }))));

async function checkpoint(name: string): Promise<string> {
  const parent = await mkdtemp(join(tmpdir(), 'tuna-predict-'));
  temporary.push(parent);
  const dir = join(parent, name);
  await cp(fixture(name), dir, { recursive: true });
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'where', 'is', 'my', 'card', 'paris', 'john', 'lives', 'in', '?', '.', ','];
  for (let c = 97; vocab.length < 97; c++) vocab.push(c <= 122 ? String.fromCharCode(c) : `##${String.fromCharCode(c - 26)}`);
  await new BertTokenizer(vocab, { modelMaxLength: 16 }).save(dir);
  return dir;
}

const lines = (s: string) =>
  s
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

test('tuna predict --json on a sequence classifier: one object per line, labels from id2label, raw logits', async () => {
  const dir = await checkpoint('BertForSequenceClassification');
  const input = join(dir, 'texts.txt');
  const texts = ['where is my card?', 'John lives in Paris.', 'zzzz ' + 'word '.repeat(40)];
  await writeFile(input, texts.join('\n') + '\n');
  const { stdout } = await run(process.execPath, [bin, 'predict', '--model', dir, '--input', input, '--json', '--batch-size', '2']);
  const rows = lines(stdout);
  assert.deepEqual(
    rows.map((r) => r.text),
    texts,
  );
  // Independent check of the numbers: the plain (unfused) graph on the same tokenization.
  const loaded = await PreTrainedModel.fromPretrained(dir);
  const tok = await BertTokenizer.fromDirectory(dir);
  const model = await loaded.compileInference({ fusedKernels: false, threads: 1 });
  for (const [i, text] of texts.entries()) {
    const enc = tok.encode(text, undefined, { maxLength: 16 });
    assert.ok(enc.inputIds.length <= 16, 'inputs are cut at model_max_length');
    const ids = (xs: number[]) => hostTensor('int64', BigInt64Array.from(xs.map(BigInt)), [1, xs.length]);
    const out = await model.run({ input_ids: ids(enc.inputIds), attention_mask: ids(enc.attentionMask), token_type_ids: ids(enc.tokenTypeIds) });
    const expected = Array.from(out.logits!.data as Float32Array);
    rows[i].logits.forEach((v: number, k: number) => assert.ok(Math.abs(v - expected[k]!) < 1e-4));
    const best = expected.indexOf(Math.max(...expected));
    assert.equal(rows[i].label, loaded.config.id2label[String(best)]);
    const z = expected.reduce((s, v) => s + Math.exp(v - expected[best]!), 0);
    assert.ok(Math.abs(rows[i].score - 1 / z) < 1e-5);
  }
  await model.release();
  const human = await run(process.execPath, [bin, 'predict', '--model', dir, '--text', 'where is my card?']);
  assert.match(human.stdout, /^(negative|neutral|positive)\t0\.\d{4}\twhere is my card\?\n$/);
});

test('tuna predict on a token classifier: entities with offsets and a logits row per token', async () => {
  const dir = await checkpoint('BertForTokenClassification');
  const { stdout } = await run(process.execPath, [bin, 'predict', '--model', dir, '--text', 'John lives in Paris.', '--json']);
  const [row] = lines(stdout);
  assert.equal(row.text, 'John lives in Paris.');
  assert.equal(row.logits.length, 7, '[CLS] john lives in paris . [SEP]');
  assert.ok(row.logits.every((r: number[]) => r.length === 5));
  for (const e of row.entities) {
    assert.equal(e.word, row.text.slice(e.start, e.end));
    assert.match(e.entity_group, /^(PER|LOC)$/);
  }
});

test('tuna predict errors name the problem', async () => {
  const dir = await checkpoint('BertForMaskedLM');
  const fail = async (args: string[], pattern: RegExp) => {
    await assert.rejects(run(process.execPath, [bin, 'predict', ...args]), (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 1);
      assert.match(e.stderr, pattern);
      assert.doesNotMatch(e.stderr, /\n\s+at /);
      return true;
    });
  };
  await fail(['--model', dir, '--text', 'hi'], /no \[MASK\] in "hi"/);
  await fail(['--model', join(dir, 'nope'), '--text', 'hi'], /no such directory, and not a Hub model id/);
  await fail(['--model', dir], /exactly one of --text or --input/);
  const bad = join(dir, 'bad.txt');
  await writeFile(bad, Buffer.from([0x68, 0xff, 0xfe, 0x0a]));
  const cls = await checkpoint('BertForSequenceClassification');
  await fail(['--model', cls, '--input', bad], /not valid UTF-8/);
});

test('tuna predict --revision reads that revision of a Hub id from the Hugging Face hub cache', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'tuna-predict-hub-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const commit = 'a'.repeat(40);
  const repo = join(root, 'hf', 'models--org--classifier');
  await cp(await checkpoint('BertForSequenceClassification'), join(repo, 'snapshots', commit), { recursive: true });
  await mkdir(join(repo, 'refs'), { recursive: true });
  await writeFile(join(repo, 'refs', 'v1'), commit);
  const env = { ...process.env, HF_HUB_CACHE: join(root, 'hf'), TUNA_CACHE: join(root, 'tuna'), HF_HUB_OFFLINE: '1' };
  const { stdout } = await run(process.execPath, [bin, 'predict', '--model', 'org/classifier', '--revision', 'v1', '--text', 'where is my card?', '--json'], { env });
  assert.equal(lines(stdout)[0].text, 'where is my card?');
  // Revision main is not in the cache, and offline mode forbids downloading it.
  await assert.rejects(run(process.execPath, [bin, 'predict', '--model', 'org/classifier', '--text', 'x'], { env }), (e: { stderr: string }) =>
    /org\/classifier: not in the cache .* at revision main/.test(e.stderr),
  );
});
