// fill-mask on the bundled English model, checked against the softmax of the masked-LM logits that
// AutoModelForMaskedLM.forward gives (a separately built graph with the full vocabulary projection).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AutoModel, AutoModelForMaskedLM, BertTokenizer, pipeline, type PipelineError, type FillMaskCandidate, type FillMaskPipeline, type PreTrainedModel } from '../src/index.js';
import { BUNDLED_EN, copyTokenizer, tempDir } from './helpers/pipeline-models.js';

let unmasker: FillMaskPipeline;
let reference: PreTrainedModel;
let tokenizer: BertTokenizer;

test.before(async () => {
  unmasker = await pipeline('fill-mask', BUNDLED_EN, { threads: 1 });
  reference = await AutoModelForMaskedLM.fromPretrained(BUNDLED_EN, { threads: 1 });
  tokenizer = await BertTokenizer.fromDirectory(BUNDLED_EN);
});
test.after(async () => {
  await unmasker.dispose();
  await reference.dispose();
});

/** Reference probabilities over the vocabulary at each mask position of `text`. */
async function maskProbabilities(text: string): Promise<{ ids: number[]; at: number[]; probs: number[][] }> {
  const enc = tokenizer.encode(text);
  const t = (xs: number[]) => ({ dtype: 'int64' as const, dims: [1, xs.length], data: BigInt64Array.from(xs, BigInt) });
  const logits = (await reference.forward({ input_ids: t(enc.inputIds), attention_mask: t(enc.attentionMask), token_type_ids: t(enc.tokenTypeIds) })).logits!.data as Float32Array;
  const V = reference.config.vocab_size;
  const at = enc.inputIds.flatMap((id, i) => (id === tokenizer.maskTokenId ? [i] : []));
  const probs = at.map((i) => {
    const row = Array.from(logits.subarray(i * V, (i + 1) * V));
    const m = Math.max(...row);
    const e = row.map((x) => Math.exp(x - m));
    const s = e.reduce((a, b) => a + b);
    return e.map((x) => x / s);
  });
  return { ids: enc.inputIds, at, probs };
}

function checkCandidates(candidates: FillMaskCandidate[], probs: number[], k: number) {
  const best = [...probs.keys()].sort((a, b) => probs[b]! - probs[a]!).slice(0, k);
  assert.deepEqual(
    candidates.map((c) => c.token),
    best,
  );
  for (const c of candidates) {
    assert.ok(Math.abs(c.score - probs[c.token]!) < 1e-5);
    assert.equal(c.token_str, tokenizer.decode([c.token]));
  }
  const total = candidates.reduce((s, c) => s + c.score, 0);
  assert.ok(total <= 1 + 1e-6 && total > 0);
  for (let i = 1; i < candidates.length; i++) assert.ok(candidates[i - 1]!.score >= candidates[i]!.score);
}

test('one mask: the top 5 tokens with their probabilities and the filled-in sentence', async () => {
  const text = 'The man went to the [MASK] to buy some bread.';
  const { ids, at, probs } = await maskProbabilities(text);
  const candidates = (await unmasker(text)) as FillMaskCandidate[];
  assert.equal(candidates.length, 5);
  checkCandidates(candidates, probs[0]!, 5);
  for (const c of candidates) {
    const filled = [...ids];
    filled[at[0]!] = c.token;
    assert.equal(c.sequence, tokenizer.decode(filled, { skipSpecialTokens: true }));
    assert.ok(!c.sequence.includes('[MASK]') && !c.sequence.includes('[CLS]'));
  }
  assert.equal(((await unmasker(text, { topK: 12 })) as FillMaskCandidate[]).length, 12);
});

test('several masks: one list per mask, in text order', async () => {
  const text = 'The [MASK] sat on the [MASK].';
  const { probs } = await maskProbabilities(text);
  const perMask = (await unmasker(text, { topK: 3 })) as FillMaskCandidate[][];
  assert.equal(perMask.length, 2);
  perMask.forEach((candidates, m) => checkCandidates(candidates, probs[m]!, 3));
  assert.match(perMask[0]![0]!.sequence, /\[MASK\]/, 'the other mask stays visible');
});

test('a list of inputs: one result per input, independent of batch size and order', async () => {
  const texts = ['I [MASK] you.', 'Where is the [MASK] station?', 'The [MASK] of the [MASK] was long.', 'He said [MASK].'];
  const one = await unmasker.runBatch(texts, { batchSize: 1 });
  const all = await unmasker(texts.slice().reverse());
  assert.equal(all.length, texts.length);
  const lists = (r: unknown) => (Array.isArray((r as unknown[])[0]) ? (r as FillMaskCandidate[][]) : [r as FillMaskCandidate[]]);
  one.forEach((r, i) => {
    const other = lists(all[texts.length - 1 - i]!);
    lists(r).forEach((candidates, m) => {
      assert.deepEqual(
        other[m]!.map((c) => [c.token, c.sequence]),
        candidates.map((c) => [c.token, c.sequence]),
      );
      candidates.forEach((c, k) => assert.ok(Math.abs(c.score - other[m]![k]!.score) < 1e-5));
    });
  });
  assert.equal((one[2] as FillMaskCandidate[][]).length, 2);
});

test('inputs without a mask, or with the mask cut off, are refused with the mask token named', async () => {
  await assert.rejects(unmasker('no mask here'), (e: PipelineError) => e.code === 'no_mask_token' && /no \[MASK\] in "no mask here"; put the mask token \[MASK\]/.test(e.message));
  await assert.rejects(unmasker(['a [MASK]', 'none']), (e: PipelineError) => e.field === 'inputs[1]');
  const short = await pipeline('fill-mask', BUNDLED_EN, { maxLength: 6, threads: 1 });
  try {
    await assert.rejects(short('one two three four five six [MASK]'), /lies beyond the first 6 tokens/);
  } finally {
    await short.dispose();
  }
});

test('a checkpoint without a masked-LM head is refused', async () => {
  const dir = await tempDir('fm-bare');
  const model = await AutoModel.fromPretrained(BUNDLED_EN);
  await model.savePretrained(dir);
  await copyTokenizer(BUNDLED_EN, dir);
  await assert.rejects(
    pipeline('fill-mask', dir),
    (e: PipelineError) => e.code === 'wrong_task' && /masked-LM head/.test(e.message) && /pipeline\('feature-extraction'/.test(e.message),
  );
  const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
  await writeFile(join(dir, 'config.json'), JSON.stringify({ ...config, architectures: ['BertForMaskedLM'] }));
  await assert.rejects(pipeline('fill-mask', dir), (e: PipelineError) => e.code === 'wrong_task' && /cls\.predictions/.test(e.message));
});
