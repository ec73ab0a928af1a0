/**
 * BERT normalisation as Hugging Face's fast tokenizer (tokenizer.json `BertNormalizer`) performs it,
 * keeping for every unit of the normalised text the range of the original text it came from.
 */
import { CHINESE, CONTROL, NONSPACING_MARK, WHITESPACE, charFlags } from './unicode.js';

/** Options of the BERT normaliser; tokenizer_config.json / tokenizer.json names in the comments. */
export interface NormalizerOptions {
  /** `do_lower_case` / `lowercase`: lower-case every character. */
  readonly lowercase: boolean;
  /** `strip_accents`: decompose (NFD) and drop nonspacing marks; `undefined` (null in the files) follows `lowercase`. */
  readonly stripAccents?: boolean | undefined;
  /** `tokenize_chinese_chars` / `handle_chinese_chars`: put spaces around CJK ideographs. */
  readonly chineseChars: boolean;
  /** `clean_text`: drop NUL, U+FFFD and control/format characters, turn whitespace into ' '. */
  readonly cleanText: boolean;
}

/**
 * A normalised piece of text. `starts[i]`/`ends[i]` give, for the UTF-16 unit `text[i]`, the
 * [start, end) range (UTF-16 units) of the original character it came from.
 */
export interface NormalizedText {
  readonly text: string;
  readonly starts: number[];
  readonly ends: number[];
}

/**
 * The BertNormalizer: `clean_text`, then `handle_chinese_chars`, then accent stripping, then
 * lower-casing, in that order, as Hugging Face's Rust implementation does. Cased text is not
 * NFC-normalised (unlike the old Python BertTokenizer).
 */
export class BertNormalizer {
  readonly options: NormalizerOptions;
  private readonly strip: boolean;
  private readonly lower: boolean;
  private readonly mapped = new Map<number, string>();

  constructor(options: NormalizerOptions) {
    this.options = options;
    this.strip = options.stripAccents ?? options.lowercase;
    this.lower = options.lowercase;
  }

  /** The normalised form of one non-ASCII code point (accents stripped and/or lower-cased). */
  private mapCodePoint(cp: number): string {
    let s = this.mapped.get(cp);
    if (s !== undefined) return s;
    s = String.fromCodePoint(cp);
    if (this.strip) {
      let kept = '';
      for (const c of s.normalize('NFD')) if ((charFlags(c.codePointAt(0)!) & NONSPACING_MARK) === 0) kept += c;
      s = kept;
    }
    if (this.lower) {
      let lowered = '';
      // Rust lower-cases one char at a time (no final-sigma context), so does this.
      for (const c of s) lowered += c.toLowerCase();
      s = lowered;
    }
    if (this.mapped.size > 65536) this.mapped.clear();
    this.mapped.set(cp, s);
    return s;
  }

  /** Normalises `input.slice(from, to)`; the ranges in the result index `input` itself. */
  normalize(input: string, from = 0, to = input.length): NormalizedText {
    const { cleanText, chineseChars } = this.options;
    const transform = this.strip || this.lower;
    const starts: number[] = [];
    const ends: number[] = [];
    let text = '';
    let i = from;
    while (i < to) {
      const s = i;
      let cp = input.charCodeAt(i++);
      if (cp >= 0xd800 && cp <= 0xdbff && i < to) {
        const lo = input.charCodeAt(i);
        if (lo >= 0xdc00 && lo <= 0xdfff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          i++;
        }
      }
      if (cp < 0x80) {
        if (cleanText) {
          if (cp === 0x20 || cp === 9 || cp === 10 || cp === 13) {
            text += ' ';
            starts.push(s);
            ends.push(i);
            continue;
          }
          if (cp < 0x20 || cp === 0x7f) continue;
        }
        text += this.lower && cp >= 65 && cp <= 90 ? String.fromCharCode(cp + 32) : String.fromCharCode(cp);
        starts.push(s);
        ends.push(i);
        continue;
      }
      const flags = charFlags(cp);
      if (cleanText) {
        if (cp === 0xfffd || flags & CONTROL) continue;
        if (flags & WHITESPACE) {
          text += ' ';
          starts.push(s);
          ends.push(i);
          continue;
        }
      }
      const out = transform ? this.mapCodePoint(cp) : input.slice(s, i);
      const spaced = chineseChars && (flags & CHINESE) !== 0;
      if (spaced) {
        text += ' ';
        starts.push(s);
        ends.push(i);
      }
      text += out;
      for (let k = 0; k < out.length; k++) {
        starts.push(s);
        ends.push(i);
      }
      if (spaced) {
        text += ' ';
        starts.push(s);
        ends.push(i);
      }
    }
    return { text, starts, ends };
  }

  /** The normalised text alone (used for added tokens that match after normalisation). */
  normalizeString(input: string): string {
    return this.normalize(input).text;
  }
}
