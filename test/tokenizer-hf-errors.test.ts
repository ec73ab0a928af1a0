/** HfTokenizer refuses what it cannot run, naming the file and the JSON path of the field. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TokenizerError, TokenizerFileError } from '../src/tokenizers/errors.js';
import { HfTokenizer } from '../src/tokenizers/hf/tokenizer.js';

const DIR = join(import.meta.dirname, 'fixtures', 'hf-tokenizers');
// biome-ignore lint/suspicious/noExplicitAny: the tests edit arbitrary tokenizer.json fields
const base = () => JSON.parse(readFileSync(join(DIR, 'split-sequence-bpe', 'tokenizer.json'), 'utf8')) as Record<string, any>;

function refuses(json: unknown, message: RegExp): void {
  assert.throws(
    () => HfTokenizer.fromJson(json, 'tokenizer.json'),
    (e: unknown) => {
      assert.ok(e instanceof TokenizerFileError, `expected a TokenizerFileError, got ${e}`);
      assert.equal(e.file, 'tokenizer.json');
      assert.match(e.message, message);
      return true;
    },
  );
}

describe('HfTokenizer errors', () => {
  it('refuses an unknown normalizer inside a Sequence by type and path', () => {
    const j = base();
    j.normalizer.normalizers[1] = { type: 'Foo' };
    refuses(j, /^tokenizer\.json: normalizer\.normalizers\[1\]\.type "Foo" is not supported; supported: NFC, NFD, NFKC, NFKD, Lowercase, .*Precompiled, Sequence$/);
  });

  it('refuses unknown pre-tokenizers, models, post-processors and decoders by name', () => {
    let j = base();
    j.pre_tokenizer.pretokenizers[2] = { type: 'UnicodeScripts' };
    refuses(j, /pre_tokenizer\.pretokenizers\[2\]\.type "UnicodeScripts" is not supported; supported: ByteLevel, Metaspace/);
    j = base();
    j.model.type = 'Chars';
    refuses(j, /model\.type "Chars" is not supported; supported: BPE, Unigram, WordPiece, WordLevel/);
    j = base();
    j.post_processor = { type: 'Sequence', processors: [{ type: 'Nope' }] };
    refuses(j, /post_processor\.processors\[0\]\.type "Nope" is not supported; supported: RobertaProcessing, BertProcessing, TemplateProcessing, ByteLevel, Sequence/);
    j = base();
    j.decoder = { type: 'CTC', pad_token: '<pad>' };
    refuses(j, /decoder\.type "CTC" is not supported; supported: ByteLevel, Metaspace, WordPiece, BPEDecoder/);
  });

  it('names bad fields: split behaviors, regexes, merges, charsmaps, added tokens', () => {
    let j = base();
    j.pre_tokenizer.pretokenizers[1].behavior = 'Sideways';
    refuses(j, /pre_tokenizer\.pretokenizers\[1\]\.behavior "Sideways" is not a split behavior/);
    j = base();
    j.normalizer.normalizers[1].pattern = { Regex: '(unclosed' };
    refuses(j, /normalizer\.normalizers\[1\]\.pattern\.Regex regex "\(unclosed" cannot be used/);
    j = base();
    j.model.merges[3] = 'zzz_not_a_token qqq';
    refuses(j, /model\.merges\[3\] merges "zzz_not_a_token qqq": "zzz_not_a_token" is not in the vocab/);
    j = base();
    j.normalizer = { type: 'Precompiled', precompiled_charsmap: 'AAAA' };
    refuses(j, /normalizer\.precompiled_charsmap is not a sentencepiece charsmap/);
    j = base();
    j.added_tokens[0].id = -1;
    refuses(j, /added_tokens\[0\]\.id must be a non-negative integer, got -1/);
    j = base();
    j.normalizer.normalizers[0] = 'NFC';
    refuses(j, /normalizer\.normalizers\[0\] must be an object, got "NFC"/);
  });

  it('needs a length to truncate and an unknown token to report ids it lacks', () => {
    const tok = HfTokenizer.fromJson(base(), 'tokenizer.json');
    assert.throws(
      () => tok.encode('hello', undefined, { truncation: true }),
      (e: unknown) => e instanceof TokenizerError && /needs a length/.test(e.message),
    );
    const gpt2 = HfTokenizer.fromJson(JSON.parse(readFileSync(join(DIR, 'gpt2-bpe-prefix', 'tokenizer.json'), 'utf8')), 'tokenizer.json');
    assert.throws(() => gpt2.clsTokenId, /no cls token/);
    assert.equal(gpt2.maskTokenId, undefined);
  });
});
