import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataError, SkippedRows, type TextExample, formatOf, loadTextExamples, loadTokenExamples, readTextExamples } from '../src/data/index.js';
import { TunaError } from '../src/errors.js';

const scratch = await mkdtemp(join(tmpdir(), 'tuna-data-examples-'));
after(() => rm(scratch, { recursive: true, force: true }));

const fx = (name: string) => fileURLToPath(new URL(`./fixtures/data/${name}`, import.meta.url));

/** Asserts that `p` rejects with a DataError for `file` at `line` whose message matches every pattern. */
async function rejectsAt(p: Promise<unknown>, file: string, line: number | undefined, ...patterns: RegExp[]): Promise<DataError> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof DataError, `expected a DataError, got ${String(err)}`);
  assert.equal(err.file, file);
  assert.equal(err.line, line, err.message);
  assert.ok(err.message.startsWith(line === undefined ? `${file}: ` : `${file}:${line}: `), err.message);
  for (const p of patterns) assert.match(err.message, p);
  return err;
}

/** A missing data file: a file_not_found error naming it, with the fix. */
async function rejectsMissing(p: Promise<unknown>, file: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof TunaError && e.code === 'file_not_found', String(e));
    assert.equal(e.file, file);
    assert.ok(e.message.startsWith(`${file}: `), e.message);
    assert.match(e.message, /no such file or directory; check the path/);
    return true;
  });
}

test('formatOf: by extension, override first, unknown extensions rejected', () => {
  assert.equal(formatOf('a/train.csv'), 'csv');
  assert.equal(formatOf('dev.TSV'), 'tsv');
  assert.equal(formatOf('x.jsonl'), 'jsonl');
  assert.equal(formatOf('x.json'), 'jsonl');
  for (const f of ['x.conll', 'train.txt', 'a.iob', 'a.bio']) assert.equal(formatOf(f), 'conll');
  assert.equal(formatOf('data.dat', 'tsv'), 'tsv');
  assert.throws(
    () => formatOf('book.xlsx'),
    (e: unknown) => e instanceof DataError && /"\.xlsx".*\.csv, \.tsv, \.jsonl/.test(e.message),
  );
  assert.throws(() => formatOf('README'), DataError);
});

test('Banking77 sample (CRLF, doubled quotes, a quoted record over 5 lines): texts, labels and first lines', async () => {
  const ex = await loadTextExamples(fx('banking77-train-sample.csv'), { columns: { label: 'category' } });
  assert.equal(ex.length, 35);
  assert.deepEqual(ex[0], { text: 'I am still waiting on my card?', label: 'card_arrival', file: fx('banking77-train-sample.csv'), line: 2 });
  const counts = new Map<string, number>();
  for (const e of ex) counts.set(e.label as string, (counts.get(e.label as string) ?? 0) + 1);
  assert.deepEqual(Object.fromEntries(counts), { card_arrival: 10, card_linking: 8, exchange_rate: 8, extra_charge_on_statement: 1, card_not_working: 8 });
  const quoted = ex.find((e) => e.text.includes('""') || e.text.includes('"pending"'))!;
  assert.match(quoted.text, /listed in the app as "pending", it never changes/);
  assert.equal(quoted.line, 28);
  // The record on lines 32-36 keeps its bare LF line breaks; its line is where it starts.
  const multi = ex.find((e) => e.text.startsWith('\n'))!;
  assert.equal(multi.text, "\nI can't seem to be able to use my card\n\n\n");
  assert.equal(multi.line, 32);
  assert.equal(ex[ex.indexOf(multi) + 1]!.line, 37);
  assert.equal(ex.at(-1)!.line, 40);
  assert.ok(ex.every((e) => !e.text.endsWith('\r') && !(e.label as string).endsWith('\r')));
});

test('waimai_10k sample: Chinese text in a renamed column, doubled quotes, labels as strings', async () => {
  const ex = await loadTextExamples(fx('waimai10k-sample.csv'), { columns: { text: 'review' } });
  assert.equal(ex.length, 39);
  assert.deepEqual(ex[0], { text: '很快，好吃，味道足，量大', label: '1', file: fx('waimai10k-sample.csv'), line: 2 });
  assert.equal(ex.filter((e) => e.label === '1').length, 20);
  assert.equal(ex.filter((e) => e.label === '0').length, 19);
  assert.equal(ex.at(-1)!.text, '无语O__O"…问苍天');
  assert.equal(ex.at(-1)!.line, 40);
});

test('SST-2 sample: TSV with GLUE column names', async () => {
  const ex = await loadTextExamples(fx('sst2-dev-sample.tsv'), { columns: { text: 'sentence' } });
  assert.equal(ex.length, 10);
  assert.deepEqual(ex[0], { text: "it 's a charming and often affecting journey . ", label: '1', file: fx('sst2-dev-sample.tsv'), line: 2 });
});

test('a UTF-8 BOM is removed, CRLF accepted, blank lines skipped, line numbers exact', async () => {
  const ex = await loadTextExamples(fx('bom-crlf.csv'));
  assert.deepEqual(
    ex.map((e) => [e.text, e.label, e.line]),
    [
      ['where is my card', 'card_arrival', 2],
      ['two\r\nlines, quoted', 'pin_blocked', 3],
      ['what is the rate', 'exchange_rate', 6],
    ],
  );
});

test('JSONL: text pairs; unlabelled data when labels are not required', async () => {
  const ex = await loadTextExamples(fx('pairs.jsonl'));
  assert.deepEqual(ex[1], { text: 'what is the rate', textPair: 'the card is blocked', label: 'no', file: fx('pairs.jsonl'), line: 2 });
  const unlabelled = await loadTextExamples(fx('pairs.jsonl'), { columns: { label: 'nothing' }, requireLabels: false });
  assert.ok(unlabelled.every((e) => e.label === undefined));
  const noLabelColumn = await loadTextExamples(fx('waimai10k-sample.csv'), { columns: { text: 'review', label: 'stars' }, requireLabels: false });
  assert.equal(noLabelColumn.length, 39);
});

test('multi-label: a CSV cell split on the separator; a JSONL label array', async () => {
  const ex = await loadTextExamples(fx('multi-label.csv'), { multiLabelSeparator: '|', requireLabels: false });
  assert.deepEqual(
    ex.map((e) => e.label),
    [['cold', 'late'], undefined, ['good']],
  );
  const f = join(await mkdtemp(join(scratch, 'f-')), 'multi.jsonl');
  await writeFile(f, '{"text": "cold and late", "label": ["cold", "late"]}\n{"text": "ok", "label": "fine"}\n');
  assert.deepEqual(
    (await loadTextExamples(f, { multiLabelSeparator: ',' })).map((e) => e.label),
    [['cold', 'late'], ['fine']],
  );
  await rejectsAt(loadTextExamples(f), f, 1, /"label" is a list/, /--multi-label/);
});

test('CoNLL-2003 sample: -DOCSTART- skipped, the last of 4 columns is the tag, or another column', async () => {
  const ex = await loadTokenExamples(fx('conll2003-train-sample.txt'));
  assert.deepEqual(ex, [
    {
      tokens: ['EU', 'rejects', 'German', 'call', 'to', 'boycott', 'British', 'lamb', '.'],
      tags: ['B-ORG', 'O', 'B-MISC', 'O', 'O', 'O', 'B-MISC', 'O', 'O'],
      file: fx('conll2003-train-sample.txt'),
      line: 3,
    },
    { tokens: ['Peter', 'Blackburn'], tags: ['B-PER', 'I-PER'], file: fx('conll2003-train-sample.txt'), line: 13 },
    { tokens: ['BRUSSELS', '1996-08-22'], tags: ['B-LOC', 'O'], file: fx('conll2003-train-sample.txt'), line: 16 },
  ]);
  const pos = await loadTokenExamples(fx('conll2003-train-sample.txt'), { tagColumn: 1 });
  assert.deepEqual(pos[1]!.tags, ['NNP', 'NNP']);
  await rejectsAt(loadTokenExamples(fx('conll2003-train-sample.txt'), { tagColumn: 4 }), fx('conll2003-train-sample.txt'), 3, /no tag column 4/, /from 1 to 3/);
});

test('token JSONL: ner_tags accepted when they are strings', async () => {
  const ex = await loadTokenExamples(fx('tokens.jsonl'));
  assert.deepEqual(ex[0], { tokens: ['U.S.', 'officials', 'visited', 'Paris'], tags: ['B-LOC', 'O', 'O', 'B-LOC'], file: fx('tokens.jsonl'), line: 1 });
  assert.equal(ex.length, 2);
});

test('bad input: each problem is a DataError naming the file, the line and what to do', async () => {
  const missing = fx('bad/no-such-file.csv');
  await rejectsMissing(loadTextExamples(missing), missing);
  await rejectsAt(loadTextExamples(fx('bad/empty.csv')), fx('bad/empty.csv'), undefined, /the file is empty/);
  await rejectsAt(loadTextExamples(fx('bad/header-only.csv')), fx('bad/header-only.csv'), undefined, /no examples/);
  const col = await rejectsAt(loadTextExamples(fx('bad/missing-column.csv')), fx('bad/missing-column.csv'), 1, /no column "text"/, /columns: sentence, category/, /--text-column/);
  assert.equal(col.field, 'text');
  await rejectsAt(loadTextExamples(fx('bad/missing-column.csv'), { columns: { text: 'sentence' } }), fx('bad/missing-column.csv'), 1, /no column "label"/, /--label-column/);
  await rejectsAt(loadTextExamples(fx('bad/unterminated-quote.csv')), fx('bad/unterminated-quote.csv'), 3, /quoted field .* never closed/);
  await rejectsAt(loadTextExamples(fx('bad/stray-quote.csv')), fx('bad/stray-quote.csv'), 3, /closing quote/, /""/);
  await rejectsAt(
    loadTextExamples(fx('bad/field-count.csv')),
    fx('bad/field-count.csv'),
    3,
    /different number of fields from the header: 3, where the header \(line 1\) has 2/,
    /double quotes/,
  );
  await rejectsAt(loadTextExamples(fx('bad/invalid-utf8.csv')), fx('bad/invalid-utf8.csv'), 3, /not valid UTF-8/, /iconv/);
  await rejectsAt(loadTextExamples(fx('bad/empty-text.csv')), fx('bad/empty-text.csv'), 3, /empty text in "text"/);
  await rejectsAt(loadTextExamples(fx('bad/missing-label.csv')), fx('bad/missing-label.csv'), 3, /label in "label" is empty/);
  await rejectsAt(loadTextExamples(fx('bad/invalid-json.jsonl')), fx('bad/invalid-json.jsonl'), 2, /not valid JSON/, /one JSON object/);
  await rejectsAt(loadTextExamples(fx('bad/not-object.jsonl')), fx('bad/not-object.jsonl'), 2, /expected a JSON object, got an array/);
  await rejectsAt(loadTextExamples(fx('bad/text-not-string.jsonl')), fx('bad/text-not-string.jsonl'), 3, /"text" must be a string, got a number/);
  await rejectsAt(loadTextExamples(fx('bad/missing-label.jsonl')), fx('bad/missing-label.jsonl'), 2, /no "label" field \(fields: text\)/, /--label-column/);
  await rejectsAt(loadTokenExamples(fx('bad/tags-length.jsonl')), fx('bad/tags-length.jsonl'), 2, /2 words but 1 tags/);
  await rejectsAt(
    loadTokenExamples(fx('bad/field-count.conll')),
    fx('bad/field-count.conll'),
    4,
    /3 field\(s\) where every line so far had 4 \(from the first word line, line 1\)/,
    /every line 4 fields/,
  );
  await rejectsAt(loadTokenExamples(fx('bad/missing-tag.conll')), fx('bad/missing-tag.conll'), 1, /a word without a tag/);
  assert.deepEqual(await loadTokenExamples(fx('bad/missing-tag.conll'), { requireTags: false }), [{ tokens: ['EU', 'rejects'], file: fx('bad/missing-tag.conll'), line: 1 }]);
  await rejectsAt(loadTextExamples(fx('conll2003-train-sample.txt')), fx('conll2003-train-sample.txt'), undefined, /token-classification/);
  await rejectsAt(loadTokenExamples(fx('bom-crlf.csv')), fx('bom-crlf.csv'), undefined, /CoNLL .* or JSONL/);
});

test('an unterminated quote far into a file is placed on the line where it opens', async () => {
  const f = join(await mkdtemp(join(scratch, 'f-')), 'quote.csv');
  const rows = Array.from({ length: 5000 }, (_, i) => `row ${i},a`);
  await writeFile(f, `text,label\n${rows.join('\n')}\n"never closed,a\nmore,b\n`);
  await rejectsAt(loadTextExamples(f), f, 5002, /never closed/);
  // Invalid UTF-8 after the first 64 KiB chunk is placed too.
  await writeFile(f, Buffer.concat([Buffer.from(`text,label\n${rows.join('\n')}\n`), Buffer.from([0x61, 0xff, 0x62]), Buffer.from(',a\n')]));
  await rejectsAt(loadTextExamples(f), f, 5002, /not valid UTF-8/);
});

test('readTextExamples streams: stopping early is fine, and errors surface only when iterated', async () => {
  const seen: TextExample[] = [];
  for await (const e of readTextExamples(fx('banking77-train-sample.csv'), { columns: { label: 'category' } })) {
    seen.push(e);
    if (seen.length === 3) break;
  }
  assert.equal(seen.length, 3);
  const lazy = readTextExamples(fx('bad/no-such-file.csv'));
  await assert.rejects(
    async () => {
      for await (const _ of lazy) void _;
    },
    (e: unknown) => e instanceof TunaError && e.code === 'file_not_found',
  );
});

async function tmpFile(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(scratch, 'f-'));
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

test('onBadRow skip: bad CSV rows, JSON lines and CoNLL sentences are left out and recorded with their lines; error stops at the first', async () => {
  const csv = await tmpFile('reviews.csv', 'text,label\ngood food,1\n,0\n"slow, cold",0\nfine,\nno label column here\nnice,1\n');
  await rejectsAt(loadTextExamples(csv), csv, 3, /empty text in "text"/);
  let skipped = new SkippedRows();
  const rows = await loadTextExamples(csv, { onBadRow: 'skip', skipped });
  assert.deepEqual(
    rows.map((r) => [r.text, r.label, r.line]),
    [
      ['good food', '1', 2],
      ['slow, cold', '0', 4],
      ['nice', '1', 7],
    ],
  );
  assert.equal(skipped.count, 3);
  assert.deepEqual(
    skipped.first.map((e) => e.line),
    [3, 5, 6],
  );
  assert.equal(skipped.summary(), `skipped 3 bad rows of ${csv} (lines 3, 5, 6; first: empty text in "text". Fill it in or remove the example)`);

  const jsonl = await tmpFile(
    'intents.jsonl',
    '{"text": "hi", "label": "greet"}\n{"text": "bye"}\nnot json\n{"text": "card?", "label": {"x": 1}}\n{"text": "yo", "label": "greet"}\n',
  );
  skipped = new SkippedRows();
  const objs = await loadTextExamples(jsonl, { onBadRow: 'skip', skipped });
  assert.deepEqual(
    objs.map((r) => r.line),
    [1, 5],
  );
  assert.deepEqual(
    skipped.first.map((e) => e.line),
    [2, 3, 4],
  );

  const conll = await tmpFile('ner.conll', 'EU B-ORG\nrejects O\n\nGerman B-MISC\ncall O extra\nto O\n\nPeter B-PER\n');
  await rejectsAt(loadTokenExamples(conll), conll, 5, /3 field\(s\) where every line so far had 2/);
  skipped = new SkippedRows();
  const sentences = await loadTokenExamples(conll, { onBadRow: 'skip', skipped });
  assert.deepEqual(
    sentences.map((s) => s.tokens),
    [['EU', 'rejects'], ['Peter']],
  );
  assert.deepEqual(
    skipped.first.map((e) => e.line),
    [5],
  );

  // A file whose every row is bad says so, with the first problem.
  const allBad = await tmpFile('empty-texts.csv', 'text,label\n,1\n ,0\n');
  await rejectsAt(loadTextExamples(allBad, { onBadRow: 'skip' }), allBad, undefined, /every row is bad \(2 skipped\); the first, line 2: empty text/);
  // Problems of the whole file still stop.
  const cols = await tmpFile('cols.csv', 'review,label\nx,1\n');
  await rejectsAt(loadTextExamples(cols, { onBadRow: 'skip' }), cols, 1, /no column "text"/);
});

test('token JSONL: ner_tags is the default tag field (tags still read); integer tag ids need their names', async () => {
  const both = await tmpFile('hf.jsonl', '{"tokens": ["Anna", "sings"], "ner_tags": ["B-PER", "O"], "tags": ["X", "Y"]}\n{"tokens": ["Bob"], "tags": ["B-PER"]}\n');
  assert.deepEqual(
    (await loadTokenExamples(both)).map((e) => e.tags),
    [['B-PER', 'O'], ['B-PER']],
  );
  assert.deepEqual(
    (await loadTokenExamples(both, { tagsField: 'tags' })).map((e) => e.tags),
    [['X', 'Y'], ['B-PER']],
  );
  const neither = await tmpFile('none.jsonl', '{"tokens": ["Anna"], "labels": ["B-PER"]}\n');
  await rejectsAt(loadTokenExamples(neither), neither, 1, /no field "ner_tags" or "tags" \(fields: tokens, labels\)/, /--tags-column/);

  const ids = await tmpFile('ids.jsonl', '{"tokens": ["EU", "rejects", "German", "call"], "ner_tags": [3, 0, 7, 0]}\n{"tokens": ["Peter"], "ner_tags": [9]}\n');
  await rejectsAt(loadTokenExamples(ids), ids, 1, /"ner_tags" holds tag ids \(3, 0, 7, 0\), not names/, /--label-list O,B-PER,I-PER/);
  const names = ['O', 'B-PER', 'I-PER', 'B-ORG', 'I-ORG', 'B-LOC', 'I-LOC', 'B-MISC', 'I-MISC'];
  await rejectsAt(loadTokenExamples(ids, { tagNames: names }), ids, 2, /tag id 9 of word 1 in "ner_tags" is outside the label list \(ids 0 to 8\)/);
  const skipped = new SkippedRows();
  const ex = await loadTokenExamples(ids, { tagNames: names, onBadRow: 'skip', skipped });
  assert.deepEqual(
    ex.map((e) => e.tags),
    [['B-ORG', 'O', 'B-MISC', 'O']],
  );
  assert.equal(skipped.count, 1);
});

test('integer class labels named by a label list; the data layer never names a flag tuna eval lacks', async () => {
  const file = await tmpFile('sst.jsonl', '{"text": "great", "label": 1}\n{"text": "awful", "label": 0}\n{"text": "meh", "label": "2"}\n');
  const ex = await loadTextExamples(file, { labelNames: ['negative', 'positive', 'neutral'] });
  assert.deepEqual(
    ex.map((e) => e.label),
    ['positive', 'negative', 'neutral'],
  );
  await rejectsAt(loadTextExamples(file, { labelNames: ['negative', 'positive'] }), file, 3, /label id 2 in "label" is outside the label list \(ids 0 to 1\)/);
  const csv = await tmpFile('digits.csv', 'text,label\ngreat,1\nawful,0\n');
  assert.deepEqual(
    (await loadTextExamples(csv, { labelNames: ['neg', 'pos'] })).map((e) => e.label),
    ['pos', 'neg'],
  );
  assert.deepEqual(
    (await loadTextExamples(csv)).map((e) => e.label),
    ['1', '0'],
    'without a list, labels stay as written',
  );

  // A CoNLL file given to a text classifier (tuna train or tuna eval): no --task advice, which eval has not.
  const conll = await tmpFile('tags.conll', 'EU B-ORG\n');
  const err = await rejectsAt(loadTextExamples(conll), conll, undefined, /holds tagged words, not texts/, /token-classification model/);
  assert.doesNotMatch(err.message, /Use --task/);
});

/** A sample of test/fixtures (outside the data/ folder). */
const sample = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** Writes a file into the scratch directory and returns its path. */
function scratchFile(name: string, content: string | Uint8Array): string {
  const path = join(scratch, name);
  writeFileSync(path, content);
  return path;
}

test('real samples: banking77 JSONL, waimai_10k CSV with a column override, CoNLL-2003', async () => {
  const banking = await loadTextExamples(sample('banking77-4class-train.jsonl'));
  assert.equal(banking.length, 320);
  assert.equal(banking[0]!.line, 1);
  const waimai = await loadTextExamples(sample('e2e/waimai-train.csv'), { columns: { text: 'review' } });
  assert.equal(waimai.length, 400);
  assert.deepEqual(new Set(waimai.map((e) => e.label)), new Set(['0', '1']));
  assert.ok(
    waimai.some((e) => e.text.includes(',')),
    'quoted fields with commas survive',
  );
  const conll = await loadTokenExamples(sample('e2e/conll-train.conll'));
  assert.equal(conll.length, 400);
  assert.deepEqual(conll[0]!.tokens.slice(0, 3), ['EU', 'rejects', 'German']);
  assert.deepEqual(conll[0]!.tags!.slice(0, 3), ['B-ORG', 'O', 'B-MISC']);
  assert.equal(conll[1]!.line, conll[0]!.tokens.length + 2);
});

test('formats: TSV without quoting, BOM and CRLF, pairs, JSONL tokens, multi-label cells and arrays', async () => {
  const tsv = scratchFile('pairs.tsv', '\ufefftext\ttext_pair\tlabel\r\nsays "hi"\tand "bye\tyes\r\nno\tpair\tno\r\n');
  const ex = await loadTextExamples(tsv);
  assert.deepEqual(
    ex.map((e) => [e.text, e.textPair, e.label]),
    [
      ['says "hi"', 'and "bye', 'yes'],
      ['no', 'pair', 'no'],
    ],
  );
  const multi = await loadTextExamples(scratchFile('multi.csv', 'text,label\n"good food, slow",food|speed\n'), { multiLabelSeparator: '|' });
  assert.deepEqual(multi[0]!.label, ['food', 'speed']);
  const arr = await loadTextExamples(scratchFile('multi.jsonl', '{"text": "x", "label": ["a", "b"]}\n{"text": "y", "label": 3}\n'), { multiLabelSeparator: ',' });
  assert.deepEqual(
    arr.map((e) => e.label),
    [['a', 'b'], ['3']],
  );
  const tok = await loadTokenExamples(scratchFile('ner.jsonl', '{"tokens": ["Paris", "is"], "ner_tags": ["B-LOC", "O"]}\n'));
  assert.deepEqual(tok[0]!.tags, ['B-LOC', 'O']);
  assert.equal(formatOf('a.ndjson'), 'jsonl');
});

test('bad input: each problem names the file, the line and what to do', async () => {
  await rejectsMissing(loadTextExamples(join(scratch, 'nope.csv')), join(scratch, 'nope.csv'));
  const empty = scratchFile('empty.csv', '');
  await rejectsAt(loadTextExamples(empty), empty, undefined, /empty/);
  const headerOnly = scratchFile('header.csv', 'text,label\n');
  await rejectsAt(loadTextExamples(headerOnly), headerOnly, undefined, /no examples/);
  const noColumn = scratchFile('nocol.csv', 'sentence,label\nhello,a\n');
  await rejectsAt(loadTextExamples(noColumn), noColumn, 1, /no column "text".*columns: sentence, label.*--text-column/);
  const noLabel = scratchFile('nolabel.csv', 'text,category\nhello,a\n');
  await rejectsAt(loadTextExamples(noLabel), noLabel, 1, /no column "label".*--label-column/);
  const quote = scratchFile('quote.csv', 'text,label\nfine,a\n"broken,b\nmore,c\n');
  await rejectsAt(loadTextExamples(quote), quote, 3, /quoted field is never closed/); // the line where the quote opens
  const fields = scratchFile('fields.csv', 'text,label\na,b\na,b,c\n');
  await rejectsAt(loadTextExamples(fields), fields, 3, /different number of fields/);
  const bytes = new Uint8Array([...Buffer.from('text,label\nok,a\nbad '), 0xc3, 0x28, ...Buffer.from(',b\n')]);
  const utf8 = scratchFile('latin.csv', bytes);
  await rejectsAt(loadTextExamples(utf8), utf8, 3, /not valid UTF-8/);
  const json = scratchFile('bad.jsonl', '{"text": "a", "label": "x"}\n{"text": "b", label: "y"}\n');
  await rejectsAt(loadTextExamples(json), json, 2, /not valid JSON/);
  const notObject = scratchFile('array.jsonl', '["a", "x"]\n');
  await rejectsAt(loadTextExamples(notObject), notObject, 1, /expected a JSON object/);
  const wrongType = scratchFile('type.jsonl', '{"text": 5, "label": "x"}\n');
  await rejectsAt(loadTextExamples(wrongType), wrongType, 1, /"text" must be a string/);
  const emptyText = scratchFile('blank.csv', 'text,label\n   ,a\n');
  await rejectsAt(loadTextExamples(emptyText), emptyText, 2, /empty text/);
  const missingLabel = scratchFile('unlabelled.jsonl', '{"text": "a"}\n');
  await rejectsAt(loadTextExamples(missingLabel), missingLabel, 1, /no "label"/);
  assert.equal((await loadTextExamples(missingLabel, { requireLabels: false }))[0]!.label, undefined);
  const conll = scratchFile('bad.conll', 'Paris NNP B-LOC\nis VBZ O\n\nRome B-LOC\n');
  await rejectsAt(loadTokenExamples(conll), conll, 4, /2 field\(s\) where every line so far had 3/);
  const lengths = scratchFile('len.jsonl', '{"tokens": ["a", "b"], "tags": ["O"]}\n');
  await rejectsAt(loadTokenExamples(lengths), lengths, 1, /2 words but 1 tags/);
  await rejectsAt(loadTextExamples(scratchFile('x.xlsx', 'x')), join(scratch, 'x.xlsx'), undefined, /cannot tell the format/);
  await rejectsAt(loadTextExamples(conll), conll, undefined, /token-classification/);
});
