/** HfTokenizer's public members: what pipelines use on a BertTokenizer, batches, padding, decoding. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BertTokenizer } from '../src/tokenizers/bert-tokenizer.js';
import type { HfTokenizer } from '../src/tokenizers/hf/tokenizer.js';
import { loadFixture } from './tokenizer-hf-fixtures.test.js';

/** The BertTokenizer members pipelines call, which HfTokenizer has with the same types. */
type PipelineMembers = Pick<
  BertTokenizer,
  | 'encode'
  | 'encodeWords'
  | 'encodeBatch'
  | 'decode'
  | 'decodeBatch'
  | 'tokenize'
  | 'tokenToId'
  | 'idToToken'
  | 'getVocab'
  | 'vocabSize'
  | 'modelMaxLength'
  | 'addedTokens'
  | 'specialTokenIds'
  | 'clsTokenId'
  | 'sepTokenId'
  | 'padTokenId'
  | 'unkTokenId'
  | 'maskTokenId'
>;
type OptionMembers = Pick<BertTokenizer['options'], 'maskToken' | 'continuingSubwordPrefix' | 'decoderCleanup' | 'cleanUpTokenizationSpaces' | 'paddingSide' | 'truncationSide'>;
// Compile-time checks: these assignments fail to type-check if HfTokenizer drifts from BertTokenizer.
const asPipelineTokenizer = (t: HfTokenizer): PipelineMembers => t;
const asOptions = (t: HfTokenizer): Omit<OptionMembers, 'maskToken'> & { maskToken: string | undefined } => t.options;

describe('HfTokenizer API', () => {
  it('has the special tokens and settings of tokenizer_config.json', () => {
    const { tok, fixture } = loadFixture('roberta-bpe');
    const p = asPipelineTokenizer(tok);
    assert.deepEqual([p.clsTokenId, p.padTokenId, p.sepTokenId, p.unkTokenId, p.maskTokenId], [0, 1, 2, 3, 4]);
    assert.equal(p.modelMaxLength, 512);
    assert.equal(asOptions(tok).maskToken, '<mask>');
    assert.equal(tok.options.continuingSubwordPrefix, '');
    assert.deepEqual(p.specialTokenIds, [0, 1, 2, 3, 4]);
    assert.equal(p.idToToken(p.tokenToId('<mask>')!), '<mask>');
    assert.equal(p.getVocab().get('<pad>'), 1);
    assert.equal(p.vocabSize, fixture.vocabSize);
    tok.modelMaxLength = 16;
    assert.equal(tok.encode('word '.repeat(40), undefined, { truncation: true }).inputIds.length, 16);
    assert.throws(() => {
      tok.modelMaxLength = 0;
    }, /positive integer/);
  });

  it('WordPiece settings reach options (for token-classification aggregation)', () => {
    const { tok } = loadFixture('wordpiece-cased');
    assert.equal(tok.options.continuingSubwordPrefix, '##');
    assert.equal(tok.options.decoderCleanup, true);
    assert.equal(tok.options.clsToken, '[CLS]');
  });

  it('batches pad to the longest, to max_length, or to a multiple; pairs are tuples', () => {
    const { tok } = loadFixture('xlmr-unigram');
    const batch = tok.encodeBatch(['Hello world!', ['Café', 'naïve résumé']]);
    assert.equal(batch[0]!.inputIds.length, batch[1]!.inputIds.length);
    const short = batch[0]!;
    const n = short.attentionMask.filter((x) => x === 1).length;
    assert.deepEqual(short.inputIds.slice(n), new Array(short.inputIds.length - n).fill(tok.padTokenId));
    assert.deepEqual(short.specialTokensMask.slice(n), new Array(short.inputIds.length - n).fill(1));
    assert.equal(tok.encodeBatch(['a', 'b c'], { padding: 'max_length', maxLength: 12 })[1]!.inputIds.length, 12);
    assert.equal(tok.encodeBatch(['Hello world!'], { padToMultipleOf: 8 })[0]!.inputIds.length % 8, 0);
    const parallel = tok.encodeBatch(['Hello world!', 'Café'], ['a pair', 'naïve résumé'], { padding: false });
    assert.deepEqual(parallel[1], tok.encode('Café', 'naïve résumé'));
    assert.throws(() => tok.encodeBatch(['a'], ['b', 'c']), /1 texts but 2 pairs/);
    const ragged = tok.encodeBatch(['a', 'b c d e'], { padding: false });
    assert.ok(ragged[0]!.inputIds.length < ragged[1]!.inputIds.length);
    const left = tok.encode('Hello', undefined, { padding: 'max_length', maxLength: 8, paddingSide: 'left' });
    assert.equal(left.inputIds[0], tok.padTokenId);
    assert.equal(left.inputIds[7], tok.sepTokenId);
  });

  it('the XLM-R mask token swallows the space before it and keeps its offsets', () => {
    const { tok } = loadFixture('xlmr-unigram');
    const enc = tok.encode('Hello <mask>!');
    const at = enc.inputIds.indexOf(tok.maskTokenId!);
    assert.ok(at > 0);
    assert.deepEqual(enc.offsets[at], [5, 12]);
    assert.equal(enc.specialTokensMask[at], 0);
  });

  it('decodes bigint ids, skips special tokens, cleans up spaces on request', () => {
    const { tok } = loadFixture('wordpiece-cased');
    const enc = tok.encode("Hello , world ! Don't");
    const ids = enc.inputIds.map((x) => BigInt(x));
    assert.match(tok.decode(ids), /^\[CLS\] /);
    const plain = tok.decode(ids, { skipSpecialTokens: true });
    assert.doesNotMatch(plain, /\[CLS\]|\[SEP\]/);
    assert.deepEqual(tok.decodeBatch([enc.inputIds], { skipSpecialTokens: true }), [plain]);
    assert.equal(tok.decode([999_999]), '');
    const { tok: roberta } = loadFixture('roberta-bpe');
    const words = roberta.encode('Hello wonderful world', undefined, { addSpecialTokens: false }).tokens;
    assert.equal(roberta.convertTokensToString(words), 'Hello wonderful world');
  });

  it('encodeWords gives word ids of the given words and offsets within each word', () => {
    const { tok } = loadFixture('albert-unigram');
    const enc = tok.encodeWords(['Hello', 'wonderful', 'world'], { maxLength: 6, truncation: true });
    assert.equal(enc.inputIds.length, 6);
    assert.deepEqual(
      enc.wordIds.filter((w) => w !== null),
      [...enc.wordIds.filter((w) => w !== null)].sort(),
    );
    assert.equal(enc.wordIds[1], 0);
  });
});
