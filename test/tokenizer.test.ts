import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { BertTokenizer, TokenizerError, TruncationError, type Encoding } from '../src/tokenizers/bert-tokenizer.js';

// Expected encodings come from @huggingface/tokenizers (transformers.js's tokenizer library), an
// implementation independent of tuna: tools/make-tokenizer-fixtures.mjs.
const dirOf = (name: string) => fileURLToPath(new URL(`./fixtures/tokenizer/${name}/`, import.meta.url));

interface Case {
  text: string;
  pair?: string;
  input_ids: number[];
  token_type_ids: number[];
  attention_mask: number[];
  tokens: string[];
  decoded?: string;
  decoded_skip_special?: string;
}
interface TruncationCase {
  text: string;
  pair?: string;
  max_length: number;
  strategy: 'longest_first' | 'only_first' | 'only_second';
  side: 'left' | 'right';
  error?: boolean;
  input_ids?: number[];
  token_type_ids?: number[];
  tokens?: string[];
}
interface Fixture {
  cases: Case[];
  plain: Case[];
  truncation: TruncationCase[];
}
const fixture = async (name: string) => JSON.parse(await readFile(join(dirOf(name), 'expected.json'), 'utf8')) as Fixture;
const readText = async (name: string, file: string) => readFile(join(dirOf(name), file), 'utf8');

/** Three ways to the same tokenizer: the directory (tokenizer.json wins), vocab.txt + side files only, tokenizer.json alone. */
async function loadings(name: string): Promise<[string, BertTokenizer][]> {
  const files = {
    'vocab.txt': await readText(name, 'vocab.txt'),
    'tokenizer_config.json': await readText(name, 'tokenizer_config.json'),
    'special_tokens_map.json': await readText(name, 'special_tokens_map.json'),
    ...(name === 'cased' ? { 'added_tokens.json': await readText(name, 'added_tokens.json') } : {}),
  };
  const json = JSON.parse(await readText(name, 'tokenizer.json'));
  return [
    ['directory', await BertTokenizer.fromDirectory(dirOf(name))],
    ['vocab.txt files', BertTokenizer.fromFiles(files, name)],
    ['tokenizer.json', BertTokenizer.fromTokenizerJson(json, { modelMaxLength: 64 })],
  ];
}

/** Token strings as the reference reports them: the content for added tokens (Rust keeps lstrip/rstrip spaces). */
const tokensOf = (tok: BertTokenizer, e: Encoding) => e.tokens.map((t, i) => (tok.addedTokens.some((a) => a.id === e.inputIds[i]) ? tok.idToToken(e.inputIds[i]!)! : t));
const show = (c: { text: string; pair?: string }) => JSON.stringify(c.pair === undefined ? c.text : [c.text, c.pair]);

for (const name of ['uncased', 'cased']) {
  test(`${name}: encodings equal the reference on the fixture corpus, with and without special tokens`, async () => {
    const fx = await fixture(name);
    assert.ok(fx.cases.length >= 40);
    for (const [how, tok] of await loadings(name)) {
      for (const [cases, addSpecialTokens] of [
        [fx.cases, true],
        [fx.plain, false],
      ] as const) {
        for (const c of cases) {
          const e = tok.encode(c.text, c.pair, { addSpecialTokens });
          const where = `${how}, ${show(c)}, special tokens ${addSpecialTokens}: got ${e.tokens.join(' ')}`;
          assert.deepEqual(e.inputIds, c.input_ids, where);
          assert.deepEqual(e.tokenTypeIds, c.token_type_ids, where);
          assert.deepEqual(e.attentionMask, c.attention_mask, where);
          assert.deepEqual(tokensOf(tok, e), c.tokens, where);
          if (!addSpecialTokens && c.pair === undefined)
            assert.deepEqual(
              tok.tokenize(c.text).map((t) => t.trim()),
              c.tokens,
              where,
            );
        }
      }
    }
  });

  test(`${name}: decode equals the reference, with and without special tokens`, async () => {
    const fx = await fixture(name);
    const tok = await BertTokenizer.fromDirectory(dirOf(name));
    for (const c of [...fx.cases, ...fx.plain]) {
      if (c.decoded === undefined) continue;
      assert.equal(tok.decode(c.input_ids), c.decoded, show(c));
      assert.equal(tok.decode(c.input_ids, { skipSpecialTokens: true }), c.decoded_skip_special, show(c));
    }
  });

  test(`${name}: truncation follows Hugging Face's fast tokenizer for every strategy and side`, async () => {
    const fx = await fixture(name);
    assert.ok(fx.truncation.some((c) => c.error) && fx.truncation.some((c) => c.side === 'left'));
    for (const [how, tok] of await loadings(name)) {
      for (const c of fx.truncation) {
        const run = () => tok.encode(c.text, c.pair, { maxLength: c.max_length, truncation: c.strategy, truncationSide: c.side });
        const where = `${how}, ${show(c)} ${c.strategy} ${c.side} ${c.max_length}`;
        if (c.error) {
          assert.throws(run, TruncationError, where);
          continue;
        }
        const e = run();
        assert.deepEqual(e.inputIds, c.input_ids, `${where}: got ${e.tokens.join(' ')}`);
        assert.deepEqual(e.tokenTypeIds, c.token_type_ids, where);
        assert.deepEqual(e.tokens, c.tokens, where);
        assert.ok(e.inputIds.length <= c.max_length);
      }
    }
  });
}

test('special-token ids come from the vocabulary', async () => {
  const cased = await BertTokenizer.fromDirectory(dirOf('cased'));
  assert.deepEqual([cased.padTokenId, cased.unkTokenId, cased.clsTokenId, cased.sepTokenId, cased.maskTokenId], [0, 100, 101, 102, 103]);
  const uncased = await BertTokenizer.fromDirectory(dirOf('uncased'));
  assert.deepEqual([uncased.padTokenId, uncased.unkTokenId, uncased.clsTokenId, uncased.sepTokenId, uncased.maskTokenId], [0, 1, 2, 3, 4]);
  const tok = new BertTokenizer(['hello', 'world', '[MASK]', '[SEP]', '[UNK]', '[PAD]', '[CLS]']);
  const e = tok.encode('Hello world', 'hello', { maxLength: 9, padding: 'max_length' });
  assert.deepEqual(e.inputIds, [6, 0, 1, 3, 0, 3, 5, 5, 5]);
  assert.deepEqual(e.tokenTypeIds, [0, 0, 0, 0, 1, 1, 0, 0, 0]);
  assert.deepEqual(e.specialTokensMask, [1, 0, 0, 1, 0, 1, 1, 1, 1]);
  assert.deepEqual(e.sequenceIds, [null, 0, 0, null, 1, null, null, null, null]);
  assert.deepEqual(tok.specialTokenIds, [2, 3, 4, 5, 6]);
  assert.equal(tok.vocabSize, 7);
});

test('a vocabulary without [MASK] gets it as a new id, as Hugging Face adds missing special tokens', () => {
  const tok = new BertTokenizer(['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'a']);
  assert.equal(tok.maskTokenId, 5);
  assert.equal(tok.vocabSize, 6);
  assert.deepEqual(tok.encode('a [MASK]').inputIds, [2, 4, 5, 3]);
});

test('cased mode does not NFC-normalise: composed and decomposed accents tokenise differently (fast tokenizer)', async () => {
  const tok = await BertTokenizer.fromDirectory(dirOf('cased'));
  const composed = tok.encode('\u00e9cole', undefined, { addSpecialTokens: false });
  const decomposed = tok.encode('e\u0301cole', undefined, { addSpecialTokens: false });
  assert.deepEqual(composed.tokens, ['école']);
  // The Python BertTokenizer would NFC-normalise this into 'école'; BertTokenizerFast does not.
  assert.deepEqual(decomposed.tokens, ['[UNK]']);
  assert.deepEqual(decomposed.offsets, [[0, 6]]);
  // Uncased mode decomposes and strips accents anyway, so both forms agree there.
  const uncased = await BertTokenizer.fromDirectory(dirOf('uncased'));
  assert.deepEqual(uncased.tokenize('\u00e9cole'), uncased.tokenize('e\u0301cole'));
  assert.deepEqual(uncased.tokenize('e\u0301cole'), ['e', '##c', '##o', '##l', '##e']);
});

test('where the reference departs from the Rust tokenizer, tuna follows Rust', async () => {
  const cased = await BertTokenizer.fromDirectory(dirOf('cased'));
  const uncased = await BertTokenizer.fromDirectory(dirOf('uncased'));
  // Final sigma: Rust lower-cases char by char, so a word-final Σ becomes σ, never ς.
  const sigma = new BertTokenizer(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'οδοσ', 'οδος']);
  assert.deepEqual(sigma.tokenize('ΟΔΟΣ'), ['οδοσ']);
  // CJK ideographs beyond U+FFFF are isolated too (U+20000 is in CJK Extension B).
  const ext = new BertTokenizer(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', '\u{20000}', '\u{20001}']);
  assert.deepEqual(ext.tokenize('a\u{20000}\u{20001}a'), ['a', '\u{20000}', '\u{20001}', 'a']);
  // U+2B820..U+2B91F are outside the Rust ranges (the Python list includes them).
  assert.deepEqual(ext.tokenize('\u{2B820}\u{2B820}'), ['[UNK]']);
  // An empty second text still makes a pair.
  assert.deepEqual(uncased.encode('only first', '').tokens.slice(-2), ['[SEP]', '[SEP]']);
  assert.deepEqual(uncased.encode('only first', '').tokenTypeIds.at(-1), 1);
  // lstrip/rstrip added tokens swallow the surrounding spaces, which stay in the token's span.
  const lr = cased.encode('x [LR] y', undefined, { addSpecialTokens: false });
  assert.deepEqual(lr.tokens, ['x', ' [LR] ', 'y']);
  assert.deepEqual(lr.offsets, [
    [0, 1],
    [1, 7],
    [7, 8],
  ]);
  // single_word tokens only match outside words.
  const sw = new BertTokenizer(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', '##a', 'b', '<', '>', 'm'], {
    addedTokens: [{ content: '<m>', singleWord: true }],
  });
  const m = sw.tokenToId('<m>')!;
  assert.deepEqual(sw.encode('<m> a<m> <m>b <m>', undefined, { addSpecialTokens: false }).inputIds, [m, 5, 8, 10, 9, 8, 10, 9, 7, m]);
});

test('added tokens: special or not, raw or normalised, beyond the vocabulary', async () => {
  const tok = await BertTokenizer.fromDirectory(dirOf('cased'));
  const vocabLength = (await readText('cased', 'vocab.txt')).split('\n').length - 1;
  const [ent, tuna, ny, lr] = ['[ENT]', '<tuna>', 'new york', '[LR]'].map((t) => tok.tokenToId(t)!);
  assert.deepEqual([ent, tuna, ny, lr], [vocabLength, vocabLength + 1, vocabLength + 2, vocabLength + 3]);
  assert.equal(tok.vocabSize, vocabLength + 4);
  assert.ok(tok.specialTokenIds.includes(ent!) && !tok.specialTokenIds.includes(tuna!));
  const e = tok.encode('I like new york and new\tyork, not New York', undefined, { addSpecialTokens: false });
  assert.deepEqual(e.tokens.slice(2, 6), ['new york', 'and', 'new york', ',']);
  assert.deepEqual(e.offsets[4], [20, 28]);
  assert.equal(tok.decode(tok.encode('[ENT] <tuna> x').inputIds, { skipSpecialTokens: true }), '<tuna> x');
});

test('WordPiece: greedy longest match, ## continuations, [UNK] for unmatched pieces and long words', () => {
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'un', 'una', '##ff', '##aff', '##able', '##a', '##b', 'b', 'x'];
  const tok = new BertTokenizer(vocab);
  assert.deepEqual(tok.tokenize('unaffable'), ['una', '##ff', '##able']);
  assert.deepEqual(tok.tokenize('unaffablex'), ['[UNK]']);
  assert.deepEqual(tok.tokenize('b'.repeat(100)), ['b', ...Array(99).fill('##b')]);
  assert.deepEqual(tok.tokenize('b'.repeat(101) + ' x'), ['[UNK]', 'x']);
  const short = new BertTokenizer(vocab, { maxInputCharsPerWord: 3 });
  assert.deepEqual(short.tokenize('bbb bbbb'), ['b', '##b', '##b', '[UNK]']);
  // Characters beyond U+FFFF count once.
  const emoji = new BertTokenizer([...vocab, '🙂', '##🙂'], { maxInputCharsPerWord: 3 });
  assert.deepEqual(emoji.tokenize('🙂🙂🙂 🙂🙂🙂🙂'), ['🙂', '##🙂', '##🙂', '[UNK]']);
});

test('normalisation options: lowercase, strip_accents apart from lowercase, chinese chars, clean text', () => {
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'cafe', 'café', 'Cafe', 'Café', 'CAFÉ', '中', '文', '中文', '##文', 'a', '##\u0000', '##b', 'b'];
  const words = (opts: ConstructorParameters<typeof BertTokenizer>[1]) => new BertTokenizer(vocab, opts).tokenize('Café 中文');
  assert.deepEqual(words({ lowercase: true }), ['cafe', '中', '文']);
  assert.deepEqual(words({ lowercase: true, stripAccents: false }), ['café', '中', '文']);
  assert.deepEqual(words({ lowercase: false }), ['Café', '中', '文']);
  assert.deepEqual(words({ lowercase: false, stripAccents: true }), ['Cafe', '中', '文']);
  assert.deepEqual(words({ lowercase: false, chineseChars: false }), ['Café', '中文']);
  const dirty = (cleanText: boolean) => new BertTokenizer(vocab, { cleanText }).tokenize('a\u0000b\u00a0b');
  assert.deepEqual(dirty(true), ['a', '##b', 'b']);
  assert.deepEqual(dirty(false), ['a', '##\u0000', '##b', 'b']);
});

test('batches: padding to the longest (default), to max_length, left or right, to a multiple', async () => {
  const tok = await BertTokenizer.fromDirectory(dirOf('uncased'));
  const batch = tok.encodeBatch(['hello', ['how old are you?', 'i'], '']);
  assert.deepEqual(
    batch.map((e) => e.inputIds.length),
    [9, 9, 9],
  );
  assert.deepEqual(batch[0]!.attentionMask, [1, 1, 1, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(batch[0]!.inputIds.slice(3), Array(6).fill(tok.padTokenId));
  assert.deepEqual(batch[0]!.tokens.slice(3), Array(6).fill('[PAD]'));
  assert.deepEqual(batch[0]!.specialTokensMask, [1, 0, 1, 1, 1, 1, 1, 1, 1]);
  assert.deepEqual(batch[0]!.wordIds, [null, 0, null, null, null, null, null, null, null]);
  assert.deepEqual(batch[1]!.tokenTypeIds, [0, 0, 0, 0, 0, 0, 0, 1, 1]);
  assert.deepEqual(batch[2]!.tokens.slice(0, 2), ['[CLS]', '[SEP]']);
  const left = tok.encodeBatch(['hello', 'how old are you'], { paddingSide: 'left' });
  assert.deepEqual(left[0]!.attentionMask, [0, 0, 0, 1, 1, 1]);
  assert.deepEqual(left[0]!.offsets, [
    [0, 0],
    [0, 0],
    [0, 0],
    [0, 0],
    [0, 5],
    [0, 0],
  ]);
  const fixed = tok.encodeBatch(['hello', 'the quick brown fox jumps over the lazy dog'], { maxLength: 8, padding: 'max_length' });
  assert.deepEqual(
    fixed.map((e) => e.inputIds.length),
    [8, 8],
  );
  assert.equal(fixed[1]!.tokens.at(-1), '[SEP]');
  const ragged = tok.encodeBatch(['hello', 'how old are you'], { padding: false });
  assert.deepEqual(
    ragged.map((e) => e.inputIds.length),
    [3, 6],
  );
  const multiple = tok.encodeBatch(['hello', 'how old are you'], { padToMultipleOf: 8 });
  assert.deepEqual(
    multiple.map((e) => e.inputIds.length),
    [8, 8],
  );
  const one = tok.encode('hello', undefined, { maxLength: 6, padding: 'max_length', paddingSide: 'left' });
  assert.deepEqual(one.attentionMask, [0, 0, 0, 1, 1, 1]);
  // model_max_length (64 in the fixture) is the default length for max_length padding.
  assert.equal(tok.encode('hello', undefined, { padding: 'max_length' }).inputIds.length, 64);
  assert.equal(tok.modelMaxLength, 64);
});

test('truncation: maxLength alone truncates longest_first, truncation false keeps everything, errors are typed', async () => {
  const tok = await BertTokenizer.fromDirectory(dirOf('uncased'));
  const text = 'the quick brown fox jumps over the lazy dog';
  assert.deepEqual(tok.encode(text, undefined, { maxLength: 6 }).tokens, ['[CLS]', 'the', 'quick', 'brown', 'fox', '[SEP]']);
  assert.equal(tok.encode(text, undefined, { maxLength: 6, truncation: false }).inputIds.length, 11);
  assert.deepEqual(tok.encode(text, undefined, { maxLength: 6, truncationSide: 'left' }).tokens, ['[CLS]', 'over', 'the', 'lazy', 'dog', '[SEP]']);
  assert.deepEqual(tok.encode(text, undefined, { maxLength: 2 }).tokens, ['[CLS]', '[SEP]']);
  assert.deepEqual(tok.encode(text, undefined, { maxLength: 3, addSpecialTokens: false }).tokens, ['the', 'quick', 'brown']);
  // truncation: true without maxLength uses model_max_length.
  assert.equal(tok.encode('a '.repeat(100), undefined, { truncation: true }).inputIds.length, 64);
  assert.throws(
    () => tok.encode(text, 'x', { maxLength: 2 }),
    (e: unknown) => e instanceof TruncationError && /leaves no room for the 3 special tokens/.test(e.message),
  );
  assert.throws(() => tok.encode(text, undefined, { maxLength: 4, truncation: 'only_second' }), /needs a text pair/);
  assert.throws(() => tok.encode(text, 'over the lazy dog', { maxLength: 6, truncation: 'only_second' }), /must remove 10 tokens but the second sequence has only 4/);
  const bare = new BertTokenizer(['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'a']);
  assert.throws(
    () => bare.encode('a', undefined, { truncation: true }),
    (e: unknown) => e instanceof TruncationError && /model_max_length/.test(e.message),
  );
  assert.throws(
    () => bare.encodeBatch(['a'], { padding: 'max_length' }),
    (e: unknown) => e instanceof TokenizerError && /model_max_length/.test(e.message),
  );
});

test('decode joins ## pieces and cleans up spaces before punctuation', async () => {
  const tok = await BertTokenizer.fromDirectory(dirOf('uncased'));
  const ids = tok.encode("Hello, world! Don't stop. Unaffable? yes").inputIds;
  assert.deepEqual(tok.tokenize('yes'), ['y', '##e', '##s']);
  assert.equal(tok.decode(ids), "[CLS] hello, world! don't stop. unaffable? yes [SEP]");
  assert.equal(tok.decode(ids, { skipSpecialTokens: true }), "hello, world! don't stop. unaffable? yes");
  assert.equal(tok.decode(ids, { skipSpecialTokens: true, cleanUpTokenizationSpaces: false }), "hello, world! don ' t stop. unaffable? yes");
  assert.equal(tok.decode(BigInt64Array.from(ids, BigInt), { skipSpecialTokens: true }), "hello, world! don't stop. unaffable? yes");
  assert.equal(tok.decode([tok.unkTokenId, 99999, tok.tokenToId('hello')!]), '[UNK] hello');
  assert.equal(tok.decode([]), '');
  assert.deepEqual(tok.decodeBatch([[tok.tokenToId('hello')!], []]), ['hello', '']);
});

// Its speed is measured by bench/tokenizer.ts on the same sentences.
test('encoding 10k short sentences in a batch gives each sentence its own encoding', async () => {
  const tok = await BertTokenizer.fromDirectory(dirOf('cased'));
  const base = [
    'The quick brown fox jumps over the lazy dog.',
    'Hello, WORLD!! How old are you?',
    "don't stop; U.S.A. isn't (quite) here",
    '我爱北京天安门, BERT在2018年发布',
    'Héllo naïve café, résumé.',
  ];
  const texts = Array.from({ length: 10000 }, (_, i) => `${base[i % base.length]} item ${i}`);
  const out = tok.encodeBatch(texts, { maxLength: 64 });
  assert.equal(out.length, 10000);
  // The batch is padded to its longest sentence; without the padding each is what encode gives.
  const unpadded = (e: (typeof out)[number]) => e.inputIds.filter((_, t) => e.attentionMask[t] === 1);
  for (const i of [0, 1, 2, 3, 4, 4321, 9999]) assert.deepEqual(unpadded(out[i]!), tok.encode(texts[i]!, undefined, { maxLength: 64 }).inputIds, texts[i]);
  assert.ok(out.every((e) => e.inputIds.length <= 64 && e.inputIds[0] === tok.tokenToId('[CLS]')));
});
