// tuna serve with adapters: LoRA adapters of one base stacked in one graph (a mixed micro-batch
// runs in one forward pass and gives each row what that adapter's own pipeline gives), adapters
// with their own pipelines, an adapter directory served as a model, the admin endpoint, the LRU
// limit, and the refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { PreTrainedModel } from '../src/models/pretrained-model.js';
import { PeftModel, readAdapter } from '../src/peft/index.js';
import { ADAPTER_INDEX, StackBase } from '../src/peft/stacked-lora.js';
import { batchInputs } from '../src/pipelines/batching.js';
import { pipeline, startServer, type TextClassificationPipeline } from '../src/index.js';
import { serveCommand } from '../src/cli/commands/serve.js';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tempDir } from './helpers/pipeline-models.js';
import { BUNDLED_EN, get, metricValue, post } from './helpers/serve.js';

const TOL = 1e-5;
const FIXTURES = resolve('test/fixtures/peft');
const BASE = join(FIXTURES, 'base');
const KEY = 'adapter-test-key';
const auth = { authorization: `Bearer ${KEY}` };

/** A deterministic stream in [-1, 1). */
function noise(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  };
}

/** Saves an adapter of BASE with random weights: LoRA (B random, so it changes the model) or BitFit (biases moved). */
async function makeAdapter(opts: { method: 'lora' | 'bitfit'; r?: number; targets?: string[]; rslora?: boolean; labels: string[]; seed: number; base?: string }): Promise<string> {
  const dir = await tempDir('serve-adapter');
  const base = opts.base ?? BASE;
  const id2label = Object.fromEntries(opts.labels.map((l, i) => [String(i), l]));
  const model = await PreTrainedModel.fromPretrained(base, { head: 'sequence-classification', id2label, missing: 'init' });
  const peft = PeftModel.apply(model, {
    method: opts.method,
    ...(opts.method === 'lora' ? { lora: { r: opts.r, alpha: 2 * opts.r!, targetModules: opts.targets, useRslora: opts.rslora ?? false } } : {}),
    seed: opts.seed,
  });
  const rand = noise(opts.seed);
  for (const p of model.store.list()) {
    if (p.name.endsWith('lora_B.weight')) for (let i = 0; i < p.data.length; i++) p.data[i] = 0.5 * rand();
    if (opts.method === 'bitfit' && p.name.endsWith('.bias')) for (let i = 0; i < p.data.length; i++) p.data[i]! += 0.2 * rand();
    if (p.name.startsWith('classifier.')) for (let i = 0; i < p.data.length; i++) p.data[i] = rand();
  }
  await peft.save(dir, { baseModel: base });
  return dir;
}

const dirs: Record<string, string> = {};
const own: Record<string, TextClassificationPipeline> = {};

test.before(async () => {
  dirs.plain = join(FIXTURES, 'lora'); // PEFT's: r 4, query and value
  dirs.dense = join(FIXTURES, 'lora-dense'); // PEFT's: r 4, query, key, value and every dense layer (the pooler too)
  dirs.wide = await makeAdapter({ method: 'lora', r: 8, targets: ['key', 'output.dense'], labels: ['no', 'yes'], seed: 3 });
  dirs.thin = await makeAdapter({ method: 'lora', r: 2, targets: ['query'], rslora: true, labels: ['a', 'b', 'c', 'd'], seed: 5 });
  dirs.bias = await makeAdapter({ method: 'bitfit', labels: ['x', 'y'], seed: 9 });
  for (const [name, dir] of Object.entries(dirs)) own[name] = await pipeline('text-classification', dir, { threads: 1 });
});

test.after(async () => {
  for (const p of Object.values(own)) await p.dispose();
});

/** Each label's score of a result, by label. */
function scores(result: { label: string; score: number }[]): Map<string, number> {
  return new Map(result.map((r) => [r.label, r.score]));
}

function assertSameResult(got: { label: string; score: number }[], expected: { label: string; score: number }[], what: string): void {
  assert.deepEqual(
    got.map((r) => r.label),
    expected.map((r) => r.label),
    `${what}: labels`,
  );
  const e = scores(expected);
  for (const r of got) assert.ok(Math.abs(r.score - e.get(r.label)!) < TOL, `${what}: ${r.label} ${r.score} vs ${e.get(r.label)}`);
}

test('one stacked graph: a mixed batch gives each row the logits of its adapter alone (r 2, 4, 8; other targets and label counts)', async () => {
  const model = await PreTrainedModel.fromPretrained(BASE, { head: 'sequence-classification', missing: 'init', use: 'inference' });
  const base = new StackBase(model);
  const names = ['plain', 'dense', 'wide', 'thin'];
  const adapters = [];
  for (const n of names) adapters.push(base.prepare(await readAdapter(dirs[n]!)));
  const layout = base.layoutOf(adapters);
  const forward = await base.compile(layout, 1);
  try {
    const tokenizer = await model.loadTokenizer();
    const texts = ['the film was good', 'bad', 'an average and rather long evening out', 'good good', 'not bad at all', 'fine'];
    const slots = [2, 0, 3, 1, 2, 3];
    const { feeds } = batchInputs(
      texts.map((t) => tokenizer.encode(t, undefined, { maxLength: 40 })),
      tokenizer.padTokenId,
    );
    const out = await forward.run({ ...feeds, ...base.feeds(layout, adapters), [ADAPTER_INDEX]: { dtype: 'int64', dims: [6], data: BigInt64Array.from(slots, BigInt) } });
    const width = out.logits!.dims[1]!;
    assert.equal(width, 4, 'the classifier is padded to the largest label count');
    for (const [i, text] of texts.entries()) {
      const name = names[slots[i]!]!;
      const [alone] = await own[name]!.runWithLogits([text]);
      const row = Array.from((out.logits!.data as Float32Array).subarray(i * width, i * width + alone!.logits.length));
      const diff = Math.max(...row.map((v, j) => Math.abs(v - alone!.logits[j]!)));
      assert.ok(diff < TOL, `row ${i} (${name}): largest logit difference ${diff}`);
    }
  } finally {
    await forward.release();
  }
});

test('tuna serve --adapter: concurrent requests for four LoRA adapters form one batch, each answered as its own pipeline answers', async () => {
  // A batch starts when it holds 4 inputs (the wait is long), so the four requests run together.
  const server = await startServer({
    models: [`base=${BASE}`],
    adapters: ['plain', 'dense', 'wide', 'thin'].map((n) => `${n}=${dirs[n]}`),
    port: 0,
    maxBatchSize: 4,
    maxWaitMs: 20000,
    threads: 1,
  });
  try {
    const url = server.address!;
    assert.deepEqual(
      server.adapters.map((a) => [a.name, a.model, a.stacked, a.labels.length]),
      [
        ['dense', 'base', true, 3],
        ['plain', 'base', true, 3],
        ['thin', 'base', true, 4],
        ['wide', 'base', true, 2],
      ],
    );
    const requests = [
      { adapter: 'wide', inputs: 'the film was good' },
      { adapter: 'plain', inputs: 'bad' },
      { adapter: 'thin', inputs: { text: 'an evening', text_pair: 'rather long' }, parameters: { top_k: null } },
      { adapter: 'dense', model: 'base', inputs: 'not bad at all', parameters: { top_k: 2, function_to_apply: 'sigmoid' } },
    ];
    const answers = await Promise.all(requests.map((body) => post(url, '/v1/classify', body)));
    const metrics = (await get(url, '/metrics')).body as string;
    assert.equal(metricValue(metrics, 'tuna_batch_requests_count', { model: 'base', task: 'classify' }), 1, 'one model run');
    assert.equal(metricValue(metrics, 'tuna_batch_requests_sum', { model: 'base', task: 'classify' }), 4, 'holding the four requests');
    for (const [i, r] of answers.entries()) {
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const body = requests[i]!;
      const input = typeof body.inputs === 'string' ? body.inputs : { text: body.inputs.text, textPair: body.inputs.text_pair };
      const p = body.parameters as { top_k?: number | null; function_to_apply?: 'sigmoid' } | undefined;
      const [expected] = await own[body.adapter]!.runBatch([input], { topK: p?.top_k === undefined ? 1 : p.top_k, functionToApply: p?.function_to_apply });
      assertSameResult(r.body, expected as never, body.adapter);
    }
    assert.equal(answers[2]!.body.length, 4, "thin's own four labels");
    assert.deepEqual(
      answers[0]!.body.map((x: { label: string }) => x.label).filter((l: string) => !['no', 'yes'].includes(l)),
      [],
    );
  } finally {
    await server.close();
  }
});

test('adapters at run time: admin PUT/DELETE with the key, GET /v1/adapters, LRU unloading and reloading, BitFit on its own pipeline, an adapter directory as a model', async () => {
  const server = await startServer({
    models: [`base=${BASE}`, `solo=${dirs.wide}`],
    adapters: [`plain=${dirs.plain}`, `bias=${dirs.bias}`],
    apiKey: KEY,
    adapterAdmin: true,
    maxAdapters: 2,
    port: 0,
    threads: 1,
  });
  try {
    const url = server.address!;
    // An adapter directory served as a model: its base found from adapter_config.json.
    const solo = await post(url, '/v1/classify', { model: 'solo', inputs: 'good', parameters: { top_k: null } }, auth);
    assert.equal(solo.status, 200);
    assertSameResult(solo.body, (await own.wide!.runBatch(['good'], { topK: null }))[0] as never, 'solo');
    const models = (await get(url, '/v1/models', auth)).body.models;
    assert.deepEqual(models[1].tasks, ['classify']);
    assert.deepEqual(models[1].labels, ['no', 'yes']);

    // BitFit runs on its own pipeline, grouped by adapter.
    const bias = await post(url, '/v1/classify', { adapter: 'bias', inputs: ['fine', 'bad film'] }, auth);
    assert.equal(bias.status, 200);
    const expected = await own.bias!.runBatch(['fine', 'bad film']);
    bias.body.forEach((r: never, i: number) => assertSameResult(r, expected[i] as never, 'bias'));
    // No adapter: the base's own head.
    assert.equal((await post(url, '/v1/classify', { model: 'base', inputs: 'fine' }, auth)).status, 200);

    // The admin endpoint needs the key.
    assert.equal((await put(url, '/v1/admin/adapters/thin', { base: 'base', path: dirs.thin! }, {})).status, 401);
    const loaded = await put(url, '/v1/admin/adapters/thin', { base: 'base', path: dirs.thin! }, auth);
    assert.equal(loaded.status, 200, JSON.stringify(loaded.body));
    assert.equal(loaded.body.adapter.stacked, true);
    assert.ok(loaded.body.load_ms >= 0);
    // Three adapters, at most two resident: plain was used least recently.
    let listed = (await get(url, '/v1/adapters', auth)).body.adapters;
    assert.deepEqual(
      listed.map((a: { name: string; resident: boolean }) => [a.name, a.resident]),
      [
        ['bias', true],
        ['plain', false],
        ['thin', true],
      ],
    );
    // A request for an unloaded adapter loads it again (and unloads the next least recently used).
    const again = await post(url, '/v1/classify', { adapter: 'plain', inputs: 'bad', parameters: { top_k: null } }, auth);
    assert.equal(again.status, 200);
    assertSameResult(again.body, (await own.plain!.runBatch(['bad'], { topK: null }))[0] as never, 'plain reloaded');
    listed = (await get(url, '/v1/adapters', auth)).body.adapters;
    assert.deepEqual(
      listed.map((a: { name: string; resident: boolean }) => [a.name, a.resident]),
      [
        ['bias', false],
        ['plain', true],
        ['thin', true],
      ],
    );

    // An unload while a request for the adapter runs: the request is answered, later ones get 404.
    const texts = Array.from({ length: 48 }, (_, i) => `text number ${i} of a longer request`);
    const running = post(url, '/v1/classify', { adapter: 'thin', inputs: texts }, auth);
    const deleted = await del(url, '/v1/admin/adapters/thin', auth);
    assert.equal(deleted.status, 200);
    const answered = await running;
    assert.equal(answered.status, 200);
    assert.equal(answered.body.length, 48);
    const gone = await post(url, '/v1/classify', { adapter: 'thin', inputs: 'x' }, auth);
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.field, 'adapter');
    assert.equal((await del(url, '/v1/admin/adapters/thin', auth)).status, 404);

    // Refusals: another task, another model, an unknown adapter, a path that is no adapter.
    const ner = await post(url, '/v1/ner', { adapter: 'plain', inputs: 'x' }, auth);
    assert.equal(ner.status, 400);
    assert.match(ner.body.error.message, /does not serve ner, only classify/);
    const other = await post(url, '/v1/classify', { adapter: 'plain', model: 'solo', inputs: 'x' }, auth);
    assert.equal(other.status, 400);
    assert.match(other.body.error.message, /runs on model "base"/);
    const bad = await put(url, '/v1/admin/adapters/nope', { path: BASE }, auth);
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /no adapter directory/);
  } finally {
    await server.close();
  }
});

test('a masked-LM base: its adapters carry the pooler it lacks; a request without an adapter is told which adapters serve the endpoint', async () => {
  const mine = await makeAdapter({ method: 'lora', r: 8, targets: ['query', 'value'], labels: ['neg', 'pos'], seed: 11, base: BUNDLED_EN });
  const server = await startServer({ models: [`en=${BUNDLED_EN}`], adapters: [`mine=${mine}`], port: 0, threads: 1 });
  const alone = await pipeline('text-classification', mine, { threads: 1 });
  try {
    const url = server.address!;
    const texts = ['a fine film', 'the plot goes nowhere at all'];
    const r = await post(url, '/v1/classify', { adapter: 'mine', inputs: texts, parameters: { top_k: null } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const expected = await alone.runBatch(texts, { topK: null });
    r.body.forEach((x: never, i: number) => assertSameResult(x, expected[i] as never, `mine ${i}`));
    const none = await post(url, '/v1/classify', { inputs: 'a fine film' });
    assert.equal(none.status, 400);
    assert.match(none.body.error.message, /name one of its adapters \("adapter": "mine"\)/);
  } finally {
    await alone.dispose();
    await server.close();
  }
});

test('the tuna serve command: an adapter directory as --model, --adapter, --max-adapters, --adapter-admin with --api-key', async () => {
  const bin = fileURLToPath(new URL('../bin/tuna.js', import.meta.url));
  const args = ['serve', '--model', `base=${BASE}`, '--model', `solo=${dirs.plain}`, '--adapter', `wide=${dirs.wide}`, '--adapter', `bias=${dirs.bias}`];
  const child = spawn(process.execPath, [bin, ...args, '--max-adapters', '2', '--adapter-admin', '--api-key', KEY, '--port', '0', '--threads', '1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  const exit = new Promise<number | null>((done) => child.on('exit', done));
  try {
    const url = await new Promise<string>((done, fail) => {
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
        const m = /listening on (http:\/\/\S+)/.exec(stderr);
        if (m) done(m[1]!);
      });
      exit.then((code) => fail(new Error(`tuna serve exited with ${code}: ${stderr}`)));
    });
    assert.match(stderr, /solo: classify \(BertForSequenceClassification/);
    assert.match(stderr, /adapter wide on base: classify \(lora, stacked\)/);
    assert.match(stderr, /adapter bias on base: classify \(bitfit\)/);
    const r = await post(url, '/v1/classify', { adapter: 'wide', inputs: 'good' }, auth);
    assert.equal(r.status, 200);
    assertSameResult(r.body, (await own.wide!.runBatch(['good']))[0] as never, 'wide');
    const solo = await post(url, '/v1/classify', { model: 'solo', inputs: 'good' }, auth);
    assertSameResult(solo.body, (await own.plain!.runBatch(['good']))[0] as never, 'solo');
    assert.equal((await put(url, '/v1/admin/adapters/thin', { path: dirs.thin! }, auth)).status, 200);
    child.kill('SIGTERM');
    assert.equal(await exit, 0);
  } finally {
    child.kill('SIGKILL');
  }
});

test('refused at the start: an adapter of another base (naming both), the admin endpoint without an API key', async () => {
  const foreign = await tempDir('serve-adapter-foreign');
  await cp(dirs.plain!, foreign, { recursive: true });
  const config = JSON.parse(await readFile(join(foreign, 'adapter_config.json'), 'utf8'));
  await writeFile(join(foreign, 'adapter_config.json'), JSON.stringify({ ...config, base_model_name_or_path: 'some-org/another-base' }));
  await assert.rejects(startServer({ models: [`base=${BASE}`], adapters: [`x=${foreign}`], port: 0, threads: 1 }), (e: Error) => {
    assert.match(e.message, /some-org\/another-base/);
    assert.ok(e.message.includes(BASE), e.message);
    return true;
  });
  await assert.rejects(startServer({ models: [`base=${BASE}`], adapterAdmin: true, port: 0 }), /needs an API key/);
  const out = { stdout() {}, stderr() {} } as never;
  await assert.rejects(serveCommand({ model: [BASE], adapterAdmin: true, host: '127.0.0.1', port: '0' } as never, out), /--adapter-admin .* needs an API key/);
});

async function put(base: string, path: string, body: unknown, headers: Record<string, string>) {
  const r = await fetch(base + path, { method: 'PUT', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: r.status, body: await r.json() };
}

async function del(base: string, path: string, headers: Record<string, string>) {
  const r = await fetch(base + path, { method: 'DELETE', headers });
  return { status: r.status, body: await r.json() };
}
