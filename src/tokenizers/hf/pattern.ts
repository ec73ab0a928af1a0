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

/**
 * Translates the Oniguruma constructs tokenizer.json files use into JavaScript: `\s`/`\S` as Unicode
 * White_Space, `\w`/`\W`/`\d` as Unicode classes, `\A`/`\z` anchors, `\h`.
 */
export function translateRegex(source: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\' && i + 1 < source.length) {
      const n = source[i + 1]!;
      i++;
      const W = '\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}';
      switch (n) {
        case 's':
          out += inClass ? '\\p{White_Space}' : '\\p{White_Space}';
          break;
        case 'S':
          out += inClass ? '\\P{White_Space}' : '\\P{White_Space}';
          break;
        case 'w':
          out += inClass ? W : `[${W}]`;
          break;
        case 'W':
          out += inClass ? '\\W' : `[^${W}]`;
          break;
        case 'd':
          out += '\\p{Nd}';
          break;
        case 'h':
          out += inClass ? '0-9a-fA-F' : '[0-9a-fA-F]';
          break;
        case 'A':
          out += '^';
          break;
        case 'z':
        case 'Z':
          out += '$';
          break;
        default:
          out += `\\${n}`;
      }
      continue;
    }
    if (c === '[' && !inClass) inClass = true;
    else if (c === ']' && inClass) inClass = false;
    out += c;
  }
  return out;
}

/** Compiles a tokenizer.json regex, or fails naming the field. */
export function compileRegex(source: string, at: JsonAt): RegExp {
  try {
    return new RegExp(translateRegex(source), 'gu');
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
