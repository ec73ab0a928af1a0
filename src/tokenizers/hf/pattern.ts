/**
 * Patterns that normalizers and pre-tokenizers split or replace on, producing the spans Hugging
 * Face's `Pattern::find_matches` produces: the whole text cut into matches and the gaps between them.
 */
import { type JsonAt, fieldError, Fields } from './json.js';
import type { MatchSpan } from './normalized.js';

/** Something that finds its matches in a text. */
export interface Pattern {
  spans(text: string): MatchSpan[];
}

function fromMatches(text: string, matches: Iterable<readonly [number, number]>): MatchSpan[] {
  if (text.length === 0) return [[0, 0, false]];
  const out: MatchSpan[] = [];
  let prev = 0;
  for (const [a, b] of matches) {
    if (prev !== a) out.push([prev, a, false]);
    out.push([a, b, true]);
    prev = b;
  }
  if (prev !== text.length) out.push([prev, text.length, false]);
  return out;
}

/** Matches of a literal string (left to right, non-overlapping); an empty string matches nothing. */
export class StringPattern implements Pattern {
  constructor(readonly literal: string) {}
  spans(text: string): MatchSpan[] {
    const s = this.literal;
    if (s.length === 0) return [[0, text.length, false]];
    function* find(): Generator<[number, number]> {
      let at = text.indexOf(s);
      while (at >= 0) {
        yield [at, at + s.length];
        at = text.indexOf(s, at + s.length);
      }
    }
    return fromMatches(text, find());
  }
}

/** Matches of a regular expression (Oniguruma syntax in tokenizer.json, run as a JavaScript `u` regex). */
export class RegexPattern implements Pattern {
  readonly re: RegExp;
  constructor(source: string, at: JsonAt) {
    this.re = compileRegex(source, at);
  }
  spans(text: string): MatchSpan[] {
    const re = this.re;
    function* find(): Generator<[number, number]> {
      re.lastIndex = 0;
      for (;;) {
        const m = re.exec(text);
        if (!m) return;
        const a = m.index;
        const b = a + m[0].length;
        yield [a, b];
        if (b === a) {
          if (b >= text.length) return;
          re.lastIndex = b + (text.codePointAt(b)! > 0xffff ? 2 : 1);
        }
      }
    }
    return fromMatches(text, find());
  }
}

/** Matches of single characters that `test` accepts. */
export class CharPattern implements Pattern {
  constructor(readonly test: (cp: number) => boolean) {}
  spans(text: string): MatchSpan[] {
    const test = this.test;
    function* find(): Generator<[number, number]> {
      for (let i = 0; i < text.length; ) {
        const cp = text.codePointAt(i)!;
        const n = cp > 0xffff ? 2 : 1;
        if (test(cp)) yield [i, i + n];
        i += n;
      }
    }
    return fromMatches(text, find());
  }
}

/** A pattern whose matches and gaps are swapped. */
export class InvertedPattern implements Pattern {
  constructor(readonly inner: Pattern) {}
  spans(text: string): MatchSpan[] {
    return this.inner.spans(text).map(([a, b, m]) => [a, b, !m] as const);
  }
}

const W = '\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}';

function escapeClass(n: string, inClass: boolean): string {
  switch (n) {
    case 's':
      return '\\p{White_Space}';
    case 'S':
      return '\\P{White_Space}';
    case 'w':
      return inClass ? W : `[${W}]`;
    case 'W':
      return inClass ? '\\W' : `[^${W}]`;
    case 'd':
      return '\\p{Nd}';
    case 'h':
      return inClass ? '0-9a-fA-F' : '[0-9a-fA-F]';
    case 'A':
      return '^';
    case 'z':
    case 'Z':
      return '$';
    default:
      return `\\${n}`;
  }
}

/**
 * Translates the Oniguruma constructs tokenizer.json files use into a JavaScript `u` regex: `\s`/`\S`
 * as Unicode White_Space, `\w`/`\W`/`\d` as Unicode classes, `\A`/`\z` anchors, `\h`, and
 * case-insensitive groups `(?i:...)` (letters outside character classes matched in both cases).
 * Returns the source and whether the whole pattern is case-insensitive (a leading `(?i)`).
 */
export function translateRegex(source: string): { source: string; ignoreCase: boolean } {
  let src = source;
  let ignoreCase = false;
  if (src.startsWith('(?i)')) {
    ignoreCase = true;
    src = src.slice(4);
  }
  let out = '';
  let inClass = false;
  const groups: boolean[] = [];
  let caseless = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\' && i + 1 < src.length) {
      const n = src[++i]!;
      if ((n === 'p' || n === 'P' || n === 'u' || n === 'x') && src[i + 1] === '{') {
        const close = src.indexOf('}', i);
        out += `\\${src.slice(i, close + 1)}`;
        i = close;
        continue;
      }
      out += escapeClass(n, inClass);
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (src[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(') {
      if (src.startsWith('(?i:', i)) {
        groups.push(true);
        caseless++;
        out += '(?:';
        i += 3;
        continue;
      }
      groups.push(false);
      out += c;
      continue;
    }
    if (c === ')') {
      if (groups.pop()) caseless--;
      out += c;
      continue;
    }
    if (caseless > 0) {
      const lo = c.toLowerCase();
      const up = c.toUpperCase();
      if (lo !== up && lo.length === 1 && up.length === 1) {
        out += `[${lo}${up}]`;
        continue;
      }
    }
    out += c;
  }
  return { source: out, ignoreCase };
}

/** Compiles a tokenizer.json regex, or fails naming the field. */
export function compileRegex(source: string, at: JsonAt): RegExp {
  try {
    const t = translateRegex(source);
    return new RegExp(t.source, t.ignoreCase ? 'giu' : 'gu');
  } catch (e) {
    throw fieldError(at, `regex ${JSON.stringify(source)} cannot be used: ${(e as Error).message}`);
  }
}

/** Reads a `{ "String": "..." }` or `{ "Regex": "..." }` pattern. */
export function parsePattern(v: unknown, at: JsonAt): Pattern {
  const f = new Fields(v, at);
  if (f.has('String')) return new StringPattern(f.string('String'));
  if (f.has('Regex')) return new RegexPattern(f.string('Regex'), f.at_('Regex'));
  throw fieldError(at, 'must be {"String": ...} or {"Regex": ...}');
}
