/** Loading HfTokenizers from checkpoint directories. */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { TokenizerFileError } from '../src/tokenizers/errors.js';
import { loadHfTokenizer } from '../src/tokenizers/hf/load.js';
import { checkFixture, loadFixture } from './tokenizer-hf-fixtures.test.js';

const tmp = mkdtempSync(join(tmpdir(), 'tuna-hf-load-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('loadHfTokenizer', () => {
  it('reads tokenizer.json with tokenizer_config.json', async () => {
    const { dir, fixture } = loadFixture('roberta-bpe');
    const tok = await loadHfTokenizer(dir);
    assert.equal(tok.maskTokenId, 4);
    checkFixture(tok, fixture);
  });

  it('without tokenizer.json, converts the SentencePiece model for the tokenizer class', async () => {
    for (const name of ['xlmr-unigram', 'albert-unigram', 'deberta-unigram']) {
      const { dir, fixture } = loadFixture(name);
      const copy = join(tmp, name);
      rmSync(copy, { recursive: true, force: true });
      mkdirSync(copy);
      for (const f of readdirSync(dir)) if (f !== 'tokenizer.json' && f !== 'expected.json') copyFileSync(join(dir, f), join(copy, f));
      checkFixture(await loadHfTokenizer(copy), fixture);
    }
  });

  it('names the directory when there is nothing to load, and the file when JSON is broken', async () => {
    const empty = join(tmp, 'empty');
    mkdirSync(empty, { recursive: true });
    await assert.rejects(loadHfTokenizer(empty), (e: unknown) => e instanceof TokenizerFileError && e.message.includes('has neither tokenizer.json nor a SentencePiece model'));
    writeFileSync(join(empty, 'tokenizer.json'), '{"model": ');
    await assert.rejects(loadHfTokenizer(empty), (e: unknown) => e instanceof TokenizerFileError && /tokenizer\.json: is not valid JSON/.test(e.message));
  });
});
