/**
 * tokenizer.json `post_processor` components: special tokens around the encoded sequences, type ids,
 * and (ByteLevel, RobertaProcessing) trimming of the spaces byte-level tokens carry from their offsets.
 */
import { isWhitespace } from '../unicode.js';
import { BYTE_TO_CHAR } from './byte-level.js';
import { type JsonAt, asArray, asIndex, asObject, asString, child, Fields, fieldError } from './json.js';

/** A run of tokens: one encoded sequence, special tokens, or both merged. */
export interface Part {
  ids: number[];
  tokens: string[];
  offsets: [number, number][];
  words: (number | null)[];
  typeIds: number[];
  special: number[];
  seq: (number | null)[];
  /** The original text of the sequence the offsets index (undefined for special tokens only). */
  source: string | undefined;
  /** For text given as words: each word's text (offsets index the token's own word). */
  wordTexts?: readonly string[] | undefined;
}

/** A post-processor. */
export interface PostProcessor {
  process(parts: Part[], addSpecialTokens: boolean): Part[];
  /** How many special tokens it adds to a single text or a pair. */
  addedTokens(isPair: boolean): number;
}

/** Post-processor types tuna runs. */
export const POST_PROCESSOR_TYPES = ['RobertaProcessing', 'BertProcessing', 'TemplateProcessing', 'ByteLevel', 'Sequence'] as const;

function specialPart(ids: readonly number[], tokens: readonly string[], typeId: number): Part {
  return {
    ids: [...ids],
    tokens: [...tokens],
    offsets: ids.map(() => [0, 0] as [number, number]),
    words: ids.map(() => null),
    typeIds: ids.map(() => typeId),
    special: ids.map(() => 1),
    seq: ids.map(() => null),
    source: undefined,
  };
}

function withTypeId(p: Part, typeId: number): Part {
  return { ...p, typeIds: p.ids.map(() => typeId) };
}

const SPACE_CHAR = BYTE_TO_CHAR[32]!;

function isTrimmed(ch: string): boolean {
  return ch === SPACE_CHAR || isWhitespace(ch.codePointAt(0)!);
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** Byte positions of a text, to reproduce offset arithmetic that Hugging Face does in UTF-8 bytes. */
class ByteMap {
  readonly unitToByte: number[] = [];
  readonly byteToUnit: number[] = [];
  readonly byteToUnitEnd: number[] = [];
  constructor(readonly text: string) {
    let b = 0;
    for (let i = 0; i < text.length; ) {
      const cp = text.codePointAt(i)!;
      const len = cp > 0xffff ? 2 : 1;
      const nb = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp > 0xffff ? 4 : 3;
      for (let k = 0; k < len; k++) this.unitToByte[i + k] = b;
      for (let k = 0; k < nb; k++) {
        this.byteToUnit[b + k] = i;
        this.byteToUnitEnd[b + k] = i + len;
      }
      b += nb;
      i += len;
    }
    this.unitToByte[text.length] = b;
  }
  get bytes(): number {
    return this.unitToByte[this.text.length]!;
  }
}

/** Moves token offsets past leading and trailing (byte-level) spaces, as tokenizers' `process_offsets`. */
export function trimOffsets(p: Part, addPrefixSpace: boolean): void {
  const maps = new Map<string, ByteMap>();
  for (let i = 0; i < p.ids.length; i++) {
    const token = p.tokens[i]!;
    if (token.length === 0 || (!isTrimmed(token[0]!) && !isTrimmed(token.slice(token.length - (isLowSurrogate(token.charCodeAt(token.length - 1)) ? 2 : 1))))) continue;
    const chars = [...token];
    let leading = 0;
    while (leading < chars.length && isTrimmed(chars[leading]!)) leading++;
    let trailing = 0;
    while (trailing < chars.length && isTrimmed(chars[chars.length - 1 - trailing]!)) trailing++;
    if (leading === 0 && trailing === 0) continue;
    const w = p.words[i];
    const source = p.wordTexts && w !== null && w !== undefined ? p.wordTexts[w] : p.source;
    if (source === undefined) continue;
    let map = maps.get(source);
    if (!map) {
      map = new ByteMap(source);
      maps.set(source, map);
    }
    const [s, e] = p.offsets[i]!;
    let sb = map.unitToByte[s] ?? map.bytes;
    let eb = map.unitToByte[e] ?? map.bytes;
    if (leading > 0) {
      const isFirst = i === 0 || s === 0;
      if (isFirst && addPrefixSpace && leading === 1) leading = 0;
      sb = Math.min(sb + leading, eb);
    }
    if (trailing > 0 && eb >= trailing) eb = Math.max(eb - trailing, sb);
    const total = map.bytes;
    if (sb >= total) {
      p.offsets[i] = [source.length, source.length];
      continue;
    }
    const ns = map.byteToUnit[sb]!;
    const ne = eb < total ? map.byteToUnit[eb]! : map.byteToUnitEnd[eb - 1]!;
    p.offsets[i] = [ns, ne];
  }
}

class Bert implements PostProcessor {
  constructor(
    readonly sep: [string, number],
    readonly cls: [string, number],
  ) {}
  addedTokens(isPair: boolean): number {
    return isPair ? 3 : 2;
  }
  process(parts: Part[], add: boolean): Part[] {
    if (!add) return parts;
    const [a, b] = parts;
    const out = [specialPart([this.cls[1]], [this.cls[0]], 0), withTypeId(a!, 0), specialPart([this.sep[1]], [this.sep[0]], 0)];
    if (b) out.push(withTypeId(b, 1), specialPart([this.sep[1]], [this.sep[0]], 1));
    return out;
  }
}

class Roberta implements PostProcessor {
  constructor(
    readonly sep: [string, number],
    readonly cls: [string, number],
    readonly trim: boolean,
    readonly addPrefixSpace: boolean,
  ) {}
  addedTokens(isPair: boolean): number {
    return isPair ? 4 : 2;
  }
  process(parts: Part[], add: boolean): Part[] {
    if (this.trim) for (const p of parts) trimOffsets(p, this.addPrefixSpace);
    const zeroed = parts.map((p) => withTypeId(p, 0));
    if (!add) return zeroed;
    const [a, b] = zeroed;
    const cls = () => specialPart([this.cls[1]], [this.cls[0]], 0);
    const sep = () => specialPart([this.sep[1]], [this.sep[0]], 0);
    const out = [cls(), a!, sep()];
    if (b) out.push(sep(), b, sep());
    return out;
  }
}

class ByteLevelProcessor implements PostProcessor {
  constructor(
    readonly trim: boolean,
    readonly addPrefixSpace: boolean,
  ) {}
  addedTokens(): number {
    return 0;
  }
  process(parts: Part[]): Part[] {
    if (this.trim) for (const p of parts) trimOffsets(p, this.addPrefixSpace);
    return parts;
  }
}

type Piece = { kind: 'sequence'; index: 0 | 1; typeId: number } | { kind: 'special'; id: string; typeId: number };

class Template implements PostProcessor {
  constructor(
    readonly single: readonly Piece[],
    readonly pair: readonly Piece[],
    readonly specials: ReadonlyMap<string, { ids: number[]; tokens: string[] }>,
  ) {}
  addedTokens(isPair: boolean): number {
    let n = 0;
    for (const p of isPair ? this.pair : this.single) if (p.kind === 'special') n += this.specials.get(p.id)!.ids.length;
    return n;
  }
  process(parts: Part[], add: boolean): Part[] {
    const out: Part[] = [];
    for (const p of parts.length === 2 ? this.pair : this.single) {
      if (p.kind === 'sequence') {
        const part = parts[p.index];
        if (part) out.push(withTypeId(part, p.typeId));
      } else if (add) {
        const s = this.specials.get(p.id)!;
        out.push(specialPart(s.ids, s.tokens, p.typeId));
      }
    }
    return out;
  }
}

class Chain implements PostProcessor {
  constructor(readonly steps: readonly PostProcessor[]) {}
  addedTokens(isPair: boolean): number {
    return this.steps.reduce((n, s) => n + s.addedTokens(isPair), 0);
  }
  process(parts: Part[], add: boolean): Part[] {
    let out = parts;
    for (const s of this.steps) out = s.process(out, add);
    return out;
  }
}

function tokenPair(v: unknown, at: JsonAt): [string, number] {
  const a = asArray(v, at);
  if (a.length !== 2) throw fieldError(at, 'must be a [token, id] pair');
  return [asString(a[0], child(at, 0)), asIndex(a[1], child(at, 1))];
}

function parseTemplate(v: unknown, at: JsonAt, specials: ReadonlyMap<string, unknown>): Piece[] {
  const list = typeof v === 'string' ? v.split(/\s+/).filter(Boolean) : asArray(v, at);
  return list.map((item, i): Piece => {
    const iat = child(at, i);
    if (typeof item === 'string') {
      const m = /^(.*?)(?::(\d+))?$/.exec(item)!;
      const name = m[1]!;
      const typeId = m[2] === undefined ? 0 : Number(m[2]);
      if (name === '$' || name === '$A' || name === '$a' || name === '$B' || name === '$b') return { kind: 'sequence', index: name === '$B' || name === '$b' ? 1 : 0, typeId };
      if (/^\$\d+$/.test(name)) return { kind: 'sequence', index: 0, typeId: Number(name.slice(1)) };
      if (!specials.has(name)) throw fieldError(iat, `names the special token ${JSON.stringify(name)} that special_tokens does not define`);
      return { kind: 'special', id: name, typeId };
    }
    const obj = asObject(item, iat);
    if (obj.Sequence !== undefined) {
      const f = new Fields(obj.Sequence, child(iat, 'Sequence'));
      const id = f.string('id');
      if (id !== 'A' && id !== 'B') throw fieldError(f.at_('id'), `must be "A" or "B", got ${JSON.stringify(id)}`);
      return { kind: 'sequence', index: id === 'B' ? 1 : 0, typeId: f.index('type_id', 0) };
    }
    if (obj.SpecialToken !== undefined) {
      const f = new Fields(obj.SpecialToken, child(iat, 'SpecialToken'));
      const id = f.string('id');
      if (!specials.has(id)) throw fieldError(f.at_('id'), `names the special token ${JSON.stringify(id)} that special_tokens does not define`);
      return { kind: 'special', id, typeId: f.index('type_id', 0) };
    }
    throw fieldError(iat, 'must be {"Sequence": ...} or {"SpecialToken": ...}');
  });
}

/** Builds the post-processor a tokenizer.json `post_processor` value describes (null: none). */
export function parsePostProcessor(v: unknown, at: JsonAt): PostProcessor | undefined {
  if (v === null || v === undefined) return undefined;
  const f = new Fields(v, at);
  const type = f.type(POST_PROCESSOR_TYPES);
  switch (type) {
    case 'BertProcessing':
      return new Bert(tokenPair(f.raw('sep'), f.at_('sep')), tokenPair(f.raw('cls'), f.at_('cls')));
    case 'RobertaProcessing':
      return new Roberta(tokenPair(f.raw('sep'), f.at_('sep')), tokenPair(f.raw('cls'), f.at_('cls')), f.bool('trim_offsets', true), f.bool('add_prefix_space', true));
    case 'ByteLevel':
      return new ByteLevelProcessor(f.bool('trim_offsets', true), f.bool('add_prefix_space', true));
    case 'TemplateProcessing': {
      const sat = f.at_('special_tokens');
      const specials = new Map<string, { ids: number[]; tokens: string[] }>();
      const raw = f.raw('special_tokens') ?? {};
      for (const [key, val] of Object.entries(asObject(raw, sat))) {
        const s = new Fields(val, child(sat, key));
        const ids = s.array('ids').map((x, i) => asIndex(x, child(s.at_('ids'), i)));
        const tokens = s.array('tokens').map((x, i) => asString(x, child(s.at_('tokens'), i)));
        if (ids.length !== tokens.length) throw fieldError(s.at, 'must have as many ids as tokens');
        specials.set(s.string('id', key), { ids, tokens });
      }
      return new Template(parseTemplate(f.raw('single'), f.at_('single'), specials), parseTemplate(f.raw('pair'), f.at_('pair'), specials), specials);
    }
    case 'Sequence': {
      const list = f.array('processors');
      return new Chain(list.map((x, i) => parsePostProcessor(x, child(f.at_('processors'), i)) ?? new Chain([])));
    }
  }
  throw fieldError(f.at_('type'), 'is not supported');
}
