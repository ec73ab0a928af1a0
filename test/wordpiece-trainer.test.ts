// WordPiece vocabulary training: the merge order on a corpus small enough to work out by hand,
// coverage on real text (English and Chinese samples), and `tuna tokenizer train` writing files
// that load back into the same tokenizer.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { run } from '../src/cli/main.js';
import { BertTokenizer } from '../src/tokenizers/bert-tokenizer.js';
import { countWords, trainWordPiece, trainWordPieceFromCounts } from '../src/tokenizers/wordpiece-trainer.js';

const work = mkdtempSync(join(tmpdir(), 'tuna-wordpiece-'));
after(() => rmSync(work, { recursive: true, force: true }));
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const english = readFileSync(fixture('banking77-4class-train.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l).text as string);
const chinese = readFileSync(fixture('e2e/waimai-train.csv'), 'utf8').trim().split('\n').slice(1);

test('merges follow pair frequency, worked out by hand', () => {
  // hug x10, pug x5, pun x12, bun x4, hugs x5
  const counts = new Map([
    ['hug', 10],
    ['pug', 5],
    ['pun', 12],
    ['bun', 4],
    ['hugs', 5],
  ]);
  const { vocab, merges } = trainWordPieceFromCounts(counts, { vocabSize: 18, specialTokens: ['[UNK]'] });
  // Alphabet: b g h n p s u, then ##g ##n ##s ##u.
  assert.deepEqual(vocab.slice(0, 12), ['[UNK]', 'b', 'g', 'h', 'n', 'p', 's', 'u', '##g', '##n', '##s', '##u']);
  // Pair counts: (h,##u) 15, (##u,##g) 20, (p,##u) 17, (##u,##n) 16, (b,##u) 4, (##g,##s) 5.
  // 1. ##u ##g -> ##ug (20). Then (h,##ug) 15, (p,##ug) 5, (p,##u) 12, (##u,##n) 16 -> 2. ##un (16).
  // Then (p,##un) 12, (b,##un) 4, (h,##ug) 15 -> 3. hug (15). Then (p,##un) 12 -> 4. pun.
  // Then (hug,##s) 5 and (p,##ug) 5 tie: the pair with the lower first id wins (p=5 < hug=14) -> 5. pug.
  // Then (hug,##s) 5 beats (b,##un) 4 -> 6. hugs.
  assert.deepEqual(vocab.slice(12), ['##ug', '##un', 'hug', 'pun', 'pug', 'hugs']);
  assert.equal(merges, 6);
});

test('English: the vocabulary fits the size, covers the text, and common words are single tokens', async () => {
  const { vocab } = await trainWordPiece(english, { vocabSize: 400 });
  assert.equal(vocab.length, 400);
  assert.deepEqual(vocab.slice(0, 5), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  assert.ok(
    vocab.some((t) => t.startsWith('##') && t.length > 3),
    'learned continuation pieces',
  );
  assert.equal(new Set(vocab).size, vocab.length);
  const tok = new BertTokenizer(vocab);
  for (const w of ['card', 'my', 'the', 'exchange']) assert.deepEqual(tok.tokenize(w), [w]);
  let tokens = 0;
  let unknown = 0;
  for (const t of english) {
    const ids = tok.encode(t, undefined, { addSpecialTokens: false }).inputIds;
    tokens += ids.length;
    unknown += ids.filter((i) => i === tok.unkTokenId).length;
  }
  assert.ok(unknown / tokens < 0.01, `[UNK] rate ${unknown / tokens}`);
  assert.deepEqual((await trainWordPiece(english, { vocabSize: 400 })).vocab, vocab, 'deterministic');
});

test('Chinese: every ideograph is a single-character token', async () => {
  const counts = await countWords(chinese);
  assert.equal(counts.get('好'), [...chinese.join('')].filter((c) => c === '好').length);
  const { vocab } = await trainWordPiece(chinese, { vocabSize: 3000 });
  const tok = new BertTokenizer(vocab);
  const tokens = tok.tokenize('很快，好吃，味道足');
  assert.deepEqual(tokens, ['很', '快', '，', '好', '吃', '，', '味', '道', '足']);
});

test('tuna tokenizer train writes files that load back to the same tokenizer', async () => {
  const corpus = join(work, 'corpus.txt');
  writeFileSync(corpus, english.join('\n') + '\n');
  const out = join(work, 'tok');
  let stdout = '';
  const code = await run(['tokenizer', 'train', '--input', corpus, '--output', out, '--vocab-size', '500', '--max-length', '64', '--json'], {
    stdout: (s) => void (stdout += s),
    stderr: () => {},
  });
  assert.equal(code, 0);
  const summary = JSON.parse(stdout);
  assert.equal(summary.vocab_size, 500);
  assert.ok(summary.unknown_rate < 0.01);
  assert.equal(readFileSync(join(out, 'vocab.txt'), 'utf8').trim().split('\n').length, 500);
  assert.equal(JSON.parse(readFileSync(join(out, 'tokenizer_config.json'), 'utf8')).model_max_length, 64);
  const fromDir = await BertTokenizer.fromDirectory(out);
  const fromJson = BertTokenizer.fromTokenizerJson(JSON.parse(readFileSync(join(out, 'tokenizer.json'), 'utf8')));
  for (const t of english.slice(0, 50)) assert.deepEqual(fromJson.encode(t).inputIds, fromDir.encode(t).inputIds);

  let stderr = '';
  const missing = await run(['tokenizer', 'train', '--input', join(work, 'nope.txt'), '--output', out], { stdout: () => {}, stderr: (s) => void (stderr += s) });
  assert.equal(missing, 1);
  assert.match(stderr, /nope\.txt: cannot read: no such file or directory/);
  stderr = '';
  const bad = await run(['tokenizer', 'train', '--input', corpus, '--output', out, '--vocab-size', 'lots'], { stdout: () => {}, stderr: (s) => void (stderr += s) });
  assert.equal(bad, 1);
  assert.match(stderr, /--vocab-size must be an integer/);
});
