/**
 * SentencePiece's precompiled character map (the `precompiled_charsmap` of a tokenizer.json
 * Precompiled normalizer, or of a .model file's normalizer_spec): a darts-clone double-array trie over
 * UTF-8 byte sequences whose values index a block of NUL-terminated replacement strings. Applied as
 * Hugging Face tokenizers applies it: grapheme by grapheme, falling back to single characters.
 */
import type { NormalizedString } from './normalized.js';

const decoder = new TextDecoder('utf-8');
const encoder = new TextEncoder();

/** A parsed charsmap. */
export class PrecompiledCharsMap {
  private readonly units: Uint32Array;
  private readonly normalized: Uint8Array;
  private readonly cache = new Map<string, string | null>();

  /** @throws Error when the bytes are not a charsmap. */
  constructor(bytes: Uint8Array) {
    if (bytes.length < 4) throw new Error('the charsmap is shorter than its 4-byte header');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const trieSize = view.getUint32(0, true);
    if (trieSize % 4 !== 0 || 4 + trieSize > bytes.length || trieSize === 0) throw new Error(`the charsmap's trie size ${trieSize} does not fit its ${bytes.length} bytes`);
    this.units = new Uint32Array(trieSize / 4);
    for (let i = 0; i < this.units.length; i++) this.units[i] = view.getUint32(4 + i * 4, true);
    this.normalized = bytes.subarray(4 + trieSize);
  }

  /** The value of the shortest key that is a prefix of `key`, or -1. */
  private firstPrefixValue(key: Uint8Array): number {
    const u = this.units;
    let pos = 0;
    let unit = u[0]!;
    pos ^= offsetOf(unit);
    for (let i = 0; i < key.length; i++) {
      const b = key[i]!;
      pos ^= b;
      if (pos >= u.length) return -1;
      unit = u[pos]!;
      if ((unit & 0x800000ff) >>> 0 !== b) return -1;
      pos ^= offsetOf(unit);
      if ((unit >>> 8) & 1) {
        if (pos >= u.length) return -1;
        return u[pos]! & 0x7fffffff;
      }
    }
    return -1;
  }

  /** The replacement of `chunk` (of the shortest mapped prefix, as sentencepiece's lookup gives), or undefined. */
  transform(chunk: string): string | undefined {
    const hit = this.cache.get(chunk);
    if (hit !== undefined) return hit ?? undefined;
    const v = this.firstPrefixValue(encoder.encode(chunk));
    let out: string | null = null;
    if (v >= 0 && v < this.normalized.length) {
      let end = v;
      while (end < this.normalized.length && this.normalized[end] !== 0) end++;
      out = decoder.decode(this.normalized.subarray(v, end));
    }
    if (this.cache.size < 50_000) this.cache.set(chunk, out);
    return out ?? undefined;
  }

  /** Normalises `n` in place. */
  normalize(n: NormalizedString): void {
    const cps: number[] = [];
    const changes: number[] = [];
    let modified = false;
    const replace = (oldPart: string, newPart: string) => {
      let oldCount = 0;
      for (const _ of oldPart) oldCount++;
      let newCount = 0;
      for (const ch of newPart) {
        cps.push(ch.codePointAt(0)!);
        changes.push(0);
        newCount++;
      }
      const diff = newCount - oldCount;
      if (diff > 0) for (let k = 0; k < diff; k++) changes[changes.length - 1 - k] = 1;
      else if (diff < 0 && changes.length > 0) changes[changes.length - 1]! += diff;
    };
    for (const g of graphemes(n.text)) {
      if (utf8Length(g) < 6) {
        const norm = this.transform(g);
        if (norm !== undefined) {
          modified = true;
          replace(g, norm);
          continue;
        }
      }
      for (const ch of g) {
        const norm = this.transform(ch);
        if (norm !== undefined) {
          modified = true;
          replace(ch, norm);
        } else {
          cps.push(ch.codePointAt(0)!);
          changes.push(0);
        }
      }
    }
    if (modified) n.transform(cps, changes);
  }
}

function offsetOf(unit: number): number {
  return ((unit >>> 10) << ((unit & (1 << 9)) >>> 6)) >>> 0;
}

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

let segmenter: Intl.Segmenter | undefined;

/**
 * Code units that are grapheme clusters of their own kind "Other" (or Control): a cluster boundary
 * always lies between two of them, except between CR and LF.
 */
function isSimple(c: number): boolean {
  return (
    c < 0x300 ||
    (c >= 0x2010 && c <= 0x2027) ||
    (c >= 0x2030 && c <= 0x205e) ||
    (c >= 0x3000 && c <= 0x3029) ||
    (c >= 0x3400 && c <= 0x4dbf) ||
    (c >= 0x4e00 && c <= 0x9fff) ||
    (c >= 0xff01 && c <= 0xff5e)
  );
}

/**
 * Extended grapheme clusters of `text`. Runs are cut at boundaries that are certain (between two
 * {@link isSimple} characters) and only the rest goes through `Intl.Segmenter`, whose cost grows
 * faster than linearly with the length of what it segments.
 */
export function graphemes(text: string): string[] {
  const out: string[] = [];
  let chunk = 0;
  const flush = (end: number) => {
    if (end - chunk === 1) out.push(text[chunk]!);
    else if (end > chunk) {
      segmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' });
      for (const g of segmenter.segment(text.slice(chunk, end))) out.push(g.segment);
    }
    chunk = end;
  };
  for (let i = 1; i < text.length; i++) {
    const a = text.charCodeAt(i - 1);
    const b = text.charCodeAt(i);
    if (isSimple(a) && isSimple(b) && !(a === 13 && b === 10)) flush(i);
  }
  flush(text.length);
  return out;
}

/** Decodes standard base64. */
export function decodeBase64(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'base64'));
}
