// WordPiece training, checked from the outside: the files `tuna tokenizer train` writes load in
// @huggingface/tokenizers (transformers.js's tokenizer library, independent of tuna) and encode real
// text to the same ids; trainer options; and the command's errors on bad input.
// (test/wordpiece-trainer.test.ts covers the merge order and coverage.)
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@huggingface/tokenizers';
import { run } from '../src/cli/main.js';
import { BertTokenizer } from '../src/tokenizers/bert-tokenizer.js';
import { trainWordPiece, trainWordPieceFromCounts } from '../src/tokenizers/wordpiece-trainer.js';

const work = mkdtempSync(join(tmpdir(), 'tuna-tokenizer-train-'));
after(() => rmSync(work, { recursive: true, force: true }));
const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)), 'utf8');

const banking = fixture('banking77-4class-train.jsonl')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l).text as string);
/** CoNLL-2003 sentences (cased English news with names, numbers and punctuation). */
const conll = fixture('e2e/conll-train.conll')
  .split(/\n\s*\n/)
  .map((block) =>
    block
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('-DOCSTART-'))
      .map((l) => l.split(/\s+/)[0])
      .join(' '),
  )
  .filter(Boolean);
/** Waimai reviews (Chinese with ASCII and full-width punctuation, digits, some Latin). */
const waimai = fixture('e2e/waimai-train.csv')
  .trim()
  .split('\n')
  .slice(1)
  .map((l) => l.replace(/^\d,/, '').replace(/^"|"$/g, ''));

interface Collected {
  code: number;
  stdout: string;
  stderr: string;
}
async function tuna(...argv: string[]): Promise<Collected> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) });
  return { code, stdout, stderr };
}

function corpusFile(name: string, lines: readonly string[]): string {
  const path = join(work, name);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

/** Loads `dir` in @huggingface/tokenizers and checks it encodes every text (and a few pairs) as tuna does. */
async function assertSameIdsAsHuggingFace(dir: string, texts: readonly string[]): Promise<void> {
  const hf = new Tokenizer(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')), JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')));
  const tok = await BertTokenizer.fromDirectory(dir);
  for (const t of texts) {
    const ours = tok.encode(t, undefined, { truncation: false });
    assert.deepEqual(ours.inputIds, hf.encode(t).ids, t);
  }
  for (let i = 0; i + 1 < Math.min(texts.length, 20); i += 2) {
    const ours = tok.encode(texts[i]!, texts[i + 1], { truncation: false });
    const theirs = hf.encode(texts[i]!, { text_pair: texts[i + 1]!, return_token_type_ids: true });
    assert.deepEqual(ours.inputIds, theirs.ids);
    assert.deepEqual(ours.tokenTypeIds, theirs.token_type_ids);
  }
}

/** Share of [UNK] among the tokens of `texts`. */
function unknownRate(tok: BertTokenizer, texts: readonly string[]): number {
  let tokens = 0;
  let unknown = 0;
  for (const t of texts) {
    const ids = tok.encode(t, undefined, { addSpecialTokens: false, truncation: false }).inputIds;
    tokens += ids.length;
    for (const id of ids) if (id === tok.unkTokenId) unknown++;
  }
  return unknown / tokens;
}

test('uncased English: tuna tokenizer train output loads in @huggingface/tokenizers with identical ids', async () => {
  const texts = [...banking, ...conll.slice(0, 300)];
  const out = join(work, 'uncased');
  const r = await tuna('tokenizer', 'train', '--input', corpusFile('uncased.txt', texts), '--output', out, '--vocab-size', '1200', '--json');
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.vocab_size, 1200);
  assert.ok(summary.unknown_rate < 0.01, `[UNK] rate ${summary.unknown_rate}`);
  await assertSameIdsAsHuggingFace(out, [...texts.slice(0, 200), 'Héllo WÖRLD, naïve café!', 'unseen: qwxzj 12345 ¿¡']);
});

test('cased English and Chinese, with and without CJK splitting, match @huggingface/tokenizers', async () => {
  const cased = join(work, 'cased');
  let r = await tuna('tokenizer', 'train', '--input', corpusFile('cased.txt', conll), '--output', cased, '--vocab-size', '1500', '--cased');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(readFileSync(join(cased, 'tokenizer_config.json'), 'utf8')).do_lower_case, false);
  await assertSameIdsAsHuggingFace(cased, [...conll.slice(0, 200), 'Héllo WÖRLD, naïve café!']);

  const zh = join(work, 'zh');
  const zhFile = corpusFile('zh.txt', waimai);
  r = await tuna('tokenizer', 'train', '--input', zhFile, '--output', zh, '--vocab-size', '2000');
  assert.equal(r.code, 0, r.stderr);
  await assertSameIdsAsHuggingFace(zh, waimai.slice(0, 200));

  const zhWords = join(work, 'zh-words');
  r = await tuna('tokenizer', 'train', '--input', zhFile, '--output', zhWords, '--vocab-size', '2000', '--no-chinese-chars');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(readFileSync(join(zhWords, 'tokenizer_config.json'), 'utf8')).tokenize_chinese_chars, false);
  const vocab = readFileSync(join(zhWords, 'vocab.txt'), 'utf8').split('\n');
  assert.ok(
    vocab.some((t) => /^(##)?[\u4e00-\u9fff]{2,}$/u.test(t)),
    'multi-character Chinese pieces are learned without CJK splitting',
  );
  await assertSameIdsAsHuggingFace(zhWords, waimai.slice(0, 200));
});

test('texts stream from sync or async iterables alike; Chinese characters are alphabet entries', async () => {
  const texts = [...waimai, ...banking];
  async function* lines() {
    for (const t of texts) yield t;
  }
  const fromArray = await trainWordPiece(texts, { vocabSize: 1000 });
  const fromAsync = await trainWordPiece(lines(), { vocabSize: 1000 });
  assert.deepEqual(fromAsync.vocab, fromArray.vocab);
  const vocab = fromArray.vocab;
  assert.equal(vocab.length, 1000);
  const ideographs = new Set([...texts.join('')].filter((c) => /[\u4e00-\u9fff]/u.test(c)));
  for (const c of ideographs) assert.ok(vocab.includes(c), `${c} in the vocabulary`);
  // No learned piece spans two ideographs: each is a word of its own.
  assert.ok(!vocab.some((t) => /[\u4e00-\u9fff].*[\u4e00-\u9fff]/u.test(t)));
  assert.ok(unknownRate(new BertTokenizer(vocab), texts) < 0.01);
});

test('trainer options: special tokens, alphabet limit, min frequency', () => {
  // Every pair occurs once: nothing reaches minFrequency 2, so the vocabulary stops at the alphabet.
  const once = new Map([
    ['ab', 1],
    ['cd', 1],
  ]);
  assert.deepEqual(trainWordPieceFromCounts(once, { vocabSize: 100 }).vocab, ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', 'b', 'c', 'd', '##b', '##d']);
  assert.equal(trainWordPieceFromCounts(once, { vocabSize: 100, minFrequency: 1 }).vocab.slice(11).join(' '), 'ab cd');

  const counts = new Map([
    ['aab', 5],
    ['abz', 1],
  ]);
  const { vocab } = trainWordPieceFromCounts(counts, { vocabSize: 10, specialTokens: ['<unk>', '<s>'], limitAlphabet: 2, continuingSubwordPrefix: '@@' });
  // z is the rarest character: cut from the alphabet, and "abz" is not learned from.
  assert.deepEqual(vocab, ['<unk>', '<s>', 'a', 'b', '@@a', '@@b', 'aa', 'aab']);
  assert.throws(() => trainWordPieceFromCounts(counts, { vocabSize: 1 }), RangeError);
});

test('several input files are counted together', async () => {
  const a = corpusFile('part-a.txt', ['the cat sat', 'the cat ran']);
  const b = corpusFile('part-b.txt', ['the dog sat']);
  const r = await tuna('tokenizer', 'train', '--input', a, b, '--output', join(work, 'parts'), '--vocab-size', '40', '--json');
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.words, 9);
  assert.equal(summary.distinct_words, 5);
  const tok = await BertTokenizer.fromDirectory(join(work, 'parts'));
  assert.deepEqual(tok.tokenize('the cat sat'), ['the', 'cat', 'sat']);
});

test('tuna tokenizer train errors name the file and the fix', async () => {
  const out = join(work, 'err-out');
  const good = corpusFile('good.txt', banking.slice(0, 20));
  const cases: [string[], RegExp][] = [
    [['--input', join(work, 'missing.txt')], /missing\.txt: cannot read: no such file or directory/],
    [['--input', work], /is a directory/],
    [['--input', corpusFile('empty.txt', [])], /empty\.txt: .*(empty|no words)/],
    [['--input', corpusFile('blank.txt', ['', '   ', '\t'])], /blank\.txt: no words to learn a vocabulary from/],
    [['--input', good, '--vocab-size', '8k'], /--vocab-size must be an integer/],
    [['--input', good, '--vocab-size', '3'], /--vocab-size must be an integer >= 10/],
    [['--input', good, '--min-frequency', '0'], /--min-frequency must be an integer >= 1/],
    [['--input', good, '--max-length', 'long'], /--max-length must be an integer/],
  ];
  writeFileSync(join(work, 'empty.txt'), '');
  for (const [args, message] of cases) {
    const r = await tuna('tokenizer', 'train', '--output', out, ...args);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, message);
  }

  const bad = join(work, 'latin1.txt');
  writeFileSync(bad, Buffer.concat([Buffer.from('fine line\nanother one\ncaf'), Buffer.from([0xe9]), Buffer.from(' au lait\n')]));
  let r = await tuna('tokenizer', 'train', '--input', good, bad, '--output', out);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /latin1\.txt:3: not valid UTF-8/);

  const file = join(work, 'a-file');
  writeFileSync(file, 'x');
  r = await tuna('tokenizer', 'train', '--input', good, '--output', file);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--output .*a-file: is a file; give a directory/);
  assert.equal(readFileSync(file, 'utf8'), 'x', 'left untouched');

  mkdirSync(join(work, 'json-err'));
  r = await tuna('tokenizer', 'train', '--input', join(work, 'missing.txt'), '--output', join(work, 'json-err'), '--json');
  assert.equal(r.code, 1);
  assert.match(JSON.parse(r.stdout).error.message, /missing\.txt: cannot read: no such file or directory/);
});

test('--vocab-size below the size of the alphabet warns: the vocabulary gets no merged pieces', async () => {
  const corpus = corpusFile('alphabet.txt', banking.slice(0, 100));
  const small = await tuna('tokenizer', 'train', '--input', corpus, '--output', join(work, 'tiny-vocab'), '--vocab-size', '20', '--json');
  assert.equal(small.code, 0, small.stderr);
  const summary = JSON.parse(small.stdout);
  assert.ok(summary.vocab_size > 20, `vocab ${summary.vocab_size}`);
  assert.equal(summary.merges, 0);
  assert.match(
    small.stderr,
    new RegExp(`warning: --vocab-size 20 is below the ${summary.vocab_size} tokens the corpus's alphabet needs.*Raise --vocab-size well above ${summary.vocab_size}`),
  );
  assert.equal(summary.warning, small.stderr.trim());
  const enough = await tuna('tokenizer', 'train', '--input', corpus, '--output', join(work, 'enough-vocab'), '--vocab-size', '400');
  assert.equal(enough.code, 0, enough.stderr);
  assert.doesNotMatch(enough.stderr, /warning/);
  const result = trainWordPieceFromCounts(
    new Map([
      ['abc', 3],
      ['cab', 2],
    ]),
    { vocabSize: 100 },
  );
  assert.equal(result.baseSize, 5 + 3 + 3, 'special tokens, a b c, and ##a ##b ##c');
});
