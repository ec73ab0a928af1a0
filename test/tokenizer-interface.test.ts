// One tokenizer surface for models, pipelines and the Trainer: an HfTokenizer (byte-level BPE here)
// saves itself as a Hugging Face fast tokenizer does, and loads back to the same encodings.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadHfTokenizer } from '../src/tokenizers/hf/load.js';
import type { Tokenizer } from '../src/tokenizers/types.js';
import { tempDir } from './helpers/pipeline-models.js';

const fixture = new URL('./fixtures/hf-tokenizers/roberta-bpe/', import.meta.url).pathname;
const work = await tempDir('tuna-tokenizer-interface-');
after(() => rm(work, { recursive: true, force: true }));

test('an HfTokenizer saves tokenizer.json and tokenizer_config.json (with its length) and loads back the same', async () => {
  const tok: Tokenizer = await loadHfTokenizer(fixture);
  tok.modelMaxLength = 24;
  await tok.save(join(work, 'saved'));
  const config = JSON.parse(await readFile(join(work, 'saved', 'tokenizer_config.json'), 'utf8')) as { model_max_length: number };
  assert.equal(config.model_max_length, 24);
  const back: Tokenizer = await loadHfTokenizer(join(work, 'saved'));
  const text = 'Hello, wörld! A longer sentence with émojis 🙂 and   spaces.';
  assert.deepEqual(back.encode(text, 'and a pair'), tok.encode(text, 'and a pair'));
  assert.equal(back.modelMaxLength, 24);
  assert.equal(back.encode(text.repeat(10), undefined, { truncation: true }).inputIds.length, 24);
});

test('byte-level tokens join back into the text they cover (what token classification shows as the entity word)', async () => {
  const tok: Tokenizer = await loadHfTokenizer(fixture);
  assert.equal(tok.options.continuingSubwordPrefix, '');
  const enc = tok.encode('Hello wörld', undefined, { addSpecialTokens: false });
  assert.equal(tok.convertTokensToString?.(enc.tokens).trim(), 'Hello wörld');
});
