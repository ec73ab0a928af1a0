/** SentencePiece .model files loaded as transformers' converters load them. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HfTokenizer, type SentencePieceOptions } from '../src/tokenizers/hf/tokenizer.js';
import { parseSentencePieceModel, sentencePieceToTokenizerJson } from '../src/tokenizers/hf/sentencepiece.js';
import { TokenizerFileError } from '../src/tokenizers/errors.js';
import { checkFixture, loadFixture } from './tokenizer-hf-fixtures.test.js';

const CASES: { name: string; file: string; opts: SentencePieceOptions }[] = [
  { name: 'xlmr-unigram', file: 'sentencepiece.bpe.model', opts: { family: 'xlm-roberta' } },
  { name: 'albert-unigram', file: 'spiece.model', opts: { family: 'albert', doLowerCase: true, keepAccents: false } },
  { name: 'deberta-unigram', file: 'spm.model', opts: { family: 'deberta-v2', splitByPunct: true } },
  { name: 'spm-bpe-fallback', file: 'tokenizer.model', opts: { family: 'llama' } },
];

describe('SentencePiece .model files', () => {
  for (const c of CASES) {
    it(`${c.name}: ${c.file} converts to the tokenizer.json transformers writes and encodes the same`, () => {
      const { fixture, dir } = loadFixture(c.name);
      const bytes = new Uint8Array(readFileSync(join(dir, c.file)));
      const expectedJson = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
      const { json } = sentencePieceToTokenizerJson(parseSentencePieceModel(bytes, c.file), c.opts, c.file);
      const model = json.model as Record<string, unknown>;
      assert.deepEqual(model.vocab, expectedJson.model.vocab, 'vocab');
      if (expectedJson.model.merges) assert.deepEqual(model.merges, expectedJson.model.merges, 'merges');
      assert.deepEqual(json.normalizer, expectedJson.normalizer, 'normalizer');
      assert.deepEqual(json.added_tokens, expectedJson.added_tokens, 'added_tokens');
      const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
      const tok = HfTokenizer.fromSentencePiece(bytes, c.file, c.opts, config);
      checkFixture(tok, fixture);
    });
  }

  it('refuses a file that is not a ModelProto, naming it', () => {
    assert.throws(
      () => HfTokenizer.fromSentencePiece(new Uint8Array([0x0a, 0xff, 0xff]), 'bad.model', { family: 'xlm-roberta' }),
      (e: unknown) => e instanceof TokenizerFileError && /bad\.model: is not a SentencePiece model/.test(e.message),
    );
  });

  it('XLM-R ids follow fairseq: <s>=0, <pad>=1, </s>=2, <unk>=3, <mask> last', () => {
    const { dir } = loadFixture('xlmr-unigram');
    const tok = HfTokenizer.fromSentencePiece(new Uint8Array(readFileSync(join(dir, 'sentencepiece.bpe.model'))), 'm', { family: 'xlm-roberta' });
    assert.deepEqual([tok.clsTokenId, tok.padTokenId, tok.sepTokenId, tok.unkTokenId], [0, 1, 2, 3]);
    assert.equal(tok.maskTokenId, tok.vocabSize - 1);
  });
});
