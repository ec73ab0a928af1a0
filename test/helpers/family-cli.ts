// An end-to-end run of a WordPiece checkpoint of any family through the command line: `tuna train`
// a few steps and `tuna predict` on a tiny data file, and `tuna serve` answering as the pipeline does.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../src/cli/main.js';
import { startServer } from '../../src/index.js';
import { pipeline } from '../../src/pipelines/index.js';
import { post } from './serve.js';

export const LABELS = ['negative', 'neutral', 'positive'];
/** `vocabSize` ids: BERT's special tokens, then words w5, w6, ... */
export const wordVocab = (vocabSize: number) => ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...Array.from({ length: vocabSize - 5 }, (_, i) => `w${i + 5}`)];
export const TEXTS = ['w5 w17 w33', 'w40 w41', 'w12 w13 w14 w15 w16', 'w60 w6 w7 w40'];

async function cli(args: string[]): Promise<string> {
  let stdout = '';
  let stderr = '';
  const code = await run(args, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) });
  assert.equal(code, 0, stderr);
  return stdout;
}

/**
 * Copies the sequence-classification checkpoint `fixture` into `work` with a WordPiece vocabulary of
 * `vocabSize` words, trains it 3 steps with `tuna train`, predicts with `tuna predict` and serves it;
 * returns the trained checkpoint's config.json.
 */
export async function trainPredictServe(fixture: string, work: string, vocabSize: number, maxLength: number): Promise<Record<string, unknown>> {
  const ckpt = join(work, 'ckpt');
  mkdirSync(ckpt, { recursive: true });
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(fixture, f), join(ckpt, f));
  writeFileSync(join(ckpt, 'vocab.txt'), `${wordVocab(vocabSize).join('\n')}\n`);
  writeFileSync(join(ckpt, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: true, model_max_length: maxLength }));
  const data = join(work, 'train.jsonl');
  writeFileSync(data, `${Array.from({ length: 12 }, (_, i) => JSON.stringify({ text: TEXTS[i % TEXTS.length], label: LABELS[i % 3] })).join('\n')}\n`);
  const out = join(work, 'trained');
  await cli([
    'train',
    '--task',
    'text-classification',
    '--model',
    ckpt,
    '--train',
    data,
    '--output',
    out,
    '--max-steps',
    '3',
    '--batch-size',
    '4',
    '--eval-strategy',
    'no',
    '--save-strategy',
    'no',
    '--progress',
    'none',
    '--seed',
    '1',
    '--max-length',
    String(maxLength),
  ]);
  const input = join(work, 'texts.txt');
  writeFileSync(input, `${TEXTS.join('\n')}\n`);
  const lines = (await cli(['predict', '--model', out, '--input', input, '--json']))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(lines.length, TEXTS.length);
  const direct = await pipeline('text-classification', out, { threads: 1 });
  try {
    const want = (await direct.runBatch(TEXTS)) as { label: string; score: number }[][];
    lines.forEach((l, i) => {
      assert.equal(l.label, want[i]![0]!.label);
      assert.equal(l.logits.length, LABELS.length);
    });
    const server = await startServer({ models: [`m=${out}`], port: 0, threads: 1 });
    try {
      const r = await post(server.address!, '/v1/classify', { inputs: TEXTS });
      assert.equal(r.status, 200);
      r.body.forEach((res: { label: string; score: number }[], i: number) => {
        assert.equal(res[0]!.label, want[i]![0]!.label);
        assert.ok(Math.abs(res[0]!.score - want[i]![0]!.score) < 1e-5);
      });
    } finally {
      await server.close();
    }
  } finally {
    await direct.dispose();
  }
  return JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
}
