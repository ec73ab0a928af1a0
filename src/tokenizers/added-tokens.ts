/**
 * Added tokens (special tokens such as [CLS]/[MASK], and user-added words) and how they are found
 * in text before normal tokenisation, following Hugging Face's AddedVocabulary: leftmost-longest
 * non-overlapping matches, with the `single_word`, `lstrip` and `rstrip` options.
 */
import { WORD, charFlags, isWhitespace } from './unicode.js';

/** An added token as written in tokenizer.json's `added_tokens` (camel-cased). */
export interface AddedToken {
  readonly id: number;
  readonly content: string;
  /** Special tokens are skipped by `decode(ids, { skipSpecialTokens: true })`. */
  readonly special: boolean;
  /** Matched in the normalised text (true) or in the raw text (false). */
  readonly normalized: boolean;
  /** Swallow the whitespace on the left of a match. */
  readonly lstrip: boolean;
  /** Swallow the whitespace on the right of a match. */
  readonly rstrip: boolean;
  /** Only match when not inside a word. */
  readonly singleWord: boolean;
}

/** An added token to declare; unset flags take Hugging Face's defaults (`normalized` = not special). */
export interface AddedTokenSpec {
  readonly content: string;
  /** Its id; by default the vocabulary's id for `content`, else the next free id. */
  readonly id?: number;
  readonly special?: boolean;
  readonly normalized?: boolean;
  readonly lstrip?: boolean;
  readonly rstrip?: boolean;
  readonly singleWord?: boolean;
}

/** One match: [start, end) in the searched text (after lstrip/rstrip) and the token. */
export interface AddedTokenMatch {
  readonly start: number;
  readonly end: number;
  readonly token: AddedToken;
}

interface Candidate {
  readonly pattern: string;
  readonly token: AddedToken;
}

function codePointBefore(text: string, i: number): number {
  const lo = text.charCodeAt(i - 1);
  if (lo >= 0xdc00 && lo <= 0xdfff && i >= 2) {
    const hi = text.charCodeAt(i - 2);
    if (hi >= 0xd800 && hi <= 0xdbff) return 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
  }
  return lo;
}

/** Finds added tokens in text. Patterns are the token contents (or their normalised forms). */
export class AddedTokenMatcher {
  private readonly byFirstUnit = new Map<number, Candidate[]>();

  constructor(entries: readonly Candidate[]) {
    for (const e of entries) {
      if (e.pattern.length === 0) continue;
      const key = e.pattern.charCodeAt(0);
      const list = this.byFirstUnit.get(key) ?? [];
      if (!list.some((c) => c.pattern === e.pattern)) list.push(e);
      list.sort((a, b) => b.pattern.length - a.pattern.length);
      this.byFirstUnit.set(key, list);
    }
  }

  /** Whether there is nothing to match. */
  get empty(): boolean {
    return this.byFirstUnit.size === 0;
  }

  /** Matches in `text.slice(from, to)`, which is treated as the whole sentence (for `singleWord`, `lstrip`). */
  find(text: string, from: number, to: number): AddedTokenMatch[] {
    const out: AddedTokenMatch[] = [];
    let consumed = from;
    let i = from;
    while (i < to) {
      const list = this.byFirstUnit.get(text.charCodeAt(i));
      let hit: Candidate | undefined;
      if (list) {
        for (const c of list) {
          if (c.pattern.length <= to - i && text.startsWith(c.pattern, i)) {
            hit = c;
            break;
          }
        }
      }
      if (!hit) {
        i++;
        continue;
      }
      let start = i;
      let end = i + hit.pattern.length;
      const tok = hit.token;
      if (tok.singleWord) {
        const wordBefore = start > from && (charFlags(codePointBefore(text, start)) & WORD) !== 0;
        const wordAfter = end < to && (charFlags(text.codePointAt(end)!) & WORD) !== 0;
        if (wordBefore || wordAfter) {
          i = end;
          continue;
        }
      }
      if (tok.lstrip) {
        while (start > consumed && isWhitespace(text.charCodeAt(start - 1))) start--;
      }
      if (tok.rstrip) {
        while (end < to && isWhitespace(text.charCodeAt(end))) end++;
      }
      out.push({ start, end, token: tok });
      consumed = end;
      i = end;
    }
    return out;
  }
}
