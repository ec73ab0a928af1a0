// tuna serve: every endpoint over real HTTP on loopback, compared with calling the pipelines
// directly; concurrent requests grouped into batches and routed back to their own clients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  pipeline,
  startServer,
  type FeatureExtractionPipeline,
  type FillMaskPipeline,
  type TextClassificationPipeline,
  type TokenClassificationPipeline,
  type TunaServer,
} from '../src/index.js';
import { BUNDLED_EN, CLASSIFIER_LABELS, NER_LABELS, get, makeClassifier, makeTokenClassifier, maxDifference, metricValue, post } from './helpers/serve.js';

const TOL = 1e-5;
let server: TunaServer;
let base: string;
let clsDir: string;
let nerDir: string;
const direct: { cls?: TextClassificationPipeline; ner?: TokenClassificationPipeline; fill?: FillMaskPipeline; embed?: FeatureExtractionPipeline } = {};

test.before(async () => {
  clsDir = await makeClassifier();
  nerDir = await makeTokenClassifier();
  server = await startServer({ models: [`cls=${clsDir}`, `ner=${nerDir}`, `en=${BUNDLED_EN}`], port: 0, maxBatchSize: 16, maxWaitMs: 30, threads: 1 });
  base = server.address!;
  direct.cls = await pipeline('text-classification', clsDir, { threads: 1 });
  direct.ner = await pipeline('token-classification', nerDir, { threads: 1 });
  direct.fill = await pipeline('fill-mask', BUNDLED_EN, { threads: 1 });
  direct.embed = await pipeline('feature-extraction', BUNDLED_EN, { threads: 1 });
});

test.after(async () => {
  await server?.close();
  for (const p of Object.values(direct)) await p?.dispose();
});

test('GET /v1/models lists names, tasks, labels and max length; /healthz and /readyz answer', async () => {
  const r = await get(base, '/v1/models');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.models, [
    { name: 'cls', tasks: ['classify', 'embed'], architectures: ['BertForSequenceClassification'], labels: Object.values(CLASSIFIER_LABELS), max_length: 128 },
    { name: 'ner', tasks: ['ner', 'embed'], architectures: ['BertForTokenClassification'], labels: NER_LABELS, max_length: 64 },
    { name: 'en', tasks: ['embed', 'fill-mask'], architectures: ['BertForMaskedLM'], labels: [], max_length: 128 },
  ]);
  assert.deepEqual((await get(base, '/healthz')).body, { status: 'ok' });
  const ready = await get(base, '/readyz');
  assert.equal(ready.status, 200);
  assert.deepEqual(ready.body, { status: 'ready', models: ['cls', 'ner', 'en'] });
});

test('POST /v1/classify: a string gives one result, a list one result per input, equal to the pipeline', async () => {
  const texts = ['where is my parcel?', 'I was charged twice this month', 'hello there'];
  const one = await post(base, '/v1/classify', { inputs: texts[0] });
  assert.equal(one.status, 200);
  const expected = await direct.cls!.runBatch(texts);
  assert.equal(one.body.length, 1, 'top_k defaults to 1');
  assert.ok(maxDifference(one.body, expected[0]) < TOL);
  const many = await post(base, '/v1/classify', { inputs: texts, parameters: { top_k: null } });
  assert.equal(many.status, 200);
  assert.equal(many.body.length, texts.length);
  const all = await direct.cls!.runBatch(texts, { topK: null });
  assert.ok(maxDifference(many.body, all) < TOL);
  for (const r of many.body) assert.ok(Math.abs(r.reduce((s: number, l: { score: number }) => s + l.score, 0) - 1) < 1e-6);
  const pair = await post(base, '/v1/classify', { inputs: { text: 'is it here?', text_pair: 'yes it arrived' }, parameters: { top_k: 2, function_to_apply: 'sigmoid' } });
  assert.equal(pair.status, 200);
  assert.ok(maxDifference(pair.body, (await direct.cls!.runBatch([{ text: 'is it here?', textPair: 'yes it arrived' }], { topK: 2, functionToApply: 'sigmoid' }))[0]) < TOL);
});

test('POST /v1/ner: entities with offsets, simple aggregation by default, equal to the pipeline', async () => {
  const text = 'John Smith lives in Paris and New York.';
  const r = await post(base, '/v1/ner', { inputs: text });
  assert.equal(r.status, 200);
  assert.deepEqual(
    r.body.map((e: { entity_group: string; start: number; end: number }) => [e.entity_group, text.slice(e.start, e.end)]),
    [
      ['PER', 'John Smith'],
      ['LOC', 'Paris'],
      ['LOC', 'New York'],
    ],
  );
  assert.ok(maxDifference(r.body, (await direct.ner!.runBatch([text], { aggregationStrategy: 'simple' }))[0]) < TOL);
  const tokens = await post(base, '/v1/ner', { inputs: [text, 'paris'], parameters: { aggregation_strategy: 'none' } });
  assert.equal(tokens.status, 200);
  assert.ok(maxDifference(tokens.body, await direct.ner!.runBatch([text, 'paris'])) < TOL);
  assert.equal(tokens.body[1][0].entity, 'B-LOC');
});

test('POST /v1/embed: mean-pooled vectors by default; cls and normalize; the model field selects the model', async () => {
  const texts = ['a cat sat on the mat', 'stock markets fell sharply'];
  const r = await post(base, '/v1/embed', { inputs: texts, model: 'en' });
  assert.equal(r.status, 200);
  assert.equal(r.body.length, 2);
  assert.equal(r.body[0].length, 256);
  assert.ok(maxDifference(r.body, await direct.embed!.runBatch(texts, { pooling: 'mean' })) < TOL);
  const cls = await post(base, '/v1/embed', { inputs: texts[0], model: 'en', parameters: { pooling: 'cls', normalize: true } });
  assert.ok(maxDifference(cls.body, (await direct.embed!.runBatch([texts[0]!], { pooling: 'cls', normalize: true }))[0]) < TOL);
  assert.ok(Math.abs(Math.hypot(...cls.body) - 1) < 1e-6);
  // Without `model`, the first model serving embed answers: the classifier's encoder, fine-tuned apart from the bundled one only in its head.
  const first = await post(base, '/v1/embed', { inputs: texts[0] });
  assert.equal(first.status, 200);
  const clsEmbed = await pipeline('feature-extraction', clsDir, { threads: 1 });
  try {
    assert.ok(maxDifference(first.body, (await clsEmbed.runBatch([texts[0]!], { pooling: 'mean' }))[0]) < TOL);
  } finally {
    await clsEmbed.dispose();
  }
});

test('POST /v1/fill-mask: candidates equal to the pipeline; one list per mask', async () => {
  const r = await post(base, '/v1/fill-mask', { inputs: 'The capital of France is [MASK].', parameters: { top_k: 3 } });
  assert.equal(r.status, 200);
  assert.equal(r.body.length, 3);
  assert.ok(maxDifference(r.body, (await direct.fill!.runBatch(['The capital of France is [MASK].'], { topK: 3 }))[0]) < TOL);
  const two = await post(base, '/v1/fill-mask', { inputs: ['The [MASK] sat on the [MASK].'] });
  assert.equal(two.body[0].length, 2);
  assert.equal(two.body[0][0].length, 5);
  assert.ok(maxDifference(two.body, await direct.fill!.runBatch(['The [MASK] sat on the [MASK].'])) < TOL);
});

test('concurrent requests are batched together and each client gets its own results', async () => {
  const before = await (await fetch(`${base}/metrics`)).text();
  const texts = Array.from({ length: 24 }, (_, i) => `order number ${i} has ${'not '.repeat(i % 4)}arrived yet`);
  const answers = await Promise.all(texts.map((t, i) => post(base, '/v1/classify', { inputs: i % 3 === 0 ? [t, `${t}!`] : t, parameters: { top_k: 0 } })));
  const expected = await direct.cls!.runBatch(
    texts.flatMap((t, i) => (i % 3 === 0 ? [t, `${t}!`] : [t])),
    { topK: 0 },
  );
  let at = 0;
  answers.forEach((a, i) => {
    assert.equal(a.status, 200);
    if (i % 3 === 0) {
      assert.ok(maxDifference(a.body, expected.slice(at, at + 2)) < TOL, `request ${i}`);
      at += 2;
    } else {
      assert.ok(maxDifference(a.body, expected[at]) < TOL, `request ${i}`);
      at += 1;
    }
  });
  const after = await (await fetch(`${base}/metrics`)).text();
  const labels = { model: 'cls', task: 'classify' };
  const runs = metricValue(after, 'tuna_batch_size_count', labels) - metricValue(before, 'tuna_batch_size_count', labels);
  const inputs = metricValue(after, 'tuna_batch_size_sum', labels) - metricValue(before, 'tuna_batch_size_sum', labels);
  assert.equal(inputs, 32, 'every input ran once');
  assert.ok(runs < 24, `24 requests ran in ${runs} batches`);
  const singles = metricValue(after, 'tuna_batch_size_bucket', { ...labels, le: '1' }) - metricValue(before, 'tuna_batch_size_bucket', { ...labels, le: '1' });
  assert.ok(singles < runs, 'some batches hold more than one input');
  assert.ok(metricValue(after, 'tuna_batch_requests_sum', labels) - metricValue(before, 'tuna_batch_requests_sum', labels) === 24);
});

test('GET /metrics: request counts by route and status, latency histograms, queue depth, process metrics', async () => {
  await post(base, '/v1/classify', { inputs: '' });
  const r = await get(base, '/metrics');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type')!, /^text\/plain/);
  const text = r.body as string;
  assert.ok(metricValue(text, 'tuna_http_requests_total', { route: '/v1/classify', status: '200' }) >= 27);
  assert.equal(metricValue(text, 'tuna_http_requests_total', { route: '/v1/classify', status: '400' }), 1);
  assert.ok(metricValue(text, 'tuna_http_request_duration_seconds_count', { route: '/v1/fill-mask', status: '200' }) >= 2);
  assert.match(text, /^tuna_queue_depth\{model="cls"\} 0$/m);
  assert.match(text, /^tuna_batch_duration_seconds_bucket\{le="[\d.]+",model="en",task="fill-mask"\} \d+$/m);
  assert.match(text, /^process_resident_memory_bytes \d+/m);
  assert.match(text, /^nodejs_eventloop_lag_seconds /m);
});

test('GET / serves a self-contained page with a strict content-security policy', async () => {
  const r = await get(base, '/');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type')!, /^text\/html/);
  const html = r.body as string;
  assert.match(html, /<textarea id="text"/);
  assert.doesNotMatch(html, /<(script|link|img|iframe)[^>]+(src|href)="(?!data:)/i, 'no external assets');
  assert.match(r.headers.get('content-security-policy')!, /default-src 'none'; connect-src 'self'/);
});
