/**
 * A piece of text being normalised, with the alignment of every normalised code unit to a range of
 * the original string (UTF-16 code units), following the rules of Hugging Face's `NormalizedString`:
 * a replaced character keeps the alignment of the character it replaces, an inserted one takes the
 * alignment of the character before it, removed characters disappear.
 */

/** One part of a split: [start, end) in the normalised text, and whether it is a pattern match. */
export type MatchSpan = readonly [start: number, end: number, isMatch: boolean];

/** How a split treats the delimiters that a pattern matches. */
export type SplitBehavior = 'removed' | 'isolated' | 'merged_with_previous' | 'merged_with_next' | 'contiguous';

/** Length in code units of the code point starting at `i`. */
export function unitLength(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
    const d = text.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return 2;
  }
  return 1;
}

/** The code points of `text`. */
export function codePoints(text: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    out.push(cp);
    i += cp > 0xffff ? 2 : 1;
  }
  return out;
}

/** A normalised string and its alignments to the original text. */
export class NormalizedString {
  /**
   * @param text The normalised text.
   * @param starts Original start of each code unit of `text` (absolute, in the whole original string).
   * @param ends Original end of each code unit of `text`.
   * @param origStart Start of the original range this piece covers.
   * @param origEnd End of that range.
   */
  constructor(
    public text: string,
    public starts: number[],
    public ends: number[],
    readonly origStart: number,
    readonly origEnd: number,
  ) {}

  /** The identity normalisation of `text` (or of `text.slice(from, to)`, offsets still absolute). */
  static fromOriginal(text: string, from = 0, to = text.length): NormalizedString {
    const n = to - from;
    const starts = new Array<number>(n);
    const ends = new Array<number>(n);
    for (let i = from; i < to; ) {
      const len = unitLength(text, i);
      for (let k = 0; k < len; k++) {
        starts[i - from + k] = i;
        ends[i - from + k] = i + len;
      }
      i += len;
    }
    return new NormalizedString(text.slice(from, to), starts, ends, from, to);
  }

  get length(): number {
    return this.text.length;
  }

  /**
   * Rewrites the text from code points `cps`, each with a change: 0 replaces the next character,
   * 1 is inserted, -n replaces the next character and removes the n after it. `initialOffset`
   * characters are removed from the start first.
   */
  transform(cps: readonly number[], changes: readonly number[], initialOffset = 0): void {
    const cur = this.text;
    let pos = 0;
    for (let k = 0; k < initialOffset && pos < cur.length; k++) pos += unitLength(cur, pos);
    let text = '';
    const starts: number[] = [];
    const ends: number[] = [];
    for (let k = 0; k < cps.length; k++) {
      const cp = cps[k]!;
      const change = changes[k]!;
      let s: number;
      let e: number;
      if (change > 0) {
        if (pos < 1) {
          s = this.origStart;
          e = this.origStart;
        } else {
          s = this.starts[pos - 1]!;
          e = this.ends[pos - 1]!;
        }
      } else {
        const at = Math.min(pos, cur.length - 1);
        s = at >= 0 ? this.starts[at]! : this.origStart;
        e = at >= 0 ? this.ends[at]! : this.origStart;
        if (pos < cur.length) pos += unitLength(cur, pos);
        for (let r = 0; r < -change && pos < cur.length; r++) pos += unitLength(cur, pos);
      }
      const ch = String.fromCodePoint(cp);
      text += ch;
      for (let u = 0; u < ch.length; u++) {
        starts.push(s);
        ends.push(e);
      }
    }
    this.text = text;
    this.starts = starts;
    this.ends = ends;
  }

  /** Applies a per-code-point mapping where each character becomes one or more characters. */
  mapChars(map: (cp: number) => string): void {
    const cps: number[] = [];
    const changes: number[] = [];
    let changed = false;
    for (let i = 0; i < this.text.length; ) {
      const cp = this.text.codePointAt(i)!;
      i += cp > 0xffff ? 2 : 1;
      const out = map(cp);
      let first = true;
      for (let j = 0; j < out.length; ) {
        const o = out.codePointAt(j)!;
        j += o > 0xffff ? 2 : 1;
        cps.push(o);
        changes.push(first ? 0 : 1);
        if (o !== cp || !first) changed = true;
        first = false;
      }
      if (first) throw new Error('mapChars: a character must map to at least one character');
    }
    if (changed) this.transform(cps, changes);
  }

  /** Keeps the characters `keep` accepts (Hugging Face's `filter`). */
  filter(keep: (cp: number) => boolean): void {
    const cps: number[] = [];
    const changes: number[] = [];
    let removed = 0;
    let removedStart = 0;
    let last = -1;
    let any = false;
    for (let i = 0; i < this.text.length; ) {
      const cp = this.text.codePointAt(i)!;
      i += cp > 0xffff ? 2 : 1;
      if (keep(cp)) {
        if (last >= 0) {
          cps.push(last);
          changes.push(-removed);
        } else removedStart = removed;
        last = cp;
        removed = 0;
      } else {
        removed++;
        any = true;
      }
    }
    if (!any) return;
    if (last >= 0) {
      cps.push(last);
      changes.push(-removed);
    }
    this.transform(cps, changes, removedStart);
  }

  /** Prepends `s` (nothing when the text is empty): every new character aligns with the first one. */
  prepend(s: string): void {
    if (this.text.length === 0 || s.length === 0) return;
    const len = unitLength(this.text, 0);
    const st = this.starts[0]!;
    const en = this.ends[0]!;
    const add = s.length;
    this.text = s + this.text;
    this.starts = [...new Array<number>(add).fill(st), ...this.starts];
    this.ends = [...new Array<number>(add).fill(en), ...this.ends];
    void len;
  }

  /** Appends `s`: the new characters align with the last one. */
  append(s: string): void {
    if (s.length === 0) return;
    const n = this.text.length;
    const st = n > 0 ? this.starts[n - 1]! : this.origStart;
    const en = n > 0 ? this.ends[n - 1]! : this.origStart;
    this.text += s;
    for (let i = 0; i < s.length; i++) {
      this.starts.push(st);
      this.ends.push(en);
    }
  }

  /** Replaces every matched span with `content` (whose characters align with the last matched character). */
  replace(spans: readonly MatchSpan[], content: string): void {
    let text = '';
    const starts: number[] = [];
    const ends: number[] = [];
    let any = false;
    for (const [a, b, isMatch] of spans) {
      if (!isMatch) {
        text += this.text.slice(a, b);
        for (let i = a; i < b; i++) {
          starts.push(this.starts[i]!);
          ends.push(this.ends[i]!);
        }
        continue;
      }
      any = true;
      const s = b >= 1 ? this.starts[b - 1]! : this.origStart;
      const e = b >= 1 ? this.ends[b - 1]! : this.origStart;
      text += content;
      for (let i = 0; i < content.length; i++) {
        starts.push(s);
        ends.push(e);
      }
    }
    if (!any) return;
    this.text = text;
    this.starts = starts;
    this.ends = ends;
  }

  /** Removes leading and/or trailing whitespace (Rust `char::is_whitespace`). */
  strip(left: boolean, right: boolean, isSpace: (cp: number) => boolean): void {
    let a = 0;
    let b = this.text.length;
    if (left) while (a < b && isSpace(this.text.codePointAt(a)!)) a += unitLength(this.text, a);
    if (right) {
      while (b > a) {
        const lo = this.text.charCodeAt(b - 1);
        const w = lo >= 0xdc00 && lo <= 0xdfff && b >= 2 ? 2 : 1;
        if (!isSpace(this.text.codePointAt(b - w)!)) break;
        b -= w;
      }
    }
    if (a === 0 && b === this.text.length) return;
    this.text = this.text.slice(a, b);
    this.starts = this.starts.slice(a, b);
    this.ends = this.ends.slice(a, b);
  }

  /** The piece [a, b) of the normalised text, as its own NormalizedString. */
  slice(a: number, b: number): NormalizedString {
    const os = a < b ? this.starts[a]! : a < this.text.length ? this.starts[a]! : this.origEnd;
    const oe = a < b ? this.ends[b - 1]! : os;
    return new NormalizedString(this.text.slice(a, b), this.starts.slice(a, b), this.ends.slice(a, b), os, oe);
  }

  /** The original range [start, end) of the normalised range [a, b); empty ranges map to an empty range. */
  originalRange(a: number, b: number): [number, number] {
    if (a >= b) {
      const p = a < this.text.length ? this.starts[a]! : this.text.length > 0 ? this.ends[this.text.length - 1]! : this.origStart;
      return [p, p];
    }
    return [this.starts[a]!, this.ends[b - 1]!];
  }

  /** Splits by the spans of a pattern, treating matches as `behavior` says; empty pieces are dropped. */
  split(spans: readonly MatchSpan[], behavior: SplitBehavior): NormalizedString[] {
    const pieces = groupSpans(spans, behavior);
    const out: NormalizedString[] = [];
    for (const [a, b, remove] of pieces) if (!remove && b > a) out.push(this.slice(a, b));
    return out;
  }
}

/** Which ranges a split keeps: [start, end, remove]. */
export function groupSpans(spans: readonly MatchSpan[], behavior: SplitBehavior): [number, number, boolean][] {
  const acc: [number, number, boolean][] = [];
  switch (behavior) {
    case 'isolated':
      for (const [a, b] of spans) acc.push([a, b, false]);
      return acc;
    case 'removed':
      for (const [a, b, m] of spans) acc.push([a, b, m]);
      return acc;
    case 'contiguous': {
      let prev = false;
      for (const [a, b, m] of spans) {
        const last = acc[acc.length - 1];
        if (m === prev && last) last[1] = b;
        else acc.push([a, b, false]);
        prev = m;
      }
      return acc;
    }
    case 'merged_with_previous': {
      let prev = false;
      for (const [a, b, m] of spans) {
        const last = acc[acc.length - 1];
        if (m && !prev && last) last[1] = b;
        else acc.push([a, b, false]);
        prev = m;
      }
      return acc;
    }
    case 'merged_with_next': {
      let prev = false;
      for (let i = spans.length - 1; i >= 0; i--) {
        const [a, b, m] = spans[i]!;
        const last = acc[acc.length - 1];
        if (m && !prev && last) last[0] = a;
        else acc.push([a, b, false]);
        prev = m;
      }
      return acc.reverse();
    }
  }
}
