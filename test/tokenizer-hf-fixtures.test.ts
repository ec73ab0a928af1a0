/** HfTokenizer against encodings and decodes written by Python `tokenizers` (tools/make-hf-tokenizer-fixtures.py). */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import type { EncodeOptions, Encoding } from '../src/tokenizers/encoding.js';
import { HfTokenizer } from '../src/tokenizers/hf/tokenizer.js';

const ROOT = join(import.meta.dirname, 'fixtures', 'hf-tokenizers');

interface Expected {
  ids: number[];
  tokens: string[];
  typeIds: number[];
  attentionMask: number[];
  specialTokensMask: number[];
  offsets: [number, number][];
  wordIds: (number | null)[];
  sequenceIds: (number | null)[];
}
interface Case {
  text: string;
  pair?: string;
  addSpecialTokens: boolean;
  options?: EncodeOptions;
  expected?: Expected;
  error?: string;
}
interface Fixture {
  vocabSize: number;
  cases: Case[];
  batch: { texts: string[]; expected: Expected[] };
  decodes: { ids: number[]; skipSpecialTokens: boolean; text: string }[];
  words: { words: string[]; expected: Expected }[];
}

/** Loads a fixture directory's tokenizer. */
export function loadFixture(name: string): { tok: HfTokenizer; fixture: Fixture; dir: string } {
  const dir = join(ROOT, name);
  const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
  const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
  const fixture = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Fixture;
  return { tok: HfTokenizer.fromJson(json, join(dir, 'tokenizer.json'), config), fixture, dir };
}

function view(e: Encoding): Expected {
  return {
    ids: e.inputIds,
    tokens: e.tokens,
    typeIds: e.tokenTypeIds,
    attentionMask: e.attentionMask,
    specialTokensMask: e.specialTokensMask,
    offsets: e.offsets,
    wordIds: e.wordIds,
    sequenceIds: e.sequenceIds,
  };
}

/** Checks every case of a fixture against a tokenizer. */
export function checkFixture(tok: HfTokenizer, fixture: Fixture): void {
  for (const c of fixture.cases) {
    const label = `${JSON.stringify(c.text)}${c.pair === undefined ? '' : ` + ${JSON.stringify(c.pair)}`} ${JSON.stringify(c.options ?? { addSpecialTokens: c.addSpecialTokens })}`;
    const opts: EncodeOptions = { addSpecialTokens: c.addSpecialTokens, ...c.options };
    if (c.error !== undefined) {
      assert.throws(() => tok.encode(c.text, c.pair, opts), /truncat/i, label);
      continue;
    }
    assert.deepEqual(view(tok.encode(c.text, c.pair, opts)), c.expected, label);
  }
  const batch = tok.encodeBatch(fixture.batch.texts);
  assert.deepEqual(batch.map(view), fixture.batch.expected, 'encodeBatch');
  for (const w of fixture.words) assert.deepEqual(view(tok.encodeWords(w.words)), w.expected, `encodeWords ${JSON.stringify(w.words)}`);
  for (const d of fixture.decodes) {
    assert.equal(
      tok.decode(d.ids, { skipSpecialTokens: d.skipSpecialTokens, cleanUpTokenizationSpaces: false }),
      d.text,
      `decode ${JSON.stringify(d.ids)} skip=${d.skipSpecialTokens}`,
    );
  }
}

// Other test files import the helpers above; the suite runs only when this file is the one run.
const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;

describe('HfTokenizer matches Python tokenizers on trained fixtures', { skip: !isMain }, () => {
  for (const name of readdirSync(ROOT)
    .sort()
    .filter((n) => existsSync(join(ROOT, n, 'expected.json')))) {
    it(name, () => {
      const { tok, fixture } = loadFixture(name);
      assert.equal(tok.vocabSize, fixture.vocabSize, 'vocabSize');
      checkFixture(tok, fixture);
    });
  }
});
