// Models written by sentence-transformers 6 (tools/make-sentence-fixtures.py): tuna's
// feature-extraction pipeline gives the embeddings sentence-transformers' encode gave, for every
// pooling mode, with and without Normalize, a Dense projection, prompts and include_prompt false;
// and models tuna writes have the files sentence-transformers writes and the same embeddings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { featureExtractionPipeline } from '../src/pipelines/feature-extraction.js';
import { PreTrainedModel } from '../src/models/pretrained-model.js';
import { readSentenceLayout } from '../src/sentence/layout.js';
import { saveSentenceTransformer } from '../src/sentence/model.js';
import { isTunaError } from '../src/errors.js';

const FIXTURES = new URL('./fixtures/sentence/', import.meta.url).pathname;
interface VariantExpected {
  spec: Record<string, unknown>;
  plain: number[][];
  query?: number[][];
  document?: number[][];
  custom_prompt?: number[][];
}
const expected = JSON.parse(await readFile(join(FIXTURES, 'expected.json'), 'utf8')) as { texts: string[]; variants: Record<string, VariantExpected> };
const BODY_FILES = ['model.safetensors', 'config.json', 'tokenizer.json', 'tokenizer_config.json'];

let scratch: string;
test.before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tuna-sentence-'));
});
test.after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** A complete model directory of a variant: its sentence-transformers files and base's body. */
async function variantDir(name: string): Promise<string> {
  if (name === 'base') return join(FIXTURES, 'base');
  const dir = join(scratch, name);
  if (existsSync(dir)) return dir;
  await cp(join(FIXTURES, name), dir, { recursive: true });
  for (const f of BODY_FILES) await cp(join(FIXTURES, 'base', f), join(dir, f));
  return dir;
}

function cosine(a: readonly number[], b: readonly number[]): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  a.forEach((x, i) => {
    ab += x * b[i]!;
    aa += x * x;
    bb += b[i]! * b[i]!;
  });
  return ab / Math.sqrt(aa * bb);
}

/** Largest absolute difference and smallest cosine of two lists of embeddings. */
function compare(got: readonly (readonly number[])[], want: readonly (readonly number[])[], what: string): { maxDiff: number; minCos: number } {
  assert.equal(got.length, want.length, what);
  let maxDiff = 0;
  let minCos = 1;
  got.forEach((g, i) => {
    assert.equal(g.length, want[i]!.length, `${what}: dimension of embedding ${i}`);
    g.forEach((x, k) => {
      maxDiff = Math.max(maxDiff, Math.abs(x - want[i]![k]!));
    });
    minCos = Math.min(minCos, cosine(g, want[i]!));
  });
  assert.ok(minCos >= 0.99999, `${what}: cosine ${minCos} < 0.99999`);
  assert.ok(maxDiff < 1e-4, `${what}: max difference ${maxDiff}`);
  return { maxDiff, minCos };
}

const report: Record<string, { maxDiff: number; minCos: number }> = {};

for (const name of Object.keys(expected.variants)) {
  test(`${name}: embeddings equal sentence-transformers' (plain, query prompt, custom prompt)`, async () => {
    const want = expected.variants[name]!;
    const extractor = await featureExtractionPipeline(await variantDir(name), { threads: 1, batchSize: 4 });
    try {
      assert.equal(extractor.isSentenceTransformer, true);
      report[`${name} plain`] = compare((await extractor(expected.texts)) as unknown as number[][], want.plain, `${name} plain`);
      if (want.query) report[`${name} query`] = compare((await extractor(expected.texts, { promptName: 'query' } as never)) as unknown as number[][], want.query, `${name} query`);
      if (want.document) compare((await extractor(expected.texts, { prompt_name: 'document' } as never)) as unknown as number[][], want.document, `${name} document`);
      if (want.custom_prompt)
        compare((await extractor(expected.texts.slice(0, 3), { prompt: 'search: ' } as never)) as unknown as number[][], want.custom_prompt, `${name} custom prompt`);
      // Batch size and input order do not change an embedding.
      const one = (await extractor(expected.texts[2]!, { batchSize: 1 } as never)) as unknown as number[];
      compare([one], [want.plain[2]!], `${name} single`);
    } finally {
      await extractor.dispose();
    }
  });
}

test('the layout read from the files: modes, prompts, Dense, Normalize, legacy keys', async () => {
  const multi = (await readSentenceLayout(await variantDir('multi')))!;
  assert.deepEqual(multi.pooling, { dimension: 32, modes: ['cls', 'mean', 'max'], includePrompt: true });
  assert.equal(multi.normalize, true);
  assert.deepEqual(multi.prompts, { document: 'passage: ', query: 'query: ' });
  const dense = (await readSentenceLayout(await variantDir('dense')))!;
  assert.equal(dense.dense.length, 1);
  assert.equal(dense.dense[0]!.outFeatures, 16);
  assert.equal(dense.dense[0]!.activation, 'tanh');
  const legacy = (await readSentenceLayout(await variantDir('legacy-pooling')))!;
  assert.deepEqual(legacy.pooling.modes, ['weightedmean']);
  const noPrompt = (await readSentenceLayout(await variantDir('no-prompt-pooling')))!;
  assert.equal(noPrompt.pooling.includePrompt, false);
  assert.equal(await readSentenceLayout(join(FIXTURES, '..', 'bert', 'BertModel')), undefined);
});

test('an unknown prompt name, an unknown module and a bad pooling mode are errors naming the file and field', async () => {
  const extractor = await featureExtractionPipeline(await variantDir('base'), { threads: 1 });
  try {
    await assert.rejects(
      extractor('x', { promptName: 'question' } as never),
      (e: unknown) => isTunaError(e) && e.code === 'invalid_option' && /"query"/.test((e as Error).message),
    );
  } finally {
    await extractor.dispose();
  }
  const bad = join(scratch, 'bad-module');
  await cp(await variantDir('cls'), bad, { recursive: true });
  const modules = JSON.parse(await readFile(join(bad, 'modules.json'), 'utf8'));
  modules.splice(2, 0, { idx: 2, name: '2', path: '2_LayerNorm', type: 'sentence_transformers.models.LayerNorm' });
  await writeFile(join(bad, 'modules.json'), JSON.stringify(modules));
  await assert.rejects(readSentenceLayout(bad), (e: unknown) => isTunaError(e) && e.code === 'invalid_model' && e.field === '[2].type' && e.file === join(bad, 'modules.json'));
  const badMode = join(scratch, 'bad-mode');
  await cp(await variantDir('cls'), badMode, { recursive: true });
  await writeFile(join(badMode, '1_Pooling', 'config.json'), JSON.stringify({ embedding_dimension: 32, pooling_mode: 'median' }));
  await assert.rejects(readSentenceLayout(badMode), (e: unknown) => isTunaError(e) && e.field === 'pooling_mode' && /median/.test((e as Error).message));
});

const ST_FILES = ['modules.json', 'sentence_bert_config.json'];

for (const name of ['base', 'multi', 'dense', 'no-prompt-cls', 'lasttoken']) {
  test(`${name}: tuna writes the files sentence-transformers wrote, and reloads them to the same embeddings`, async () => {
    const source = await variantDir(name);
    const layout = (await readSentenceLayout(source))!;
    const model = await PreTrainedModel.fromPretrained(source, { head: 'encoder', missing: 'error' });
    const tokenizer = await model.loadTokenizer();
    const out = join(scratch, `written-${name}`);
    await saveSentenceTransformer(out, model, tokenizer, layout, { tuna: '0.1.0' });
    for (const f of ST_FILES) assert.deepEqual(JSON.parse(await readFile(join(out, f), 'utf8')), JSON.parse(await readFile(join(source, f), 'utf8')), f);
    const modules = JSON.parse(await readFile(join(source, 'modules.json'), 'utf8')) as { path: string }[];
    for (const m of modules.slice(1)) {
      assert.deepEqual(
        JSON.parse(await readFile(join(out, m.path, 'config.json'), 'utf8')),
        JSON.parse(await readFile(join(source, m.path, 'config.json'), 'utf8')),
        `${m.path}/config.json`,
      );
    }
    const stConfig = (dir: string) => readFile(join(dir, 'config_sentence_transformers.json'), 'utf8').then((t) => ({ ...JSON.parse(t), __version__: undefined }));
    assert.deepEqual(await stConfig(out), await stConfig(source));
    const extractor = await featureExtractionPipeline(out, { threads: 1, batchSize: 4 });
    try {
      const want = expected.variants[name]!;
      compare((await extractor(expected.texts)) as unknown as number[][], want.plain, `${name} written, plain`);
      compare((await extractor(expected.texts, { promptName: 'query' } as never)) as unknown as number[][], want.query!, `${name} written, query`);
    } finally {
      await extractor.dispose();
    }
  });
}

test.after(() => {
  const worst = Object.values(report).reduce((a, r) => ({ maxDiff: Math.max(a.maxDiff, r.maxDiff), minCos: Math.min(a.minCos, r.minCos) }), { maxDiff: 0, minCos: 1 });
  console.log(`sentence-transformers parity over ${Object.keys(report).length} cases: max |diff| ${worst.maxDiff.toExponential(2)}, min cosine ${worst.minCos.toFixed(8)}`);
});
