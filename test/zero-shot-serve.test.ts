// `POST /v1/zero-shot` on a real tuna server with the NLI fixture: transformers' zero-shot scores,
// single and list inputs, multi_label and hypothesis_template, concurrent requests, validation
// errors, and which models serve the endpoint.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type TunaServer, startServer } from '../src/serve/server.js';
import { get, post } from './helpers/serve.js';

const ROOT = join(import.meta.dirname, 'fixtures', 'zero-shot');
const E = JSON.parse(readFileSync(join(ROOT, 'expected.json'), 'utf8'));
const CASES = E.nli.nli as {
  labels: string | string[];
  multi_label?: boolean;
  hypothesis_template?: string;
  results: { sequence: string; labels: string[]; scores: number[] }[];
}[];
let server: TunaServer;
let base: string;

before(async () => {
  server = await startServer({
    models: [`mlm=${join(ROOT, 'mlm')}`, `nli=${join(ROOT, 'nli')}`, `three=${join(import.meta.dirname, 'fixtures', 'cross-encoder', 'labels3')}`],
    port: 0,
    maxBatchSize: 4,
    maxWaitMs: 20,
    threads: 1,
  });
  base = server.address!;
});
after(async () => {
  await server.close();
});

function assertLike(got: { sequence: string; labels: string[]; scores: number[] }, want: { sequence: string; labels: string[]; scores: number[] }): void {
  assert.deepEqual(Object.keys(got), ['sequence', 'labels', 'scores']);
  assert.equal(got.sequence, want.sequence);
  assert.deepEqual(got.labels, want.labels);
  got.scores.forEach((s, i) => assert.ok(Math.abs(s - want.scores[i]!) <= 1e-4, `${s} vs ${want.scores[i]}`));
}

test('models: only the classifier whose labels name entailment serves zero-shot', async () => {
  const { body } = await get(base, '/v1/models');
  const byName = Object.fromEntries(body.models.map((m: { name: string; tasks: string[] }) => [m.name, m.tasks]));
  assert.deepEqual(byName.nli, ['classify', 'embed', 'zero-shot']);
  assert.ok(!byName.mlm.includes('zero-shot'));
  assert.ok(!byName.three.includes('zero-shot'));
});

test("zero-shot answers transformers' zero-shot-classification: one text, a list, multi_label, hypothesis_template, comma-separated labels", async () => {
  const [plain, , , multi, , comma] = CASES;
  const one = await post(base, '/v1/zero-shot', { inputs: E.sequences[0], parameters: { candidate_labels: plain!.labels } });
  assert.equal(one.status, 200);
  assertLike(one.body, plain!.results[0]!);
  const list = await post(base, '/v1/zero-shot', {
    inputs: E.sequences,
    parameters: { candidate_labels: multi!.labels, multi_label: true, hypothesis_template: multi!.hypothesis_template },
  });
  assert.equal(list.status, 200);
  list.body.forEach((r: never, i: number) => assertLike(r, multi!.results[i]!));
  const fromString = await post(base, '/v1/zero-shot', { inputs: [E.sequences[2]], model: 'nli', parameters: { candidate_labels: comma!.labels } });
  assertLike(fromString.body[0], comma!.results[2]!);
});

test('concurrent requests (batched together when their parameters match) each get their own answer', async () => {
  const c = CASES[0]!;
  const answers = await Promise.all(E.sequences.map((s: string) => post(base, '/v1/zero-shot', { inputs: s, parameters: { candidate_labels: c.labels } })));
  answers.forEach((a, i) => assertLike(a.body, c.results[i]!));
});

test('bad requests name the field: no labels, an empty list, a template without {}, a blank label, unknown parameters, a model that does not serve it', async () => {
  const bad = async (body: unknown, status: number, code: string, field: string, message?: RegExp) => {
    const r = await post(base, '/v1/zero-shot', body);
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.equal(r.body.error.code, code);
    assert.equal(r.body.error.field, field);
    if (message) assert.match(r.body.error.message, message);
  };
  await bad({ inputs: 'a game' }, 400, 'invalid_request', 'parameters.candidate_labels', /candidate_labels is missing/);
  await bad({ inputs: 'a game', parameters: {} }, 400, 'invalid_request', 'parameters.candidate_labels');
  await bad({ inputs: 'a game', parameters: { candidate_labels: [] } }, 400, 'invalid_request', 'parameters.candidate_labels');
  await bad({ inputs: 'a game', parameters: { candidate_labels: ['sports', 3] } }, 400, 'invalid_request', 'parameters.candidate_labels[1]');
  await bad({ inputs: 'a game', parameters: { candidate_labels: ['sports', ' '] } }, 400, 'invalid_parameter', 'parameters.candidate_labels', /^parameters\.candidate_labels\[1\]/);
  await bad({ inputs: 'a game', parameters: { candidate_labels: ' , ' } }, 400, 'invalid_parameter', 'parameters.candidate_labels');
  await bad(
    { inputs: 'a game', parameters: { candidate_labels: ['sports'], hypothesis_template: 'no slot' } },
    400,
    'invalid_parameter',
    'parameters.hypothesis_template',
    /^parameters\.hypothesis_template must be a string holding \{\}/,
  );
  await bad({ inputs: 'a game', parameters: { candidate_labels: ['sports'], multi_label: 'yes' } }, 400, 'invalid_request', 'parameters.multi_label');
  await bad({ inputs: 'a game', parameters: { candidate_labels: ['sports'], top_k: 1 } }, 400, 'invalid_request', 'parameters.top_k');
  await bad({ inputs: ['a game', ' '], parameters: { candidate_labels: ['sports'] } }, 400, 'invalid_request', 'inputs[1]');
  await bad({ inputs: 'a game', model: 'mlm', parameters: { candidate_labels: ['sports'] } }, 400, 'unsupported_task', 'model', /"nli"/);
});
