// tuna serve against hostile clients: request headers and bodies that arrive too slowly get 408
// and their connection closed; a shutdown answers what arrives on open keep-alive connections and
// ends at its deadline; method and media-type checks come before the body is read; answers too
// large to send are refused before they are built into JSON, large ones are written in chunks; a
// model with NaN weights is a 500 `non_finite`, not a 200 with null scores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { connect, createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { ERROR_CODES } from '../src/errors.js';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { SERVE_ERROR_CODES } from '../src/serve/errors.js';
import { parseModelSpec } from '../src/serve/models.js';
import { estimateJsonBytes, jsonPieces, jsonStream } from '../src/serve/response.js';
import { type TunaServer, createServer, resolveServerOptions, startServer } from '../src/serve/server.js';
import { BUNDLED_EN, makeClassifier, maxDifference, post, waitFor } from './helpers/serve.js';

const JSON_TYPE = 'application/json';

/** What came back on a raw TCP connection, and when the connection closed. */
interface RawExchange {
  readonly status: number;
  readonly body: any;
  readonly ms: number;
}

/**
 * Opens a TCP connection to `base`, writes `pieces` one every `everyMs` ms, and resolves when the
 * server closes the connection, with its answer.
 */
function trickle(base: string, pieces: readonly string[], everyMs: number): Promise<RawExchange> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(Number(url.port), url.hostname);
    let text = '';
    let next = 0;
    const timer = setInterval(() => {
      if (next < pieces.length && socket.writable) socket.write(pieces[next++]!);
    }, everyMs);
    socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      const m = /^HTTP\/1\.1 (\d{3})[\s\S]*?\r\n\r\n([\s\S]*)$/.exec(text);
      if (!m) return reject(new Error(`no HTTP answer before the connection closed after ${Date.now() - started} ms: ${JSON.stringify(text)}`));
      resolve({ status: Number(m[1]), body: JSON.parse(m[2]!), ms: Date.now() - started });
    });
  });
}

const head = (length: number) => `POST /v1/embed HTTP/1.1\r\nHost: tuna\r\nContent-Type: ${JSON_TYPE}\r\nContent-Length: ${length}\r\n\r\n`;

let server: TunaServer;
let base: string;

test.before(async () => {
  server = await startServer({
    models: [`en=${BUNDLED_EN}`],
    port: 0,
    threads: 1,
    headersTimeoutMs: 400,
    requestTimeoutMs: 1200,
    bodyTimeoutMs: 400,
    maxResponseBytes: 4 * 1024 * 1024,
  });
  base = server.address!;
});
test.after(() => server?.close());

async function stillServing(): Promise<void> {
  const r = await post(base, '/v1/embed', { inputs: 'still here' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.length, 256);
}

test('a body that stops arriving gets 408 request_timeout once it has paused bodyTimeoutMs, and its connection is closed', async () => {
  const body = '{"inputs": "half a bo';
  const r = await trickle(base, [head(100), body], 5);
  assert.equal(r.status, 408);
  assert.equal(r.body.error.code, 'request_timeout');
  assert.match(r.body.error.message, /no byte of the request body arrived for 0\.4 s/);
  assert.ok(r.ms >= 380 && r.ms < 3000, `closed after ${r.ms} ms`);
  await stillServing();
});

test('50 clients trickling a body a byte every 100 ms (never pausing long) all get 408 at the whole-request deadline', async () => {
  const body = JSON.stringify({ inputs: 'x'.repeat(200) });
  const pieces = [head(body.length), ...body];
  const answers = await Promise.all(Array.from({ length: 50 }, () => trickle(base, pieces, 100)));
  for (const a of answers) {
    assert.equal(a.status, 408);
    assert.equal(a.body.error.code, 'request_timeout');
    assert.match(a.body.error.message, /did not arrive within 1\.2 s/);
  }
  const slowest = Math.max(...answers.map((a) => a.ms));
  // 1.2 s deadline, checked every 100 ms; a body this slow would take 21 s to arrive.
  assert.ok(slowest < 4000, `the last trickling client was let go after ${slowest} ms`);
  await stillServing();
});

test('request headers that trickle in get 408 after headersTimeoutMs', async () => {
  const r = await trickle(base, [...head(20)], 50);
  assert.equal(r.status, 408);
  assert.equal(r.body.error.code, 'request_timeout');
  assert.match(r.body.error.message, /request headers did not arrive within 0\.4 s/);
  assert.ok(r.ms < 3000, `closed after ${r.ms} ms`);
});

test('a request that waits for the model longer than the request deadline is still answered: only its arrival is timed', async () => {
  const local = await startServer({ models: [BUNDLED_EN], port: 0, threads: 1, maxWaitMs: 1500, requestTimeoutMs: 300, headersTimeoutMs: 300, bodyTimeoutMs: 300 });
  try {
    const started = Date.now();
    const r = await post(local.address!, '/v1/embed', { inputs: 'a patient request' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok(Date.now() - started >= 1400, 'it waited for the batch');
  } finally {
    await local.close();
  }
});

test('text/plain and other non-JSON bodies get 415; a method not allowed gets 405 before its body is read', async () => {
  const plain = await fetch(`${base}/v1/embed`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"inputs": "a"}' });
  assert.equal(plain.status, 415);
  assert.equal(((await plain.json()) as any).error.code, 'unsupported_media_type');
  for (const [method, type, body] of [
    ['DELETE', JSON_TYPE, '{"inputs": '],
    ['DELETE', JSON_TYPE, '{"inputs": "a"}'],
    ['PUT', 'text/plain', 'hello'],
    ['PATCH', JSON_TYPE, ''],
  ] as const) {
    const r = await fetch(`${base}/v1/embed`, { method, headers: { 'content-type': type }, body });
    assert.equal(r.status, 405, `${method} ${type}`);
    assert.equal(r.headers.get('allow'), 'POST');
    assert.equal(((await r.json()) as any).error.code, 'method_not_allowed');
  }
  const get = await fetch(`${base}/v1/models`, { method: 'DELETE', headers: { 'content-type': JSON_TYPE }, body: 'not json' });
  assert.equal(get.status, 405);
  await stillServing();
});

/** How many batches the server's models have run. */
async function modelRuns(s: TunaServer): Promise<number> {
  return (await s.metrics.batchSize.get()).values.filter((v) => v.metricName === 'tuna_batch_size_count').reduce((n, v) => n + v.value, 0);
}

test('an answer larger than maxResponseBytes is refused with 413 response_too_large, saying to send less or pool', async () => {
  assert.equal(resolveServerOptions({ models: [BUNDLED_EN] }).maxResponseBytes, 32 * 1024 * 1024, 'the default');
  // 16 texts that each fill the 128 tokens, "pooling": "none": 16 x 128 x 256 numbers, about 10 MB
  // of JSON, over this server's 4 MiB: refused from the token counts, before the model runs.
  const long = Array.from({ length: 16 }, (_, i) => `text ${i} ${'word '.repeat(200)}`);
  const runs = await modelRuns(server);
  const big = await post(base, '/v1/embed', { inputs: long, parameters: { pooling: 'none' } });
  assert.equal(big.status, 413, JSON.stringify(big.body).slice(0, 300));
  assert.equal(big.body.error.code, 'response_too_large');
  assert.match(
    big.body.error.message,
    /would be at least \d+(\.\d)? MiB, more than the 4\.0 MiB this server sends per request; send fewer or shorter inputs.*"pooling": "mean" or "cls"/,
  );
  assert.equal(await modelRuns(server), runs, 'refused before the model ran');
  // 7 such texts pass the count (16 bytes a number) but their JSON (about 19 bytes a number) does
  // not: refused once the vectors are computed, before they are written.
  const seven = await post(base, '/v1/embed', { inputs: long.slice(0, 7), parameters: { pooling: 'none' } });
  assert.equal(seven.status, 413);
  assert.equal(seven.body.error.code, 'response_too_large');
  assert.match(seven.body.error.message, /would be about (4\.\d|5\.\d) MiB/);
  assert.ok((await modelRuns(server)) > runs, 'refused after the model ran');
  const pooled = await post(base, '/v1/embed', { inputs: long });
  assert.equal(pooled.status, 200);
  assert.equal(pooled.body.length, 16);
});

test('a large answer is written in chunks, and equals what the same texts give one by one', async () => {
  const texts = Array.from({ length: 6 }, (_, i) => `sentence ${i}: ${'the cat sat on the mat and looked around. '.repeat(6)}`);
  const r = await fetch(`${base}/v1/embed`, { method: 'POST', headers: { 'content-type': JSON_TYPE }, body: JSON.stringify({ inputs: texts, parameters: { pooling: 'none' } }) });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('transfer-encoding'), 'chunked');
  assert.equal(r.headers.get('content-length'), null);
  assert.match(r.headers.get('content-type')!, /^application\/json/);
  const text = await r.text();
  assert.ok(text.length > 1024 * 1024, `${text.length} bytes`);
  const all = JSON.parse(text) as number[][][];
  assert.equal(all.length, texts.length);
  for (const i of [0, 5]) {
    const one = await post(base, '/v1/embed', { inputs: texts[i], parameters: { pooling: 'none' } });
    assert.equal(one.headers.get('transfer-encoding') === 'chunked', false, 'a small answer is sent whole');
    assert.ok(maxDifference(all[i], one.body) < 1e-4);
  }
});

test('jsonStream: its chunks join to JSON.stringify, and the event loop turns between them', async () => {
  const values: unknown[] = [
    [],
    [[]],
    { a: [1, 2], b: 'x' },
    [1.5, Number.NaN, null, 'a"b', [undefined, 3]],
    Array.from({ length: 40 }, (_, i) => Array.from({ length: 300 }, (_, j) => Math.fround(Math.sin(i * 300 + j)))),
  ];
  for (const v of values) assert.equal([...jsonPieces(v, 1000)].join(''), JSON.stringify(v));
  const big = values.at(-1)!;
  let turns = 0;
  let counting = true;
  const count = () => {
    turns++;
    if (counting) setImmediate(count);
  };
  setImmediate(count);
  const chunks: string[] = [];
  for await (const chunk of jsonStream(big, 16 * 1024)) chunks.push(String(chunk));
  counting = false;
  assert.equal(chunks.join(''), JSON.stringify(big));
  assert.ok(chunks.length >= 10, `${chunks.length} chunks`);
  assert.ok(turns >= chunks.length - 1, `${turns} event-loop turns for ${chunks.length} chunks`);
});

test('estimateJsonBytes is within 10% of the JSON size of model-like answers', () => {
  const vectors = Array.from({ length: 20 }, (_, i) => Array.from({ length: 64 }, (_, t) => Array.from({ length: 256 }, (_, h) => Math.fround(Math.cos(i + t * 7 + h)))));
  const entities = Array.from({ length: 500 }, (_, i) => ({ entity_group: 'PER', score: Math.fround(1 / (i + 1.5)), word: `name${i}`, start: i, end: i + 5 }));
  for (const v of [vectors, entities]) {
    const actual = JSON.stringify(v).length;
    const estimate = estimateJsonBytes(v);
    assert.ok(Math.abs(estimate - actual) / actual < 0.1, `estimate ${estimate}, actual ${actual}`);
  }
});

/** A copy of the test classifier whose `classifier.weight` is all `value`. */
async function classifierWithWeights(value: number): Promise<string> {
  const dir = await makeClassifier();
  const file = join(dir, 'model.safetensors');
  const { tensors, metadata } = await readSafetensors(file);
  const weight = tensors.get('classifier.weight')!;
  tensors.set('classifier.weight', { shape: weight.shape, data: new Float32Array(weight.data.length).fill(value) });
  await writeSafetensors(file, tensors, metadata);
  return dir;
}

test('a model whose outputs overflow to Inf/NaN: 500 non_finite, not 200 with null scores; one with NaN weights does not start', async () => {
  // Finite weights near the float32 maximum: the logits overflow to infinities, softmax to NaN.
  const local = await startServer({ models: [`overflow=${await classifierWithWeights(3e38)}`], port: 0, threads: 1 });
  try {
    for (const inputs of ['where is my parcel?', ['one', 'two']]) {
      const r = await post(local.address!, '/v1/classify', { inputs });
      assert.equal(r.status, 500, JSON.stringify(r.body));
      assert.equal(r.body.error.code, 'non_finite');
      assert.match(r.body.error.message, /NaN|Infinity/);
    }
    const embed = await post(local.address!, '/v1/embed', { inputs: 'the encoder is intact' });
    assert.equal(embed.status, 200, 'the encoder alone still serves');
  } finally {
    await local.close();
  }
  const nan = await classifierWithWeights(Number.NaN);
  await assert.rejects(startServer({ models: [`broken=${nan}`], port: 0, threads: 1 }), (e: any) => {
    assert.equal(e.code, 'non_finite');
    assert.match(e.message, /classifier\.weight.*NaN/);
    return true;
  });
});

test('shutdown: a request on an open keep-alive connection is answered; a client still sending its body is let go at the deadline', async () => {
  const local = await startServer({ models: [BUNDLED_EN], port: 0, threads: 1, shutdownTimeoutMs: 700, bodyTimeoutMs: 30_000, requestTimeoutMs: 60_000 });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL(local.address!);
  const viaAgent = (text: string) =>
    new Promise<{ status: number; connection: string | undefined; reused: boolean; body: any }>((resolve, reject) => {
      const req = httpRequest({ host: url.hostname, port: url.port, method: 'POST', path: '/v1/embed', agent, headers: { 'content-type': JSON_TYPE } }, (res) => {
        let data = '';
        res.setEncoding('utf8').on('data', (c) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, reused: req.reusedSocket, body: JSON.parse(data) }));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ inputs: text }));
    });
  try {
    const first = await viaAgent('opens the keep-alive connection');
    assert.equal(first.status, 200);
    const body = JSON.stringify({ inputs: 'y'.repeat(400) });
    const slow = trickle(local.address!, [head(body.length), ...body], 100);
    // Its headers arrive within 100 ms; its body would take 40 s.
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    const closed = local.close();
    await new Promise((r) => setTimeout(r, 100));
    const during = await viaAgent('arrives on the open connection during the shutdown');
    assert.equal(during.reused, true, 'sent on the connection opened before the shutdown');
    assert.equal(during.status, 200, JSON.stringify(during.body));
    assert.equal(during.connection, 'close');
    assert.equal(during.body.length, 256);
    const slowAnswer = await slow;
    assert.equal(slowAnswer.status, 503);
    assert.equal(slowAnswer.body.error.code, 'unavailable');
    assert.match(slowAnswer.body.error.message, /shut down before this request was answered/);
    assert.equal(await closed, false, 'not every request was answered in time');
    const took = Date.now() - started;
    assert.ok(took >= 650 && took < 3000, `shutdown took ${took} ms`);
    await assert.rejects(fetch(`${local.address}/healthz`));
  } finally {
    agent.destroy();
    await local.close();
  }
});

test('shutdown without slow clients ends as soon as the requests are answered, not at the deadline', async () => {
  const local = await startServer({ models: [BUNDLED_EN], port: 0, threads: 1, maxWaitMs: 5000, shutdownTimeoutMs: 20_000 });
  const pending = post(local.address!, '/v1/embed', { inputs: 'answered before the end' });
  const inFlight = async () => (await local.metrics.inFlight.get()).values.reduce((n, v) => n + v.value, 0);
  await waitFor('the request to wait for its batch', async () => (await inFlight()) === 1);
  const started = Date.now();
  assert.equal(await local.close(), true);
  assert.ok(Date.now() - started < 4000, `closed after ${Date.now() - started} ms`);
  assert.equal((await pending).status, 200);
});

test('a port in use, or a host that is no address of this machine: a message naming it and what to do', async () => {
  const busy = createNetServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  const port = (busy.address() as { port: number }).port;
  try {
    await assert.rejects(startServer({ models: [BUNDLED_EN], port, threads: 1 }), (e: any) => {
      assert.equal(e.name, 'ServeConfigError');
      assert.equal(e.message, `port ${port} is already in use on 127.0.0.1 (another process listens there); choose another port, or 0 for any free one`);
      return true;
    });
    const s = await createServer({ models: [BUNDLED_EN], port, threads: 1 });
    await assert.rejects(s.listen(), new RegExp(`port ${port} is already in use`));
    await s.close();
  } finally {
    busy.close();
  }
  await assert.rejects(
    startServer({ models: [BUNDLED_EN], host: '192.0.2.1', port: 0, threads: 1 }),
    /cannot listen on host 192\.0\.2\.1: it is no address of this machine \(EADDRNOTAVAIL\)/,
  );
});

test('model names: NAME=DIR with an invalid name is refused naming the name and the rule; a path with "=" stays a path', () => {
  assert.throws(() => parseModelSpec('na me=/models/x'), /model name "na me" in "na me=\/models\/x" is not valid: a model name is 1 to 100 letters, digits/);
  assert.throws(() => parseModelSpec('=/models/x'), /model name "" in/);
  assert.throws(() => parseModelSpec('-x=/models/x'), /starting with a letter or digit/);
  assert.throws(() => parseModelSpec('ok='), /gives no directory after "="/);
  assert.deepEqual(parseModelSpec('en=/models/x'), { name: 'en', dir: '/models/x' });
  assert.deepEqual(parseModelSpec('./a=b'), { dir: './a=b' });
  assert.deepEqual(parseModelSpec('/data/run=3/model'), { dir: '/data/run=3/model' });
  assert.deepEqual(parseModelSpec('bert-base-uncased'), { dir: 'bert-base-uncased' });
});

test('an API key no client could send is refused at start, naming apiKey', async () => {
  for (const [key, why] of [
    [' ', /apiKey is blank/],
    ['', /apiKey is empty/],
    [' key', /spaces at its start or end/],
    ['k\ney', /control or non-ASCII/],
  ] as const) {
    await assert.rejects(createServer({ models: [BUNDLED_EN], apiKey: key }), why);
  }
});

test('docs/serve.md lists every code the service answers with, with the status the catalogue gives it', () => {
  const doc = readFileSync(new URL('../docs/serve.md', import.meta.url), 'utf8');
  const rows = new Map([...doc.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])]));
  for (const code of SERVE_ERROR_CODES) {
    assert.ok(rows.has(code), `${code} is not in the errors table`);
    assert.equal(rows.get(code), ERROR_CODES[code].http, code);
  }
});
