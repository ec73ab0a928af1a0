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

/** Collects matches into spans covering the whole text. */
class SpanBuilder {
  readonly out: MatchSpan[] = [];
  private prev = 0;
  constructor(private readonly length: number) {}
  match(a: number, b: number): void {
    if (this.prev !== a) this.out.push([this.prev, a, false]);
    this.out.push([a, b, true]);
    this.prev = b;
  }
  finish(): MatchSpan[] {
    if (this.length === 0) return [[0, 0, false]];
    if (this.prev !== this.length) this.out.push([this.prev, this.length, false]);
    return this.out;
  }
}

/** Matches of a literal string (left to right, non-overlapping); an empty string matches nothing. */
export class StringPattern implements Pattern {
  constructor(readonly literal: string) {}
  spans(text: string): MatchSpan[] {
    const s = this.literal;
    if (s.length === 0) return [[0, text.length, false]];
    const b = new SpanBuilder(text.length);
    for (let at = text.indexOf(s); at >= 0; at = text.indexOf(s, at + s.length)) b.match(at, at + s.length);
    return b.finish();
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
    const b = new SpanBuilder(text.length);
    re.lastIndex = 0;
    for (;;) {
      const m = re.exec(text);
      if (!m) break;
      const start = m.index;
      const end = start + m[0].length;
      b.match(start, end);
      if (end === start) {
        if (end >= text.length) break;
        re.lastIndex = end + (text.codePointAt(end)! > 0xffff ? 2 : 1);
      }
    }
    return b.finish();
  }
}

/** Matches of single characters that `test` accepts. */
export class CharPattern implements Pattern {
  constructor(readonly test: (cp: number) => boolean) {}
  spans(text: string): MatchSpan[] {
    const b = new SpanBuilder(text.length);
    for (let i = 0; i < text.length; ) {
      const c = text.charCodeAt(i);
      const cp = c >= 0xd800 && c <= 0xdbff ? text.codePointAt(i)! : c;
      const n = cp > 0xffff ? 2 : 1;
      if (this.test(cp)) b.match(i, i + n);
      i += n;
    }
    return b.finish();
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
