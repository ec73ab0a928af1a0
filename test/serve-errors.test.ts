// tuna serve's errors: a parameter the model cannot use is named by the request's snake_case
// parameter (`parameters.stride`), and every tuna error, wherever it is raised, is answered with
// the HTTP status its code has in the catalogue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_CODES, type ErrorCode, TunaError } from '../src/errors.js';
import { RuntimeError, SafetensorsError, createServer, type TunaServer } from '../src/index.js';
import { makeTokenClassifier, post } from './helpers/serve.js';

let server: TunaServer;
let base: string;

test.before(async () => {
  server = await createServer({ models: [`ner=${await makeTokenClassifier()}`], port: 0, threads: 1 });
  // Routes that raise tuna errors the way a handler deep in the service would.
  const raised: Record<string, () => Error> = {
    '/raise/file-not-found': () => new SafetensorsError('weights.safetensors: no such file', { code: 'file_not_found', file: 'weights.safetensors' }),
    '/raise/runtime': () => new RuntimeError('ONNX Runtime run failed: out of memory'),
    '/raise/field': () => new TunaError('invalid_input', 'inputs[1] is not a text', { field: 'inputs[1]' }),
    '/raise/plain': () => new Error('a defect'),
  };
  for (const [url, error] of Object.entries(raised)) {
    server.app.get(url, async () => {
      throw error();
    });
  }
  base = await server.listen();
});
test.after(() => server?.close());

/** Asserts a JSON error answer whose status is the one the catalogue gives its code. */
function assertError(r: { status: number; body: any }, code: ErrorCode, field?: string): void {
  assert.equal(r.body.error.code, code, JSON.stringify(r.body));
  assert.equal(r.status, ERROR_CODES[code].http, JSON.stringify(r.body));
  assert.equal(typeof r.body.error.message, 'string');
  assert.equal(r.body.error.field, field);
}

test('a parameter the model cannot use: 400 invalid_parameter naming the snake_case request parameter', async () => {
  // The schema allows any stride up to 100000; the pipeline refuses one beyond the model's length.
  const far = await post(base, '/v1/ner', { inputs: 'john smith lives in paris', parameters: { stride: 1000 } });
  assertError(far, 'invalid_parameter', 'parameters.stride');
  assert.match(far.body.error.message, /^parameters\.stride must be an integer from 0 to \d+, got 1000$/);

  // Only the pipeline knows that a stride needs aggregation: the message speaks of aggregation_strategy.
  const none = await post(base, '/v1/ner', { inputs: ['john smith', 'lives in paris'], parameters: { stride: 4, aggregation_strategy: 'none' } });
  assertError(none, 'invalid_parameter', 'parameters.stride');
  assert.match(none.body.error.message, /aggregation_strategy other than 'none'/);
  assert.doesNotMatch(none.body.error.message, /aggregationStrategy/);

  const fine = await post(base, '/v1/ner', { inputs: 'john smith lives in paris', parameters: { stride: 4 } });
  assert.equal(fine.status, 200, JSON.stringify(fine.body));
});

test('every answer of a refused request has the status of its code in the catalogue', async () => {
  const answers: [Promise<{ status: number; body: any }>, ErrorCode, string?][] = [
    [post(base, '/v1/ner', '{"inputs": '), 'invalid_json'],
    [post(base, '/v1/ner', { inputs: '' }), 'invalid_request', 'inputs'],
    [post(base, '/v1/ner', { inputs: 'a', model: 'nope' }), 'unknown_model', 'model'],
    [post(base, '/v1/classify', { inputs: 'a' }), 'unsupported_task'],
    [post(base, '/v1/translate', { inputs: 'a' }), 'not_found'],
    [fetch(`${base}/v1/ner`).then(async (r) => ({ status: r.status, body: await r.json() })), 'method_not_allowed'],
  ];
  for (const [answer, code, field] of answers) assertError(await answer, code, field);
});

test('a tuna error raised in a handler is answered with its own code, status and field', async () => {
  const get = async (path: string) => {
    const r = await fetch(base + path);
    return { status: r.status, body: await r.json() };
  };
  assertError(await get('/raise/file-not-found'), 'file_not_found');
  assertError(await get('/raise/runtime'), 'runtime_error');
  assertError(await get('/raise/field'), 'invalid_input', 'inputs[1]');
  // Anything that is not a tuna error is a defect: 500 internal.
  assertError(await get('/raise/plain'), 'internal');
});
