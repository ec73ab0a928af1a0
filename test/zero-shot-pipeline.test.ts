// pipeline('zero-shot-classification') against independent references on tiny random-init models
// (tools/make-zero-shot-fixtures.py): transformers' zero-shot pipeline (NLI mode, two label orders),
// transformers' fill-mask probabilities of the label words (cloze mode), and sentence-transformers'
// cosines and tuna's feature-extraction pipeline (embedding mode); plus option and error handling.
import assert from 'node:assert/strict';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type PipelineError, pipeline } from '../src/pipelines/index.js';
import type { ZeroShotClassificationPipeline, ZeroShotClassificationResult } from '../src/pipelines/types.js';
import { nliLabelIds } from '../src/pipelines/zero-shot-nli.js';
import type { ModelConfig } from '../src/models/registry.js';
import { tempDir } from './helpers/pipeline-models.js';

const ROOT = join(import.meta.dirname, 'fixtures', 'zero-shot');
const SENTENCE_BASE = join(import.meta.dirname, 'fixtures', 'sentence', 'base');
const E = JSON.parse(readFileSync(join(ROOT, 'expected.json'), 'utf8'));
const SEQUENCES: string[] = E.sequences;

interface NliCase {
  labels: string | string[];
  multi_label?: boolean;
  hypothesis_template?: string;
  results: { sequence: string; labels: string[]; scores: number[] }[];
}

function assertClose(actual: readonly number[], expected: readonly number[], tol: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]!) <= tol, `${what}[${i}]: ${a} vs ${expected[i]} (tolerance ${tol})`));
}

function assertLike(r: ZeroShotClassificationResult, x: { sequence: string; labels: string[]; scores: number[] }, what: string): void {
  assert.equal(r.sequence, x.sequence, what);
  assert.deepEqual(r.labels, x.labels, what);
  assertClose(r.scores, x.scores, 1e-4, what);
}

/** nli/'s weights and tokenizer under another config. */
async function withConfig(name: string, edit: (config: Record<string, unknown>) => Record<string, unknown>): Promise<string> {
  const dir = await tempDir(`zero-shot-${name}`);
  for (const f of ['model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) await cp(join(ROOT, 'nli', f), join(dir, f));
  const config = JSON.parse(await readFile(join(ROOT, 'nli', 'config.json'), 'utf8'));
  await writeFile(join(dir, 'config.json'), JSON.stringify(edit(config)));
  return dir;
}

describe('nli mode', () => {
  let nli: ZeroShotClassificationPipeline;
  before(async () => {
    nli = await pipeline('zero-shot-classification', join(ROOT, 'nli'), { threads: 1 });
  });
  after(async () => nli.dispose());

  test('equals transformers zero-shot-classification within 1e-4 (single- and multi-label, templates, one label, a comma-separated string, a truncated premise)', async () => {
    assert.equal(nli.mode, 'nli');
    assert.equal(nli.entailmentId, 2);
    assert.equal(nli.contradictionId, 0);
    for (const [k, c] of (E.nli.nli as NliCase[]).entries()) {
      const results = await nli(SEQUENCES, c.labels, { multi_label: c.multi_label, hypothesis_template: c.hypothesis_template });
      results.forEach((r, i) => assertLike(r, c.results[i]!, `case ${k}, sequence ${i}`));
    }
    // The last sequence is longer than the model reads: only the premise is cut.
    assert.equal(E.nli.longPairTokens, E.maxLength);
  });

  test('one text gives one result; runBatch, candidateLabels among the options and the batch size give the same', async () => {
    const c = E.nli.nli[0] as NliCase;
    const one = await nli(SEQUENCES[1]!, c.labels);
    assertLike(one, c.results[1]!, 'single');
    const viaOptions = await nli.runBatch(SEQUENCES, { candidateLabels: c.labels, batchSize: 1 });
    const viaArgument = await nli.runBatch(SEQUENCES, c.labels, { batchSize: 7 });
    assert.deepEqual(
      viaOptions.map((r) => r.labels),
      viaArgument.map((r) => r.labels),
    );
    viaOptions.forEach((r, i) => assertClose(r.scores, viaArgument[i]!.scores, 1e-6, `batch sizes ${i}`));
    assert.deepEqual(await nli([], c.labels), []);
  });

  test('the entailment id comes from the config: ENTAILMENT first, upper case', async () => {
    const upper = JSON.parse(await readFile(join(ROOT, 'nli-upper', 'config.json'), 'utf8'));
    const dir = await withConfig('upper', () => upper);
    const p = await pipeline('zero-shot-classification', dir, { threads: 1 });
    try {
      assert.equal(p.entailmentId, 0);
      assert.equal(p.contradictionId, 2);
      for (const [k, c] of (E.nli['nli-upper'] as NliCase[]).entries()) {
        const results = await p(SEQUENCES, c.labels, { multiLabel: c.multi_label, hypothesisTemplate: c.hypothesis_template });
        results.forEach((r, i) => assertLike(r, c.results[i]!, `upper case ${k}, sequence ${i}`));
      }
    } finally {
      await p.dispose();
    }
  });

  test('label ids: first "entail" and "contra" names in id order, else transformers\' fallback for the contradiction', () => {
    const config = (labels: string[]) => ({ id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])) }) as unknown as ModelConfig;
    assert.deepEqual(nliLabelIds(config(['neutral', 'Contradiction', 'Entailment']), 'x'), { entailment: 2, contradiction: 1 });
    assert.deepEqual(nliLabelIds(config(['entailment', 'not_entailment']), 'x'), { entailment: 0, contradiction: 1 });
    assert.deepEqual(nliLabelIds(config(['not_entailment', 'entailment']), 'x'), { entailment: 1, contradiction: 0 });
  });

  test('a classifier without an entailment label is refused at load time, naming its labels', async () => {
    const dir = await withConfig('no-entail', (c) => ({ ...c, id2label: { 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2' }, label2id: { LABEL_0: 0, LABEL_1: 1, LABEL_2: 2 } }));
    await assert.rejects(
      pipeline('zero-shot-classification', dir, { threads: 1 }),
      (e: PipelineError) => e.code === 'wrong_task' && /entailment label/.test(e.message) && /"LABEL_0", "LABEL_1", "LABEL_2"/.test(e.message),
    );
  });

  test('bad calls: no labels, a template without {}, cloze or embedding options, another mode, unknown options, empty texts', async () => {
    const code = (c: string, field?: string) => (e: PipelineError) => e.code === c && (field === undefined || e.field === field);
    await assert.rejects(nli('a game'), code('invalid_option', 'candidateLabels'));
    await assert.rejects(nli('a game', ' , '), code('invalid_option', 'candidateLabels'));
    await assert.rejects(nli('a game', ['sports'], { hypothesisTemplate: 'no slot' }), code('invalid_option', 'hypothesisTemplate'));
    await assert.rejects(nli('a game', ['sports'], { template: '{text} [MASK]' }), code('invalid_option', 'template'));
    await assert.rejects(nli('a game', ['sports'], { temperature: 1 }), code('invalid_option', 'temperature'));
    await assert.rejects(nli('a game', ['sports'], { mode: 'cloze' }), code('invalid_option', 'mode'));
    await assert.rejects(nli('a game', ['sports'], { multiLabel: 'yes' as never }), code('invalid_option', 'multiLabel'));
    await assert.rejects(nli('a game', ['sports'], { topK: 1 } as never), code('invalid_option', 'topK'));
    await assert.rejects(nli('a game', ['sports'], { candidateLabels: ['food'] }), code('invalid_option', 'candidateLabels'));
    await assert.rejects(nli(['a game', ' '], ['sports']), code('invalid_input', 'inputs[1]'));
    await assert.rejects(nli.runBatch('a game' as never, ['sports']), code('invalid_input', 'inputs'));
  });
});

describe('cloze mode', () => {
  let cloze: ZeroShotClassificationPipeline;
  before(async () => {
    cloze = await pipeline('zero-shot-classification', join(ROOT, 'mlm'), { threads: 1 });
  });
  after(async () => cloze.dispose());

  test("word probabilities equal transformers' fill-mask within 1e-5 (one mask per piece, geometric mean); label scores are their mean, normalised", async () => {
    assert.equal(cloze.mode, 'cloze');
    for (const [k, c] of E.cloze.entries()) {
      const texts: string[] = c.results.map((r: { text: string }) => r.text);
      const results = await cloze(texts, { template: c.template, verbalizer: c.verbalizer });
      results.forEach((r, i) => {
        const x = c.results[i];
        assert.equal(r.sequence, x.text);
        r.labels.forEach((label, j) => {
          const words = x.labels[label].words as { word: string; pieceProbabilities: number[]; score: number }[];
          for (const w of words) {
            const geometric = Math.exp(w.pieceProbabilities.reduce((s, p) => s + Math.log(p), 0) / w.pieceProbabilities.length);
            const got = r.word_scores![j]![w.word]!;
            assert.ok(Math.abs(got - geometric) <= 1e-5 && Math.abs(got / geometric - 1) < 1e-3, `case ${k} ${x.text} ${w.word}: ${got} vs ${geometric}`);
          }
          assert.ok(Math.abs(r.scores[j]! - x.normalized[label]) <= 1e-5, `case ${k} ${x.text} ${label}`);
        });
      });
    }
    // Multi-piece words were exercised: wonderful = wonder ##ful.
    assert.equal(E.cloze[1].results[0].labels.positive.words[0].pieces.length, 2);
  });

  test('the default prompt is the text and the hypothesis template with the mask in the label place; each label its own word', async () => {
    const c = E.cloze[2];
    const texts: string[] = c.results.map((r: { text: string }) => r.text);
    const results = await cloze(texts, Object.keys(c.verbalizer), { hypothesisTemplate: 'this example is {}.' });
    results.forEach((r, i) => r.labels.forEach((label, j) => assert.ok(Math.abs(r.scores[j]! - c.results[i].normalized[label]) <= 1e-5)));
    // The tokenizer's own mask token in the template works as {mask}.
    const literal = await cloze(texts[0]!, { template: '{text} this example is [MASK].', verbalizer: c.verbalizer });
    assertClose(literal.scores, results[0]!.scores, 1e-7, 'literal mask');
  });

  test('multiLabel keeps each label its mean word probability, unnormalised', async () => {
    const c = E.cloze[0];
    const r = await cloze(c.results[0].text, { template: c.template, verbalizer: c.verbalizer, multiLabel: true });
    r.labels.forEach((label, j) => assert.ok(Math.abs(r.scores[j]! - c.results[0].labels[label].score) <= 1e-6));
  });

  test('a text longer than the model reads is shortened so that the template and its mask stay', async () => {
    const long = Array.from({ length: 80 }, () => 'the movie was great').join(' ');
    const r = await cloze(long, { template: '{text} it was {mask}.', verbalizer: { positive: ['great', 'wonderful'], negative: 'awful' } });
    assert.equal(r.sequence, long);
    assert.ok(Math.abs(r.scores[0]! + r.scores[1]! - 1) < 1e-9);
    assert.ok(r.word_scores!.every((w) => Object.values(w).every((p) => p > 0 && p < 1)));
  });

  test('bad cloze calls: templates without {text} or a mask, missing or unknown words, a mask in the text, nli-only misuse', async () => {
    const code = (c: string, field?: string) => (e: PipelineError) => e.code === c && (field === undefined || e.field === field);
    const verbalizer = { positive: ['great'], negative: ['terrible'] };
    await assert.rejects(cloze('a movie', { template: 'it was {mask}.', verbalizer }), code('invalid_option', 'template'));
    await assert.rejects(cloze('a movie', { template: '{text} it was {mask} {mask}.', verbalizer }), code('invalid_option', 'template'));
    await assert.rejects(cloze('a movie', ['positive', 'neutral'], { template: '{text} it was {mask}.', verbalizer }), code('invalid_option', 'verbalizer'));
    await assert.rejects(cloze('a movie', { template: '{text} it was {mask}.', verbalizer: { positive: ['€'] } }), code('invalid_option', 'verbalizer.positive[0]'));
    await assert.rejects(cloze('a movie', { template: '{text} it was {mask}.', verbalizer: { positive: [] } }), code('invalid_option', 'verbalizer'));
    await assert.rejects(cloze('a [MASK] movie', { template: '{text} it was {mask}.', verbalizer }), code('invalid_input', 'inputs'));
    await assert.rejects(cloze('a movie', { template: '{text} it was {mask}.', hypothesisTemplate: 'it was {}', verbalizer }), code('invalid_option', 'hypothesisTemplate'));
    await assert.rejects(cloze('a movie', { verbalizer, temperature: 0.1 }), code('invalid_option', 'temperature'));
    await assert.rejects(cloze('a movie'), code('invalid_option', 'candidateLabels'));
  });

  test('mode nli on a masked LM, and cloze on a classifier, are refused with the modes that fit', async () => {
    await assert.rejects(
      pipeline('zero-shot-classification', join(ROOT, 'mlm'), { mode: 'nli', threads: 1 }),
      (e: PipelineError) => e.code === 'wrong_task' && /BertForMaskedLM/.test(e.message) && /mode: 'cloze'/.test(e.message),
    );
    await assert.rejects(
      pipeline('zero-shot-classification', join(ROOT, 'nli'), { mode: 'cloze', threads: 1 }),
      (e: PipelineError) => e.code === 'wrong_task' && /mode 'cloze'/.test(e.message),
    );
    await assert.rejects(
      pipeline('zero-shot-classification', join(ROOT, 'nli'), { mode: 'other' as never }),
      (e: PipelineError) => e.code === 'invalid_option' && e.field === 'mode',
    );
    await assert.rejects(pipeline('text-classification', join(ROOT, 'nli'), { mode: 'nli' } as never), (e: PipelineError) => e.code === 'invalid_option' && e.field === 'mode');
  });
});

describe('embedding mode', () => {
  let embed: ZeroShotClassificationPipeline;
  before(async () => {
    embed = await pipeline('zero-shot-classification', SENTENCE_BASE, { threads: 1 });
  });
  after(async () => embed.dispose());

  test("cosines equal sentence-transformers' and the feature-extraction pipeline's; scores are softmax(cosine / 0.05)", async () => {
    assert.equal(embed.mode, 'embedding');
    const x = E.embedding;
    const results = await embed(x.texts as string[], x.labels);
    const extractor = await pipeline('feature-extraction', SENTENCE_BASE, { threads: 1 });
    const texts = await extractor(x.texts as string[], { pooling: 'model' });
    const labels = await extractor(x.labels.map((l: string) => x.hypothesisTemplate.replace('{}', l)) as string[], { pooling: 'model' });
    await extractor.dispose();
    const norm = (v: number[]) => Math.sqrt(v.reduce((s, a) => s + a * a, 0));
    results.forEach((r, i) => {
      const order = r.labels.map((l) => x.labels.indexOf(l));
      assertClose(r.similarities!, order.map((j) => x.cosines[i][j]) as number[], 1e-5, `sentence-transformers cosines ${i}`);
      const mine = order.map((j) => texts[i]!.reduce((s, a, k) => s + a * labels[j]![k]!, 0) / (norm(texts[i]!) * norm(labels[j]!)));
      assertClose(r.similarities!, mine, 1e-6, `feature-extraction cosines ${i}`);
      const exp = r.similarities!.map((c) => Math.exp(c / 0.05));
      const sum = exp.reduce((s, a) => s + a, 0);
      assertClose(
        r.scores,
        exp.map((v) => v / sum),
        1e-9,
        `softmax ${i}`,
      );
      for (let k = 1; k < r.scores.length; k++) assert.ok(r.scores[k - 1]! >= r.scores[k]!);
    });
  });

  test('temperature, multiLabel (raw cosines) and a custom description template', async () => {
    const x = E.embedding;
    const warm = await embed(x.texts[0], x.labels, { temperature: 1 });
    const exp = warm.similarities!.map((c) => Math.exp(c));
    assertClose(
      warm.scores,
      exp.map((v) => v / exp.reduce((s, a) => s + a, 0)),
      1e-9,
      'temperature 1',
    );
    const multi = await embed(x.texts[0], x.labels, { multi_label: true });
    assert.deepEqual(multi.scores, multi.similarities);
    const other = await embed(x.texts[0], x.labels, { hypothesisTemplate: '{}' });
    assert.notDeepEqual(other.similarities, warm.similarities);
    await assert.rejects(embed(x.texts[0], x.labels, { temperature: 0 }), (e: PipelineError) => e.code === 'invalid_option' && e.field === 'temperature');
    await assert.rejects(embed(x.texts[0], x.labels, { verbalizer: { a: 'b' } }), (e: PipelineError) => e.code === 'invalid_option' && e.field === 'verbalizer');
  });

  test('a disposed pipeline refuses calls', async () => {
    const p = await pipeline('zero-shot-classification', SENTENCE_BASE, { threads: 1, mode: 'embedding' });
    await p.dispose();
    await assert.rejects(p('a', ['b']), (e: PipelineError) => e.code === 'disposed');
  });
});
