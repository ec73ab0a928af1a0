// feature-extraction on the bundled English model, checked against last_hidden_state from
// AutoModel.forward, pooled and normalised here by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AutoModel, BertTokenizer, pipeline, type FeatureExtractionPipeline, type PreTrainedModel } from '../src/index.js';
import { BUNDLED_EN, tempDir, writeSequenceClassifier } from './helpers/pipeline-models.js';

let extractor: FeatureExtractionPipeline;
let reference: PreTrainedModel;
let tokenizer: BertTokenizer;

test.before(async () => {
  extractor = await pipeline('feature-extraction', BUNDLED_EN, { threads: 1 });
  reference = await AutoModel.fromPretrained(BUNDLED_EN, { threads: 1 });
  tokenizer = await BertTokenizer.fromDirectory(BUNDLED_EN);
});
test.after(async () => {
  await extractor.dispose();
  await reference.dispose();
});

/** Reference token vectors [tokens][hidden] of one text. */
async function hiddenStates(text: string): Promise<number[][]> {
  const enc = tokenizer.encode(text);
  const t = (xs: number[]) => ({ dtype: 'int64' as const, dims: [1, xs.length], data: BigInt64Array.from(xs, BigInt) });
  const h = (await reference.forward({ input_ids: t(enc.inputIds), attention_mask: t(enc.attentionMask), token_type_ids: t(enc.tokenTypeIds) })).last_hidden_state!;
  const H = h.dims[2]!;
  const data = h.data as Float32Array;
  return Array.from({ length: enc.inputIds.length }, (_, i) => Array.from(data.subarray(i * H, (i + 1) * H)));
}
const close = (a: readonly number[], b: readonly number[], tol = 1e-4) => {
  assert.equal(a.length, b.length);
  a.forEach((x, i) => assert.ok(Math.abs(x - b[i]!) < tol, `${x} vs ${b[i]} at ${i}`));
};

const TEXTS = ['A short one.', 'Sentence embeddings average the token vectors of the last layer.', 'hello'];

test("mean pooling equals the mean of last_hidden_state over the text's tokens; normalize gives unit length", async () => {
  for (const text of TEXTS) {
    const rows = await hiddenStates(text);
    const mean = rows[0]!.map((_, k) => rows.reduce((s, r) => s + r[k]!, 0) / rows.length);
    close(await extractor(text, { pooling: 'mean' }), mean);
    const unit = await extractor(text, { pooling: 'mean', normalize: true });
    const norm = Math.hypot(...mean);
    close(
      unit,
      mean.map((x) => x / norm),
      1e-5,
    );
    assert.ok(Math.abs(Math.hypot(...unit) - 1) < 1e-6);
  }
});

test("cls pooling is the first token's vector; no pooling gives every token", async () => {
  const rows = await hiddenStates(TEXTS[1]!);
  close(await extractor(TEXTS[1]!, { pooling: 'cls' }), rows[0]!);
  const tokens = await extractor(TEXTS[1]!);
  assert.equal(tokens.length, rows.length, '[CLS] and [SEP] included');
  tokens.forEach((v, i) => close(v, rows[i]!));
});

test('padding in a batch does not change any embedding; results keep input order', async () => {
  const one = await extractor.runBatch(TEXTS, { pooling: 'mean', batchSize: 1 });
  const all = await extractor(TEXTS, { pooling: 'mean' });
  const reversed = await extractor([...TEXTS].reverse(), { pooling: 'mean', batchSize: 2 });
  one.forEach((v, i) => {
    close(all[i]!, v);
    close(reversed[TEXTS.length - 1 - i]!, v);
  });
  const perToken = await extractor(TEXTS);
  perToken.forEach((rows, i) => assert.equal(rows.length, tokenizer.encode(TEXTS[i]!).inputIds.length, 'no padding rows'));
});

test('any BERT checkpoint works: a classifier gives the vectors of its encoder', async () => {
  const dir = await writeSequenceClassifier(await tempDir('fe-cls'), { 0: 'a', 1: 'b' });
  const pipe = await pipeline('feature-extraction', dir, { threads: 1 });
  try {
    close(await pipe('hello', { pooling: 'cls' }), (await hiddenStates('hello'))[0]!);
  } finally {
    await pipe.dispose();
  }
  await assert.rejects(extractor('x', { pooling: 'max' as never }), /pooling must be one of 'none', 'model', 'mean', 'cls'/);
});

test("a plain checkpoint's own pooling ('model', what /v1/embed and tuna embed use) is the mean, pooled in the graph", async () => {
  const rows = await hiddenStates(TEXTS[0]!);
  const mean = rows[0]!.map((_, k) => rows.reduce((s, r) => s + r[k]!, 0) / rows.length);
  close(await extractor(TEXTS[0]!, { pooling: 'model' as never }), mean);
  const ex = extractor as unknown as { isSentenceTransformer: boolean; embeddingDimension: number };
  assert.equal(ex.isSentenceTransformer, false);
  assert.equal(ex.embeddingDimension, rows[0]!.length);
  const prompted = await extractor(TEXTS[0]!, { pooling: 'mean', prompt: 'query: ' } as never);
  const promptedRows = await hiddenStates(`query: ${TEXTS[0]!}`);
  close(
    prompted,
    promptedRows[0]!.map((_, k) => promptedRows.reduce((s, r) => s + r[k]!, 0) / promptedRows.length),
  );
});
