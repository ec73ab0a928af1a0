/** GPT-2's byte-level alphabet: every byte shown as a printable character, and back. */
import type { NormalizedString } from './normalized.js';

/** Byte → its character in the byte-level alphabet. */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = new Array<string>(256);
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(printable(b) ? b : 256 + n++);
  return out;
})();

/** Character of the byte-level alphabet → its byte. */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

/** The GPT-2 pre-tokenisation regex (contractions, letters, numbers, other symbols, whitespace). */
export const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

const encoder = new TextEncoder();

/** Rewrites `n` into the byte-level alphabet: each UTF-8 byte becomes one character aligned with its source character. */
export function toByteLevel(n: NormalizedString): void {
  const t = n.text;
  let text = '';
  const starts: number[] = [];
  const ends: number[] = [];
  const buf = new Uint8Array(4);
  for (let i = 0; i < t.length; ) {
    const c = t.charCodeAt(i);
    let len = 1;
    let nb: number;
    if (c < 0x80) {
      buf[0] = c;
      nb = 1;
    } else {
      const cp = t.codePointAt(i)!;
      len = cp > 0xffff ? 2 : 1;
      nb = encoder.encodeInto(t.slice(i, i + len), buf).written;
    }
    const s = n.starts[i]!;
    const e = n.ends[i]!;
    for (let k = 0; k < nb; k++) {
      text += BYTE_TO_CHAR[buf[k]!]!;
      starts.push(s);
      ends.push(e);
    }
    i += len;
  }
  n.text = text;
  n.starts = starts;
  n.ends = ends;
}

/** Byte-level characters back to text (invalid UTF-8 becomes U+FFFD; characters outside the alphabet are kept). */
export function fromByteLevel(text: string): string {
  const bytes: number[] = [];
  for (const ch of text) {
    const b = CHAR_TO_BYTE.get(ch);
    if (b !== undefined) bytes.push(b);
    else for (const x of encoder.encode(ch)) bytes.push(x);
  }
  return new TextDecoder('utf-8').decode(new Uint8Array(bytes));
}
