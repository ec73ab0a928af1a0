// tuna serve under bad requests, an API key, clients that disconnect, and close() under load:
// each bad request gets its 4xx JSON error naming the field, and the server keeps answering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { startServer, type TunaServer } from '../src/index.js';
import { BUNDLED_EN, get, metricValue, post, raw, waitFor } from './helpers/serve.js';

const KEY = 'test-key-123';
const AUTH = { authorization: `Bearer ${KEY}` };
let server: TunaServer;
let base: string;

test.before(async () => {
  server = await startServer({
    models: [`en=${BUNDLED_EN}`],
    port: 0,
    maxBatchSize: 8,
    maxWaitMs: 150,
    maxTextChars: 200,
    maxInputs: 4,
    maxBodyBytes: 2000,
    apiKey: KEY,
    threads: 1,
  });
  base = server.address!;
});
test.after(() => server?.close());

const metrics = async () => (await get(base, '/metrics', AUTH)).body as string;

/** The server still answers an inference request correctly. */
async function stillServing(): Promise<void> {
  const r = await post(base, '/v1/fill-mask', { inputs: 'the [MASK] is red', parameters: { top_k: 2 } }, AUTH);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.length, 2);
}

interface Case {
  readonly name: string;
  readonly send: () => Promise<{ status: number; body: any }>;
  readonly status: number;
  readonly code: string;
  readonly field?: string;
  readonly message?: RegExp;
}

const postRaw = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
  raw(base, { method: 'POST', path, body, headers: { 'content-type': 'application/json', ...AUTH, ...headers } }).then((r) => ({ status: r.status, body: JSON.parse(r.body) }));

const CASES: Case[] = [
  { name: 'malformed JSON', send: () => postRaw('/v1/embed', '{"inputs": "a",'), status: 400, code: 'invalid_json', message: /not valid JSON/ },
  { name: 'empty body', send: () => postRaw('/v1/embed', ''), status: 400, code: 'invalid_json' },
  { name: 'not JSON at all', send: () => postRaw('/v1/embed', 'inputs=a', { 'content-type': 'application/x-www-form-urlencoded' }), status: 415, code: 'unsupported_media_type' },
  { name: 'a JSON array body', send: () => post(base, '/v1/embed', ['a'], AUTH), status: 400, code: 'invalid_request', message: /must be an object/ },
  { name: 'missing inputs', send: () => post(base, '/v1/embed', { text: 'a' }, AUTH), status: 400, code: 'invalid_request', field: 'inputs', message: /lacks "inputs"/ },
  {
    name: 'an unknown field',
    send: () => post(base, '/v1/embed', { inputs: 'a', text: 'a' }, AUTH),
    status: 400,
    code: 'invalid_request',
    field: 'text',
    message: /unknown field/,
  },
  { name: 'no inputs field at all', send: () => post(base, '/v1/embed', {}, AUTH), status: 400, code: 'invalid_request', field: 'inputs' },
  {
    name: 'inputs of the wrong type',
    send: () => post(base, '/v1/embed', { inputs: 42 }, AUTH),
    status: 400,
    code: 'invalid_request',
    field: 'inputs',
    message: /must be a string or a list, got number/,
  },
  { name: 'an input of the wrong type', send: () => post(base, '/v1/embed', { inputs: ['a', { text: 'b' }] }, AUTH), status: 400, code: 'invalid_request', field: 'inputs[1]' },
  { name: 'an empty text', send: () => post(base, '/v1/embed', { inputs: '' }, AUTH), status: 400, code: 'invalid_request', field: 'inputs', message: /empty/ },
  {
    name: 'a blank text in a list',
    send: () => post(base, '/v1/embed', { inputs: ['fine', ' \n\t '] }, AUTH),
    status: 400,
    code: 'invalid_request',
    field: 'inputs[1]',
    message: /empty/,
  },
  { name: 'an empty list', send: () => post(base, '/v1/embed', { inputs: [] }, AUTH), status: 400, code: 'invalid_request', field: 'inputs' },
  {
    name: 'an over-long text',
    send: () => post(base, '/v1/embed', { inputs: ['ok', 'x'.repeat(201)] }, AUTH),
    status: 400,
    code: 'invalid_request',
    field: 'inputs[1]',
    message: /longer than 200 characters/,
  },
  {
    name: 'too many inputs',
    send: () => post(base, '/v1/embed', { inputs: ['a', 'b', 'c', 'd', 'e'] }, AUTH),
    status: 400,
    code: 'invalid_request',
    field: 'inputs',
    message: /more than 4 texts/,
  },
  { name: 'an oversize body', send: () => postRaw('/v1/embed', JSON.stringify({ inputs: 'word '.repeat(500) })), status: 413, code: 'body_too_large' },
  {
    name: 'an unknown parameter',
    send: () => post(base, '/v1/fill-mask', { inputs: 'a [MASK]', parameters: { topk: 3 } }, AUTH),
    status: 400,
    code: 'invalid_request',
    field: 'parameters.topk',
  },
  {
    name: 'a parameter of the wrong type',
    send: () => post(base, '/v1/fill-mask', { inputs: 'a [MASK]', parameters: { top_k: '3' } }, AUTH),
    status: 400,
    code: 'invalid_request',
    field: 'parameters.top_k',
  },
  {
    name: 'a parameter out of range',
    send: () => post(base, '/v1/fill-mask', { inputs: 'a [MASK]', parameters: { top_k: 0 } }, AUTH),
    status: 400,
    code: 'invalid_request',
    field: 'parameters.top_k',
  },
  {
    name: 'a bad choice',
    send: () => post(base, '/v1/embed', { inputs: 'a', parameters: { pooling: 'max' } }, AUTH),
    status: 400,
    code: 'invalid_request',
    field: 'parameters.pooling',
  },
  {
    name: 'a fill-mask text without the mask',
    send: () => post(base, '/v1/fill-mask', { inputs: ['a [MASK] b', 'no mask here'] }, AUTH),
    status: 400,
    code: 'no_mask_token',
    field: 'inputs[1]',
  },
  { name: 'an unknown model', send: () => post(base, '/v1/embed', { inputs: 'a', model: 'nope' }, AUTH), status: 404, code: 'unknown_model', field: 'model' },
  { name: 'a task no model serves', send: () => post(base, '/v1/classify', { inputs: 'a' }, AUTH), status: 400, code: 'unsupported_task' },
  { name: 'an unknown route', send: () => post(base, '/v1/translate', { inputs: 'a' }, AUTH), status: 404, code: 'not_found' },
  { name: 'the wrong method', send: () => get(base, '/v1/embed', AUTH), status: 405, code: 'method_not_allowed' },
  { name: 'no API key', send: () => post(base, '/v1/embed', { inputs: 'a' }), status: 401, code: 'unauthorized', field: 'authorization' },
  { name: 'a wrong API key', send: () => post(base, '/v1/embed', { inputs: 'a' }, { authorization: 'Bearer wrong' }), status: 401, code: 'unauthorized', message: /wrong/ },
  {
    name: 'a request with a mismatched Content-Length',
    send: () => postRaw('/v1/embed', '{"inputs": "a"}', { 'content-length': '5' }),
    status: 400,
    code: 'invalid_request',
    message: /malformed HTTP/,
  },
];

for (const c of CASES) {
  test(`${c.name}: ${c.status} ${c.code}, then the server keeps answering`, async () => {
    const r = await c.send();
    assert.equal(r.status, c.status, JSON.stringify(r.body));
    assert.equal(r.body.error.code, c.code);
    assert.equal(typeof r.body.error.message, 'string');
    if (c.field !== undefined) assert.equal(r.body.error.field, c.field);
    if (c.message) assert.match(r.body.error.message, c.message);
    await stillServing();
  });
}

test('the API key guards /v1 and /metrics; /, /healthz and /readyz stay open', async () => {
  assert.equal((await get(base, '/healthz')).status, 200);
  assert.equal((await get(base, '/readyz')).status, 200);
  assert.equal((await get(base, '/')).status, 200);
  const denied = await get(base, '/metrics');
  assert.equal(denied.status, 401);
  assert.equal(denied.headers.get('www-authenticate'), 'Bearer');
  assert.equal((await get(base, '/v1/models')).status, 401);
  assert.equal((await get(base, '/v1/models', AUTH)).status, 200);
});

test('a client that disconnects while its request waits in a batch leaves the server healthy', async () => {
  const cancelledBefore = metricValue(await metrics(), 'tuna_requests_cancelled_total');
  const url = new URL(base);
  const req = httpRequest({ host: url.hostname, port: url.port, method: 'POST', path: '/v1/embed', headers: { 'content-type': 'application/json', ...AUTH }, agent: false });
  req.on('error', () => {});
  req.end(JSON.stringify({ inputs: 'this request will be abandoned' }));
  // The request waits up to 150 ms for a batch to fill: drop the connection while it is queued.
  await waitFor('the request to be queued', async () => metricValue(await metrics(), 'tuna_queue_depth', { model: 'en' }) === 1, 2000);
  req.destroy();
  await waitFor('the request to leave the queue', async () => {
    const m = await metrics();
    return metricValue(m, 'tuna_queue_depth', { model: 'en' }) === 0 && metricValue(m, 'tuna_requests_cancelled_total') === cancelledBefore + 1;
  });
  // A client that goes away in the middle of uploading its body.
  const half = httpRequest({
    host: url.hostname,
    port: url.port,
    method: 'POST',
    path: '/v1/embed',
    headers: { 'content-type': 'application/json', 'content-length': '1000', ...AUTH },
    agent: false,
  });
  half.on('error', () => {});
  half.write('{"inputs": "half a bo');
  await new Promise((r) => setTimeout(r, 50));
  half.destroy();
  // Clients that disconnect while their batch runs: the others in the batch still get answers.
  const abandoned = Array.from({ length: 3 }, (_, i) => {
    const r = httpRequest({ host: url.hostname, port: url.port, method: 'POST', path: '/v1/embed', headers: { 'content-type': 'application/json', ...AUTH }, agent: false });
    r.on('error', () => {});
    r.end(JSON.stringify({ inputs: `abandoned ${i}` }));
    return r;
  });
  const kept = Array.from({ length: 3 }, (_, i) => post(base, '/v1/embed', { inputs: `kept ${i}` }, AUTH));
  await new Promise((r) => setTimeout(r, 20));
  for (const r of abandoned) r.destroy();
  for (const r of await Promise.all(kept)) {
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 256);
  }
  await stillServing();
  assert.equal((await get(base, '/readyz')).status, 200);
});

test('one bad request among concurrent ones (batched together within the 150 ms wait) gets its error, the others their results', async () => {
  const bodies = [{ inputs: 'the [MASK] is red' }, { inputs: 'no mask at all' }, { inputs: ['a [MASK] day', 'my [MASK] car'] }];
  const answers = await Promise.all(bodies.map((b) => post(base, '/v1/fill-mask', b, AUTH)));
  assert.deepEqual(
    answers.map((a) => a.status),
    [200, 400, 200],
  );
  assert.equal(answers[1]!.body.error.code, 'no_mask_token');
  assert.equal(answers[1]!.body.error.field, 'inputs');
  assert.equal(answers[0]!.body.length, 5);
  assert.equal(answers[2]!.body.length, 2);
});

test('close() under load answers every request already received, then stops accepting', async () => {
  const local = await startServer({ models: [BUNDLED_EN], port: 0, maxBatchSize: 4, maxWaitMs: 1000, threads: 1 });
  try {
    const texts = Array.from({ length: 30 }, (_, i) => `text number ${i} for the shutdown test`);
    const pending = texts.map((t) => post(local.address!, '/v1/embed', { inputs: t }));
    const sum = async (m: { get(): Promise<{ values: { value: number }[] }> }) => (await m.get()).values.reduce((s, v) => s + v.value, 0);
    // Every request is received: batches of 4 run at once, the last 2 wait up to a second for company.
    let inFlight = 0;
    await waitFor('all requests to arrive', async () => {
      inFlight = await sum(local.metrics.inFlight);
      return inFlight + (await sum(local.metrics.requests)) === 30;
    });
    assert.ok(inFlight >= 2, `${inFlight} requests in flight at close()`);
    const closed = local.close();
    const ready = await local.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 503, 'not ready while shutting down');
    assert.equal(ready.json().error.code, 'unavailable');
    const answers = await Promise.all(pending);
    await closed;
    for (const a of answers) {
      assert.equal(a.status, 200);
      assert.equal(a.body.length, 256);
    }
    await assert.rejects(fetch(`${local.address}/healthz`), 'no new connections after close');
  } finally {
    await local.close();
  }
});

test('a full queue answers 503 overloaded with Retry-After at once; queued requests are still answered', async () => {
  const local = await startServer({ models: [BUNDLED_EN], port: 0, maxBatchSize: 32, maxWaitMs: 1500, maxQueue: 2, threads: 1 });
  try {
    const queued = [post(local.address!, '/v1/embed', { inputs: 'first queued text' }), post(local.address!, '/v1/embed', { inputs: 'second queued text' })];
    const depth = async () => (await local.metrics.queueDepth.get()).values.reduce((n, v) => n + v.value, 0);
    await waitFor('two queued inputs', async () => (await depth()) === 2);
    const refused = await post(local.address!, '/v1/embed', { inputs: 'one too many' });
    // Refused without waiting for the batch: the two inputs are still queued (bench/batcher.ts
    // measures how fast the refusal comes).
    assert.equal(await depth(), 2, 'refused while the queued batch still waits');
    assert.equal(refused.status, 503);
    assert.equal(refused.body.error.code, 'overloaded');
    assert.equal(refused.headers.get('retry-after'), '1');
    for (const a of await Promise.all(queued)) {
      assert.equal(a.status, 200);
      assert.equal(a.body.length, 256);
    }
    const after = await post(local.address!, '/v1/embed', { inputs: 'room again' });
    assert.equal(after.status, 200);
  } finally {
    await local.close();
  }
});
