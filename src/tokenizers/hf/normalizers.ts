/** tokenizer.json `normalizer` components, each rewriting a NormalizedString in place. */
import { CHINESE, NONSPACING_MARK, charFlags, isChineseChar, isRemovedByCleanText, isWhitespace } from '../unicode.js';
import { type JsonAt, child, Fields, fieldError } from './json.js';
import type { NormalizedString } from './normalized.js';
import { type Pattern, parsePattern } from './pattern.js';
import { PrecompiledCharsMap, decodeBase64 } from './precompiled.js';
import { type NormalizationForm, normalizeWithChanges } from './unicode-normalization.js';

/** A normalizer. */
export interface Normalizer {
  normalize(n: NormalizedString): void;
}

/** Normalizer types tuna runs. */
export const NORMALIZER_TYPES = ['NFC', 'NFD', 'NFKC', 'NFKD', 'Lowercase', 'StripAccents', 'Strip', 'Replace', 'Prepend', 'BertNormalizer', 'Precompiled', 'Sequence'] as const;

/** Unicode normalisation with alignments. */
export function unicodeNormalize(n: NormalizedString, form: NormalizationForm): void {
  const r = normalizeWithChanges(n.text, form);
  if (r) n.transform(r.cps, r.changes);
}

const lowerCache = new Map<number, string>();

/** Lower-cases character by character (Rust `char::to_lowercase`). */
export function lowercase(n: NormalizedString): void {
  const t = n.text;
  let ascii = true;
  for (let i = 0; i < t.length; i++) {
    if (t.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    n.text = t.toLowerCase();
    return;
  }
  n.mapChars((cp) => {
    if (cp < 0x80) return cp >= 65 && cp <= 90 ? String.fromCharCode(cp + 32) : String.fromCharCode(cp);
    let l = lowerCache.get(cp);
    if (l === undefined) {
      l = String.fromCodePoint(cp).toLowerCase();
      lowerCache.set(cp, l);
    }
    return l;
  });
}

/** Removes combining non-spacing marks (category Mn). */
export function stripAccents(n: NormalizedString): void {
  n.filter((cp) => cp < 0x300 || (charFlags(cp) & NONSPACING_MARK) === 0);
}

class Unicode implements Normalizer {
  constructor(readonly form: NormalizationForm) {}
  normalize(n: NormalizedString): void {
    unicodeNormalize(n, this.form);
  }
}

class Lowercase implements Normalizer {
  normalize(n: NormalizedString): void {
    lowercase(n);
  }
}

class StripAccents implements Normalizer {
  normalize(n: NormalizedString): void {
    stripAccents(n);
  }
}

class Strip implements Normalizer {
  constructor(
    readonly left: boolean,
    readonly right: boolean,
  ) {}
  normalize(n: NormalizedString): void {
    n.strip(this.left, this.right, isWhitespace);
  }
}

class Replace implements Normalizer {
  constructor(
    readonly pattern: Pattern,
    readonly content: string,
  ) {}
  normalize(n: NormalizedString): void {
    n.replace(this.pattern.spans(n.text), this.content);
  }
}

class Prepend implements Normalizer {
  constructor(readonly prefix: string) {}
  normalize(n: NormalizedString): void {
    n.prepend(this.prefix);
  }
}

/** BERT's normalizer: clean-up, CJK spacing, accent stripping, lower-casing. */
export class BertNormalizerStep implements Normalizer {
  constructor(
    readonly cleanText: boolean,
    readonly chineseChars: boolean,
    readonly stripAccents: boolean,
    readonly lowercase: boolean,
  ) {}
  normalize(n: NormalizedString): void {
    if (this.cleanText) {
      n.filter((cp) => !isRemovedByCleanText(cp));
      n.mapChars((cp) => (isWhitespace(cp) ? ' ' : String.fromCodePoint(cp)));
    }
    if (this.chineseChars) {
      let any = false;
      for (const ch of n.text) {
        if ((charFlags(ch.codePointAt(0)!) & CHINESE) !== 0) {
          any = true;
          break;
        }
      }
      if (any) {
        const cps: number[] = [];
        const changes: number[] = [];
        for (const ch of n.text) {
          const cp = ch.codePointAt(0)!;
          if (isChineseChar(cp)) {
            cps.push(32, cp, 32);
            changes.push(0, 1, 1);
          } else {
            cps.push(cp);
            changes.push(0);
          }
        }
        n.transform(cps, changes);
      }
    }
    if (this.stripAccents) {
      unicodeNormalize(n, 'NFD');
      stripAccents(n);
    }
    if (this.lowercase) lowercase(n);
  }
}

class Precompiled implements Normalizer {
  constructor(readonly map: PrecompiledCharsMap) {}
  normalize(n: NormalizedString): void {
    this.map.normalize(n);
  }
}

class Sequence implements Normalizer {
  constructor(readonly steps: readonly Normalizer[]) {}
  normalize(n: NormalizedString): void {
    for (const s of this.steps) s.normalize(n);
  }
}

/** Builds the normalizer a tokenizer.json `normalizer` value describes (null: none). */
export function parseNormalizer(v: unknown, at: JsonAt): Normalizer | undefined {
  if (v === null || v === undefined) return undefined;
  const f = new Fields(v, at);
  const type = f.type(NORMALIZER_TYPES);
  switch (type) {
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD':
      return new Unicode(type);
    case 'Lowercase':
      return new Lowercase();
    case 'StripAccents':
      return new StripAccents();
    case 'Strip':
      return new Strip(f.bool('strip_left', true), f.bool('strip_right', true));
    case 'Replace':
      return new Replace(parsePattern(f.raw('pattern'), f.at_('pattern')), f.string('content'));
    case 'Prepend':
      return new Prepend(f.string('prepend'));
    case 'BertNormalizer': {
      const lower = f.bool('lowercase', true);
      return new BertNormalizerStep(f.bool('clean_text', true), f.bool('handle_chinese_chars', true), f.optBool('strip_accents') ?? lower, lower);
    }
    case 'Precompiled': {
      const raw = f.raw('precompiled_charsmap');
      if (raw === null || raw === undefined || raw === '') return new Sequence([]);
      const s = f.string('precompiled_charsmap');
      try {
        return new Precompiled(new PrecompiledCharsMap(decodeBase64(s)));
      } catch (e) {
        throw fieldError(f.at_('precompiled_charsmap'), `is not a sentencepiece charsmap: ${(e as Error).message}`);
      }
    }
    case 'Sequence': {
      const list = f.array('normalizers');
      return new Sequence(list.map((x, i) => parseNormalizer(x, child(f.at_('normalizers'), i)) ?? new Sequence([])));
    }
  }
  throw fieldError(f.at_('type'), 'is not supported');
}
