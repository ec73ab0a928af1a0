// tuna export of sentence-transformers models: the encoder graph also outputs `sentence_embedding`
// (pooling, Dense modules, Normalize as modules.json lists them), checked in ONNX Runtime against
// the feature-extraction pipeline's own embeddings (which equal sentence-transformers' encode).
import assert from 'node:assert/strict';
import { tempDirSync } from './helpers/temp.js';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { exportModel } from '../src/export/index.js';
import { pipeline } from '../src/pipelines/pipeline.js';
import { Session } from '../src/runtime/session.js';
import { hostTensor } from '../src/runtime/tensor.js';

const SENTENCE = new URL('./fixtures/sentence/', import.meta.url).pathname;
const TEXTS = ['the cat sat on the mat', 'how do i reset my password', 'a'];

/** A sentence-transformers fixture with the tiny base's weights and tokenizer. */
function fixtureModel(name: string, work: string): string {
  const dir = join(work, name);
  cpSync(join(SENTENCE, name), dir, { recursive: true });
  for (const f of ['model.safetensors', 'config.json', 'tokenizer.json', 'tokenizer_config.json']) cpSync(join(SENTENCE, 'base', f), join(dir, f));
  return dir;
}

test('a sentence-transformers export gives sentence_embedding equal to the pipeline, Dense and Normalize included', async () => {
  const work = tempDirSync('export-sentence');
  for (const name of ['base', 'dense', 'cls', 'no-prompt-pooling']) {
    const dir = name === 'base' ? join(SENTENCE, 'base') : fixtureModel(name, work);
    const out = join(work, `${name}-onnx`);
    const r = await exportModel({ model: dir, output: out });
    assert.deepEqual(r.outputs.at(-1), 'sentence_embedding', name);
    assert.equal(r.outputs[0], 'last_hidden_state', name);
    if (name === 'no-prompt-pooling') assert.match(r.warnings.join('\n'), /include_prompt is false/);

    const extractor = await pipeline('feature-extraction', dir, { threads: 1 });
    const session = await Session.create(readFileSync(join(out, 'onnx', 'model.onnx')), { threads: 1 });
    try {
      const want = await extractor(TEXTS, { pooling: 'model' });
      const encodings = TEXTS.map((t) => extractor.tokenizer.encode(t));
      const S = Math.max(...encodings.map((e) => e.inputIds.length));
      const feed = (pick: (e: (typeof encodings)[number]) => number[]) =>
        hostTensor(
          'int64',
          BigInt64Array.from(
            encodings.flatMap((e) => [...pick(e), ...Array<number>(S - pick(e).length).fill(0)]),
            (x) => BigInt(x),
          ),
          [TEXTS.length, S],
        );
      const got = await session.run({ input_ids: feed((e) => e.inputIds), attention_mask: feed((e) => e.attentionMask), token_type_ids: feed((e) => e.tokenTypeIds) });
      const emb = got.sentence_embedding!;
      const D = emb.dims[1] as number;
      assert.equal(D, want[0]!.length, `${name}: embedding size`);
      want.forEach((w, i) => {
        const row = Array.from((emb.data as Float32Array).subarray(i * D, (i + 1) * D));
        const diff = Math.max(...row.map((x, j) => Math.abs(x - w[j]!)));
        assert.ok(diff < 1e-5, `${name}, text ${i}: largest difference ${diff}`);
      });
    } finally {
      await Promise.all([extractor.dispose(), session.release()]);
    }
  }
});
