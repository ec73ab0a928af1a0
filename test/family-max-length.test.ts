// A family whose position ids start after the padding index (RoBERTa: pad_token_id + 1) covers
// fewer tokens than max_position_embeddings: pipelines and training use that length, and a longer
// one is refused by name before ONNX Runtime would index past the table.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PreTrainedModel } from '../src/models/pretrained-model.js';
import { pipeline } from '../src/pipelines/index.js';
import { wordVocab } from './helpers/family-cli.js';
import { tempDir } from './helpers/pipeline-models.js';

const fixture = new URL('./fixtures/roberta/RobertaForSequenceClassification/', import.meta.url).pathname;
const work = await tempDir('tuna-max-length-');
after(() => rm(work, { recursive: true, force: true }));
const dir = join(work, 'roberta');
await cp(fixture, dir, { recursive: true });
await writeFile(join(dir, 'vocab.txt'), `${wordVocab(64).join('\n')}\n`);

test('RoBERTa with 24 positions and padding index 1 reads at most 22 tokens', async () => {
  const model = await PreTrainedModel.fromPretrained(dir);
  assert.equal(model.config.max_position_embeddings, 24);
  assert.equal(model.maxSequenceLength, 22);
  const classifier = await pipeline('text-classification', dir, { threads: 1 });
  assert.equal(classifier.maxLength, 22);
  const long = Array.from({ length: 60 }, (_, i) => `w${5 + (i % 50)}`).join(' ');
  const [result] = await classifier([long]);
  assert.ok(Number.isFinite(result!.score));
  await classifier.dispose();
  await assert.rejects(pipeline('text-classification', dir, { threads: 1, maxLength: 24 }), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'invalid_option');
    assert.match(e.message, /maxLength must be an integer from 3 to 22 \(the most tokens the model's position embeddings cover\), got 24/);
    return true;
  });
});
