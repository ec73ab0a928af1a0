// `tuna embed` and POST /v1/embed on a model written by sentence-transformers
// (test/fixtures/sentence/base: mean pooling, Normalize, prompts "query: " and "passage: "):
// the embeddings sentence-transformers' encode gave, prompts by name or text, --no-normalize.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../src/cli/main.js';
import { startServer, type TunaServer } from '../src/index.js';
import { post } from './helpers/serve.js';

const BASE = new URL('./fixtures/sentence/base/', import.meta.url).pathname;
const expected = JSON.parse(await readFile(new URL('./fixtures/sentence/expected.json', import.meta.url), 'utf8')) as {
  texts: string[];
  variants: Record<string, { plain: number[][]; query: number[][]; document: number[][] }>;
};
const want = expected.variants.base!;

async function tuna(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) });
  return { code, stdout, stderr };
}

function maxDiff(a: readonly (readonly number[])[], b: readonly (readonly number[])[]): number {
  assert.equal(a.length, b.length);
  let m = 0;
  a.forEach((row, i) => {
    assert.equal(row.length, b[i]!.length);
    row.forEach((x, k) => {
      m = Math.max(m, Math.abs(x - b[i]![k]!));
    });
  });
  return m;
}

let work: string;
test.before(async () => {
  work = await mkdtemp(join(tmpdir(), 'tuna-embed-'));
});
test.after(async () => {
  await rm(work, { recursive: true, force: true });
});

test('tuna embed --json: one {text, embedding} line per input, in order, equal to sentence-transformers (plain and --prompt-name query)', async () => {
  const input = join(work, 'texts.txt');
  await writeFile(input, `${expected.texts.join('\n')}\n\n`);
  const plain = await tuna('embed', '--model', BASE, '--input', input, '--json', '--threads', '1', '--batch-size', '3');
  assert.equal(plain.code, 0, plain.stderr);
  const rows = plain.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { text: string; embedding: number[] });
  assert.deepEqual(
    rows.map((r) => r.text),
    expected.texts,
  );
  assert.ok(
    maxDiff(
      rows.map((r) => r.embedding),
      want.plain,
    ) < 1e-5,
  );
  assert.match(plain.stderr, /9 embedding\(s\) of 32 dimensions \(mean pooling\)/);
  assert.match(plain.stderr, /skipped 1 blank line/);
  const query = await tuna('embed', '--model', BASE, '--input', input, '--json', '--prompt-name', 'query', '--threads', '1');
  assert.equal(query.code, 0, query.stderr);
  assert.ok(
    maxDiff(
      query.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).embedding),
      want.query,
    ) < 1e-5,
  );
  const byText = await tuna('embed', '--model', BASE, '--text', expected.texts[0]!, expected.texts[1]!, '--prompt', 'passage: ', '--json', '--threads', '1');
  assert.ok(
    maxDiff(
      byText.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).embedding),
      want.document.slice(0, 2),
    ) < 1e-5,
  );
});

test('tuna embed --no-normalize gives the vectors before Normalize; plain output is tab-separated numbers', async () => {
  const raw = await tuna('embed', '--model', BASE, '--text', expected.texts[0]!, '--no-normalize', '--threads', '1');
  assert.equal(raw.code, 0, raw.stderr);
  const v = raw.stdout.trim().split('\t').map(Number);
  assert.equal(v.length, 32);
  const norm = Math.hypot(...v);
  assert.ok(Math.abs(norm - 1) > 1e-3, 'not unit length');
  assert.ok(maxDiff([v.map((x) => x / norm)], [want.plain[0]!]) < 1e-5);
});

test('tuna embed errors: an unknown prompt name lists the prompts; --text and --input together; no text', async () => {
  const bad = await tuna('embed', '--model', BASE, '--text', 'hi', '--prompt-name', 'question');
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /prompt_name|promptName/);
  assert.match(bad.stderr, /"query"/);
  const both = await tuna('embed', '--model', BASE, '--text', 'hi', '--input', 'x.txt');
  assert.notEqual(both.code, 0);
  assert.match(both.stderr, /--text .*--input/);
  const twoPrompts = await tuna('embed', '--model', BASE, '--text', 'hi', '--prompt', 'a', '--prompt-name', 'query');
  assert.notEqual(twoPrompts.code, 0);
});

test('POST /v1/embed on a sentence-transformers model: its pooling and Normalize by default, prompt_name, normalize false', async () => {
  let server: TunaServer | undefined;
  try {
    server = await startServer({ models: [`st=${BASE}`], port: 0, maxBatchSize: 8, maxWaitMs: 5, threads: 1 });
    const base = server.address!;
    const r = await post(base, '/v1/embed', { inputs: expected.texts });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok(maxDiff(r.body as number[][], want.plain) < 1e-5);
    const q = await post(base, '/v1/embed', { inputs: expected.texts, parameters: { prompt_name: 'query' } });
    assert.equal(q.status, 200, JSON.stringify(q.body));
    assert.ok(maxDiff(q.body as number[][], want.query) < 1e-5);
    const raw = await post(base, '/v1/embed', { inputs: expected.texts[0], parameters: { normalize: false } });
    const v = raw.body as number[];
    const norm = Math.hypot(...v);
    assert.ok(maxDiff([v.map((x) => x / norm)], [want.plain[0]!]) < 1e-5);
    const bad = await post(base, '/v1/embed', { inputs: 'x', parameters: { prompt_name: 'nope' } });
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
  } finally {
    await server?.close();
  }
});
