/** tokenizer.json `pre_tokenizer` components: each cuts a piece of normalised text into smaller pieces. */
import { PUNCTUATION, charFlags, isWhitespace } from '../unicode.js';
import { GPT2_PATTERN, toByteLevel } from './byte-level.js';
import { type JsonAt, child, Fields, fieldError } from './json.js';
import type { NormalizedString, SplitBehavior } from './normalized.js';
import { CharPattern, InvertedPattern, type Pattern, RegexPattern, parsePattern } from './pattern.js';

/** A pre-tokenizer: one piece in, its pieces out (empty pieces dropped). */
export interface PreTokenizer {
  split(n: NormalizedString): NormalizedString[];
}

/** Pre-tokenizer types tuna runs. */
export const PRE_TOKENIZER_TYPES = [
  'ByteLevel',
  'Metaspace',
  'Split',
  'Punctuation',
  'Whitespace',
  'WhitespaceSplit',
  'BertPreTokenizer',
  'Digits',
  'CharDelimiterSplit',
  'Sequence',
] as const;

const BEHAVIORS: ReadonlyMap<string, SplitBehavior> = new Map([
  ['Removed', 'removed'],
  ['Isolated', 'isolated'],
  ['MergedWithPrevious', 'merged_with_previous'],
  ['MergedWithNext', 'merged_with_next'],
  ['Contiguous', 'contiguous'],
  ['removed', 'removed'],
  ['isolated', 'isolated'],
  ['merged_with_previous', 'merged_with_previous'],
  ['merged_with_next', 'merged_with_next'],
  ['contiguous', 'contiguous'],
]);

function behavior(f: Fields, key: string, dflt: SplitBehavior): SplitBehavior {
  if (!f.has(key)) return dflt;
  const s = f.string(key);
  const b = BEHAVIORS.get(s);
  if (!b) throw fieldError(f.at_(key), `${JSON.stringify(s)} is not a split behavior; supported: Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous`);
  return b;
}

/** Bert/tokenizers punctuation: ASCII punctuation and Unicode category P. */
export function isPunctuationCp(cp: number): boolean {
  return (charFlags(cp) & PUNCTUATION) !== 0;
}

const NUMERIC = /^\p{N}$/u;
const numericCache = new Map<number, boolean>();
function isNumeric(cp: number): boolean {
  if (cp < 0x80) return cp >= 48 && cp <= 57;
  let r = numericCache.get(cp);
  if (r === undefined) {
    r = NUMERIC.test(String.fromCodePoint(cp));
    numericCache.set(cp, r);
  }
  return r;
}

class PatternSplit implements PreTokenizer {
  constructor(
    readonly pattern: Pattern,
    readonly behavior: SplitBehavior,
  ) {}
  split(n: NormalizedString): NormalizedString[] {
    return n.split(this.pattern.spans(n.text), this.behavior);
  }
}

class Chain implements PreTokenizer {
  constructor(readonly steps: readonly PreTokenizer[]) {}
  split(n: NormalizedString): NormalizedString[] {
    let pieces = [n];
    for (const s of this.steps) pieces = pieces.flatMap((p) => s.split(p));
    return pieces;
  }
}

/** GPT-2's byte-level pre-tokenizer. */
export class ByteLevelPreTokenizer implements PreTokenizer {
  private readonly regex = new RegexPattern(GPT2_PATTERN, { file: '', path: '' });
  constructor(
    readonly addPrefixSpace: boolean,
    readonly useRegex: boolean,
  ) {}
  split(n: NormalizedString): NormalizedString[] {
    if (this.addPrefixSpace && !n.text.startsWith(' ')) n.prepend(' ');
    const pieces = this.useRegex ? n.split(this.regex.spans(n.text), 'isolated') : n.length > 0 ? [n] : [];
    for (const p of pieces) toByteLevel(p);
    return pieces;
  }
}

/** SentencePiece-style spaces: ' ' becomes the replacement, optionally prepended, pieces start at it. */
export class MetaspacePreTokenizer implements PreTokenizer {
  private readonly space = new CharPattern((cp) => cp === 32);
  private readonly marker: CharPattern;
  constructor(
    readonly replacement: string,
    readonly prependScheme: 'always' | 'first' | 'never',
    readonly splitPieces: boolean,
  ) {
    const r = replacement.codePointAt(0)!;
    this.marker = new CharPattern((cp) => cp === r);
  }
  split(n: NormalizedString): NormalizedString[] {
    n.replace(this.space.spans(n.text), this.replacement);
    if (this.prependScheme !== 'never' && !n.text.startsWith(this.replacement)) {
      if (this.prependScheme === 'always' || n.origStart === 0) n.prepend(this.replacement);
    }
    if (!this.splitPieces) return n.length > 0 ? [n] : [];
    return n.split(this.marker.spans(n.text), 'merged_with_next');
  }
}

/** The prepend scheme of a Metaspace pre-tokenizer or decoder (older files say `add_prefix_space`). */
export function prependScheme(f: Fields): 'always' | 'first' | 'never' {
  if (f.has('prepend_scheme')) {
    const s = f.string('prepend_scheme');
    if (s === 'always' || s === 'first' || s === 'never') return s;
    throw fieldError(f.at_('prepend_scheme'), `${JSON.stringify(s)} is not supported; supported: always, first, never`);
  }
  return f.bool('add_prefix_space', true) ? 'always' : 'never';
}

/** The replacement character of a Metaspace component. */
export function metaspaceReplacement(f: Fields): string {
  const r = f.string('replacement', '\u2581');
  if ([...r].length !== 1) throw fieldError(f.at_('replacement'), `must be one character, got ${JSON.stringify(r)}`);
  return r;
}

const WORDS = '\\w+|[^\\w\\s]+';

/** Builds the pre-tokenizer a tokenizer.json `pre_tokenizer` value describes (null: none). */
export function parsePreTokenizer(v: unknown, at: JsonAt): PreTokenizer | undefined {
  if (v === null || v === undefined) return undefined;
  const f = new Fields(v, at);
  const type = f.type(PRE_TOKENIZER_TYPES);
  switch (type) {
    case 'ByteLevel':
      return new ByteLevelPreTokenizer(f.bool('add_prefix_space', true), f.bool('use_regex', true));
    case 'Metaspace':
      return new MetaspacePreTokenizer(metaspaceReplacement(f), prependScheme(f), f.bool('split', true));
    case 'Split': {
      const pattern = parsePattern(f.raw('pattern'), f.at_('pattern'));
      const b = behavior(f, 'behavior', 'removed');
      return new PatternSplit(f.bool('invert', false) ? new InvertedPattern(pattern) : pattern, b);
    }
    case 'Punctuation':
      return new PatternSplit(new CharPattern(isPunctuationCp), behavior(f, 'behavior', 'isolated'));
    case 'Whitespace':
      return new PatternSplit(new InvertedPattern(new RegexPattern(WORDS, f.at)), 'removed');
    case 'WhitespaceSplit':
      return new PatternSplit(new CharPattern(isWhitespace), 'removed');
    case 'BertPreTokenizer':
      return new Chain([new PatternSplit(new CharPattern(isWhitespace), 'removed'), new PatternSplit(new CharPattern(isPunctuationCp), 'isolated')]);
    case 'Digits':
      return new PatternSplit(new CharPattern(isNumeric), f.bool('individual_digits', false) ? 'isolated' : 'contiguous');
    case 'CharDelimiterSplit': {
      const d = f.string('delimiter');
      const cp = d.codePointAt(0);
      return new PatternSplit(new CharPattern((c) => c === cp), 'removed');
    }
    case 'Sequence': {
      const list = f.array('pretokenizers');
      return new Chain(list.map((x, i) => parsePreTokenizer(x, child(f.at_('pretokenizers'), i)) ?? new Chain([])));
    }
  }
  throw fieldError(f.at_('type'), 'is not supported');
}
