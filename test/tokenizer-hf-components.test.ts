/** Normalizer and pre-tokenizer variants behind one WordLevel vocabulary: tokens, offsets and word ids as Python tokenizers gives them. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HfTokenizer } from '../src/tokenizers/hf/tokenizer.js';

interface Variant {
  name: string;
  tokenizer: unknown;
  cases: { text: string; tokens: string[]; offsets: [number, number][]; wordIds: (number | null)[] }[];
}

const { variants } = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'hf-tokenizers', 'components', 'variants.json'), 'utf8')) as { variants: Variant[] };

describe('component variants match Python tokenizers', () => {
  for (const v of variants) {
    it(v.name, () => {
      const tok = HfTokenizer.fromJson(v.tokenizer, `${v.name}/tokenizer.json`);
      for (const c of v.cases) {
        const e = tok.encode(c.text, undefined, { addSpecialTokens: false });
        assert.deepEqual({ tokens: e.tokens, offsets: e.offsets, wordIds: e.wordIds }, { tokens: c.tokens, offsets: c.offsets, wordIds: c.wordIds }, JSON.stringify(c.text));
      }
    });
  }
});
