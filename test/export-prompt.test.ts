// tuna export of a prompt-trained masked LM: one ONNX classifier that builds the prompts from the
// plain encoding of a text; transformers.js's text-classification pipeline on it gives tuna's
// prompt pipeline probabilities (several templates, a mask before the text, a word of two pieces,
// a text cut to fit, padded batches); templates that cannot be built in token space are refused.
import assert from 'node:assert/strict';
import { cp, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { env, pipeline as tjsPipeline } from '@huggingface/transformers';
import { exportModel } from '../src/export/index.js';
import { type PromptConfig, savePromptModel } from '../src/fewshot/prompt.js';
import { AutoModelForMaskedLM } from '../src/models/auto.js';
import { PreTrainedModel } from '../src/models/pretrained-model.js';
import { pipeline } from '../src/pipelines/index.js';
import { BUNDLED_EN, tempDir } from './helpers/pipeline-models.js';

// The bundled English masked LM: "awful" is two pieces in its vocabulary, so every template gets a
// prompt with two masks.
const MLM = BUNDLED_EN;
const CONFIG: PromptConfig = {
  templates: ['{text} it was [MASK].', '[MASK] : {text}'],
  labels: ['positive', 'negative', 'neutral'],
  verbalizer: { positive: ['wonderful', 'good'], negative: ['bad', 'awful'], neutral: ['fine'] },
};
const TEXTS = [
  'i love this movie',
  'a very bad story',
  'my team won the game',
  // Longer than the 128 positions once in a template: the text is cut so the prompt fits.
  Array.from({ length: 70 }, (_, i) => (i % 2 ? 'good movie' : 'bad story')).join(' '),
];

let model: PreTrainedModel;
let dir: string;

before(async () => {
  model = await AutoModelForMaskedLM.fromPretrained(MLM);
  dir = await tempDir('export-prompt');
});
after(() => model.dispose());

async function promptModel(name: string, config: PromptConfig): Promise<string> {
  const out = join(dir, name);
  await savePromptModel(out, model, undefined, config);
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'vocab.txt', 'special_tokens_map.json']) await cp(join(MLM, f), join(out, f));
  return out;
}

test('a prompt model exports as one classifier that transformers.js runs with tuna’s probabilities', async () => {
  const src = await promptModel('prompt', CONFIG);
  const onnx = join(dir, 'prompt-onnx');
  const exported = await exportModel({ model: src, output: onnx });
  assert.equal(exported.task, 'text-classification');
  assert.deepEqual(exported.inputs, ['input_ids', 'attention_mask']);
  assert.deepEqual(exported.outputs, ['logits']);
  assert.match(exported.architecture, /prompt head/);
  const config = JSON.parse(await readFile(join(onnx, 'config.json'), 'utf8'));
  assert.deepEqual(config.architectures, ['BertForSequenceClassification']);
  assert.deepEqual(config.id2label, { 0: 'positive', 1: 'negative', 2: 'neutral' });

  const mine = await pipeline('text-classification', src);
  const want = (await mine.runBatch(TEXTS, { topK: null })) as { label: string; score: number }[][];
  await mine.dispose();
  env.allowRemoteModels = false;
  env.localModelPath = dirname(onnx);
  // biome-ignore lint/suspicious/noExplicitAny: transformers.js pipelines are typed per task
  const theirs: any = await (tjsPipeline as any)('text-classification', basename(onnx), { dtype: 'fp32', local_files_only: true });
  const check = (got: { label: string; score: number }[], i: number) => {
    assert.equal(got.length, 3);
    for (const { label, score } of got) {
      const w = want[i]!.find((r) => r.label === label)!.score;
      assert.ok(Math.abs(score - w) < 1e-5, `${TEXTS[i]!.slice(0, 30)} ${label}: transformers.js ${score}, tuna ${w}`);
    }
  };
  for (const [i, text] of TEXTS.entries()) check(await theirs(text, { top_k: 3 }), i);
  // One padded batch of every text.
  const batch: { label: string; score: number }[][] = await theirs(TEXTS, { top_k: 3 });
  batch.forEach(check);
  await theirs.dispose();
  // The probabilities differ between texts (the prompts reach the model).
  assert.notEqual(want[0]![0]!.score, want[1]![0]!.score);
});

test('prompts that cannot be built around the text’s tokens are refused, naming prompt_config.json', async () => {
  const pair = await promptModel('pair', { ...CONFIG, templates: ['{text} ? [MASK] , {text_pair}'] });
  await assert.rejects(
    () => exportModel({ model: pair, output: join(dir, 'pair-onnx') }),
    (e: Error) => /prompt_config\.json: template "\{text\} \? \[MASK\] , \{text_pair\}" has \{text_pair\}; prompts over text pairs are not exported/.test(e.message),
  );
  // "movie{text}" glues the text's first word to "movie": not the text's own tokens.
  const glued = await promptModel('glued', { ...CONFIG, templates: ['movie{text} it was [MASK].'] });
  await assert.rejects(
    () => exportModel({ model: glued, output: join(dir, 'glued-onnx') }),
    (e: Error) => /cannot be exported as fixed tokens around the text's tokens .*with a WordPiece tokenizer put spaces or punctuation around \{text\}/.test(e.message),
  );
  // --task text-classification is the prompt classifier too; the masked LM itself still exports for fill-mask.
  const asClassifier = await exportModel({ model: await promptModel('again', CONFIG), output: join(dir, 'again-onnx'), task: 'text-classification' });
  assert.deepEqual([asClassifier.task, asClassifier.outputs], ['text-classification', ['logits']]);
  const mlm = await exportModel({ model: pair, output: join(dir, 'mlm-onnx'), task: 'fill-mask' });
  assert.deepEqual(mlm.outputs, ['logits']);
  assert.equal(mlm.task, 'fill-mask');
});

test('a RoBERTa prompt model (byte-level BPE) exports too; text after a space in its template is refused', async () => {
  const TOK = join(import.meta.dirname, 'fixtures', 'hf-tokenizers', 'roberta-bpe');
  const roberta = PreTrainedModel.fromConfig({
    model_type: 'roberta',
    architectures: ['RobertaForMaskedLM'],
    vocab_size: 902,
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 48,
    max_position_embeddings: 66,
    type_vocab_size: 1,
    pad_token_id: 1,
  } as never);
  const save = async (name: string, templates: string[]) => {
    const out = join(dir, name);
    await savePromptModel(out, roberta, undefined, { templates, labels: ['pos', 'neg'], verbalizer: { pos: ['good', 'great'], neg: ['bad'] } });
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) await cp(join(TOK, f), join(out, f));
    return out;
  };
  const src = await save('roberta', ['{text} It was <mask>.', '{text}! <mask>']);
  const onnx = join(dir, 'roberta-onnx');
  await exportModel({ model: src, output: onnx });
  // Longer than the 64 positions: cut to fit.
  const texts = ['the cat sat on the mat', 'Hello world, this is it!', Array.from({ length: 40 }, () => 'long words here').join(' ')];
  const mine = await pipeline('text-classification', src);
  const want = (await mine.runBatch(texts, { topK: null })) as { label: string; score: number }[][];
  await mine.dispose();
  env.allowRemoteModels = false;
  env.localModelPath = dirname(onnx);
  // biome-ignore lint/suspicious/noExplicitAny: transformers.js pipelines are typed per task
  const theirs: any = await (tjsPipeline as any)('text-classification', basename(onnx), { dtype: 'fp32', local_files_only: true });
  const got: { label: string; score: number }[][] = await theirs(texts, { top_k: 2 });
  await theirs.dispose();
  got.forEach((row, i) => {
    for (const { label, score } of row) assert.ok(Math.abs(score - want[i]!.find((w) => w.label === label)!.score) < 1e-5, `${texts[i]!.slice(0, 20)} ${label}`);
  });
  const spaced = await save('roberta-spaced', ['Review: {text} <mask>!']);
  await assert.rejects(
    () => exportModel({ model: spaced, output: join(dir, 'roberta-spaced-onnx') }),
    /with a byte-level BPE tokenizer \(which marks a word after a space\) start the template with \{text\}/,
  );
});
