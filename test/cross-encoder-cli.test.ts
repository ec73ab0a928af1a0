// `tuna rerank` on the sentence-transformers CrossEncoder fixture: CrossEncoder.rank's order and
// scores as JSON Lines, --top-k, passages from a file, and usage errors.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { run } from '../src/cli/main.js';

const ROOT = join(import.meta.dirname, 'fixtures', 'cross-encoder');
const E = JSON.parse(await readFile(join(ROOT, 'expected.json'), 'utf8'));
const RANK = E.variants.base.rank as { corpus_id: number; score: number }[];

async function tuna(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) });
  return { code, stdout, stderr };
}

test('tuna rerank --json prints CrossEncoder.rank best first; --input and --top-k; usage errors', async () => {
  const model = join(ROOT, 'base');
  const r = await tuna('rerank', '--model', model, '--query', E.query, '--text', ...E.documents, '--json', '--threads', '1');
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { query: string; passage: string; index: number; score: number });
  assert.deepEqual(
    rows.map((x) => x.index),
    RANK.map((x) => x.corpus_id),
  );
  rows.forEach((x, i) => {
    assert.ok(Math.abs(x.score - RANK[i]!.score) < 1e-5);
    assert.equal(x.passage, E.documents[x.index]);
    assert.equal(x.query, E.query);
  });
  const dir = await mkdtemp(join(tmpdir(), 'tuna-rerank-'));
  try {
    const file = join(dir, 'passages.txt');
    await writeFile(file, `${E.documents.join('\n')}\n\n`);
    const top = await tuna('rerank', '--model', model, '--query', E.query, '--input', file, '--top-k', '2', '--threads', '1');
    assert.equal(top.code, 0, top.stderr);
    const lines = top.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.equal(lines[0]!.split('\t')[2], E.documents[RANK[0]!.corpus_id]);
    assert.match(top.stderr, /skipped 1 blank line/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const both = await tuna('rerank', '--model', model, '--query', 'q');
  assert.notEqual(both.code, 0);
  assert.match(both.stderr, /--text .* or --input/);
  const k = await tuna('rerank', '--model', model, '--query', 'q', '--text', 'a', '--top-k', '0');
  assert.match(k.stderr, /--top-k/);
  const three = await tuna('rerank', '--model', join(ROOT, 'labels3'), '--query', 'q', '--text', 'a');
  assert.match(three.stderr, /one label/);
});
