/**
 * SentencePiece `.model` files (protobuf ModelProto) turned into the tokenizer.json that
 * transformers' converters (XLMRobertaConverter, AlbertConverter, DebertaV2Converter, LlamaConverter)
 * build from them, so HfTokenizer runs them with the same pipeline.
 */
import { TokenizerFileError } from '../errors.js';
import { bytesOf, num, readMessage, text } from './protobuf.js';

/** Piece types of ModelProto.SentencePiece. */
export const PIECE_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

/** What tuna reads from a ModelProto. */
export interface SentencePieceModel {
  readonly pieces: { piece: string; score: number; type: number }[];
  /** 1 unigram, 2 bpe, 3 word, 4 char. */
  readonly modelType: number;
  readonly unkId: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly unkPiece: string;
  readonly byteFallback: boolean;
  readonly precompiledCharsmap: Uint8Array;
  readonly addDummyPrefix: boolean;
  readonly removeExtraWhitespaces: boolean;
}

/** Parses a `.model` file. @throws TokenizerFileError when it is not a ModelProto. */
export function parseSentencePieceModel(bytes: Uint8Array, file: string): SentencePieceModel {
  try {
    const pieces: { piece: string; score: number; type: number }[] = [];
    let trainer: Uint8Array | undefined;
    let normalizer: Uint8Array | undefined;
    for (const f of readMessage(bytes)) {
      if (f.field === 1 && f.wire === 2) {
        const p = { piece: '', score: 0, type: PIECE_TYPE.normal as number };
        for (const g of readMessage(bytesOf(f.value))) {
          if (g.field === 1) p.piece = text(g.value);
          else if (g.field === 2) p.score = num(g.value);
          else if (g.field === 3) p.type = num(g.value);
        }
        pieces.push(p);
      } else if (f.field === 2 && f.wire === 2) trainer = bytesOf(f.value);
      else if (f.field === 3 && f.wire === 2) normalizer = bytesOf(f.value);
    }
    if (pieces.length === 0) throw new Error('it has no pieces');
    const t = { modelType: 1, unkId: 0, bosId: 1, eosId: 2, padId: -1, unkPiece: '<unk>', byteFallback: false };
    for (const g of trainer ? readMessage(trainer) : []) {
      if (g.field === 3) t.modelType = num(g.value);
      else if (g.field === 35) t.byteFallback = num(g.value) !== 0;
      else if (g.field === 40) t.unkId = num(g.value);
      else if (g.field === 41) t.bosId = toInt32(num(g.value));
      else if (g.field === 42) t.eosId = toInt32(num(g.value));
      else if (g.field === 43) t.padId = toInt32(num(g.value));
      else if (g.field === 45) t.unkPiece = text(g.value);
    }
    const n = { precompiledCharsmap: new Uint8Array(0) as Uint8Array, addDummyPrefix: true, removeExtraWhitespaces: true };
    for (const g of normalizer ? readMessage(normalizer) : []) {
      if (g.field === 2) n.precompiledCharsmap = bytesOf(g.value);
      else if (g.field === 3) n.addDummyPrefix = num(g.value) !== 0;
      else if (g.field === 4) n.removeExtraWhitespaces = num(g.value) !== 0;
    }
    return { pieces, ...t, ...n };
  } catch (e) {
    if (e instanceof TokenizerFileError) throw e;
    throw new TokenizerFileError(file, `is not a SentencePiece model: ${(e as Error).message}`, { cause: e });
  }
}

function toInt32(v: number): number {
  return v >= 2 ** 63 ? -1 : v > 0x7fffffff ? v - 2 ** 64 : v;
}

/** Which transformers converter to follow. */
export type SentencePieceFamily = 'xlm-roberta' | 'albert' | 'deberta-v2' | 'llama';

/** Settings the converters take from the tokenizer class (tokenizer_config.json names in comments). */
export interface SentencePieceOptions {
  readonly family: SentencePieceFamily;
  /** `do_lower_case` (ALBERT default true, DeBERTa-v2 default false). */
  readonly doLowerCase?: boolean;
  /** `keep_accents` (ALBERT, default false). */
  readonly keepAccents?: boolean;
  /** `split_by_punct` (DeBERTa-v2, default false). */
  readonly splitByPunct?: boolean;
  /** `add_prefix_space` (default true). */
  readonly addPrefixSpace?: boolean;
  /** `legacy` (default true): false prepends the space only at the start of the text. */
  readonly legacy?: boolean;
}

/** The special tokens a family's tokenizer class declares (tokenizer_config.json fields). */
const FAMILY_TOKENS: Record<SentencePieceFamily, Record<string, string>> = {
  'xlm-roberta': { bos_token: '<s>', eos_token: '</s>', sep_token: '</s>', cls_token: '<s>', unk_token: '<unk>', pad_token: '<pad>', mask_token: '<mask>' },
  albert: { bos_token: '[CLS]', eos_token: '[SEP]', sep_token: '[SEP]', cls_token: '[CLS]', unk_token: '<unk>', pad_token: '<pad>', mask_token: '[MASK]' },
  'deberta-v2': { bos_token: '[CLS]', eos_token: '[SEP]', sep_token: '[SEP]', cls_token: '[CLS]', unk_token: '[UNK]', pad_token: '[PAD]', mask_token: '[MASK]' },
  llama: { bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' },
};

/** transformers' `generate_merges` with scores: every split of a piece into two pieces, best score first. */
export function generateMerges(vocab: ReadonlyMap<string, number>, scores: ReadonlyMap<string, number>): [string, string][] {
  const merges: { l: string; r: string; score: number; ll: number; rl: number; order: number }[] = [];
  for (const [merge, score] of scores) {
    const cps = [...merge];
    const local: { l: string; r: string; li: number; ri: number }[] = [];
    for (let k = 1; k < cps.length; k++) {
      const l = cps.slice(0, k).join('');
      const r = cps.slice(k).join('');
      const li = vocab.get(l);
      const ri = vocab.get(r);
      if (li !== undefined && ri !== undefined) local.push({ l, r, li, ri });
    }
    local.sort((a, b) => a.li - b.li || a.ri - b.ri);
    for (const m of local) merges.push({ l: m.l, r: m.r, score, ll: k0(m.l), rl: k0(m.r), order: merges.length });
  }
  merges.sort((a, b) => b.score - a.score || b.ll - a.ll || b.rl - a.rl || a.order - b.order);
  return merges.map((m) => [m.l, m.r]);
}

function k0(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function checkNumberComma(piece: string): boolean {
  const cps = [...piece];
  return cps.length < 2 || cps[cps.length - 1] !== ',' || !/^\p{Nd}$/u.test(cps[cps.length - 2]!);
}

function base64(b: Uint8Array): string {
  return Buffer.from(b).toString('base64');
}

const metaspace = (scheme: string, split = true) => ({ type: 'Metaspace', replacement: '\u2581', prepend_scheme: scheme, split });
const regexReplace = (re: string, content: string) => ({ type: 'Replace', pattern: { Regex: re }, content });
const stringReplace = (s: string, content: string) => ({ type: 'Replace', pattern: { String: s }, content });

/**
 * The tokenizer.json (and tokenizer_config.json special tokens) that transformers builds from a
 * SentencePiece model for `opts.family`.
 */
export function sentencePieceToTokenizerJson(m: SentencePieceModel, opts: SentencePieceOptions, file: string): { json: Record<string, unknown>; config: Record<string, unknown> } {
  const family = opts.family;
  const addPrefixSpace = opts.addPrefixSpace ?? true;
  const legacy = opts.legacy ?? true;
  const scheme = addPrefixSpace ? (legacy ? 'always' : 'first') : 'never';
  let vocab: [string, number][];
  let unkId = m.unkId;
  if (family === 'xlm-roberta') {
    vocab = [['<s>', 0], ['<pad>', 0], ['</s>', 0], ['<unk>', 0], ...m.pieces.slice(3).map((p): [string, number] => [p.piece, p.score]), ['<mask>', 0]];
    unkId = 3;
  } else if (family === 'albert') {
    vocab = m.pieces.map((p): [string, number] => [p.piece, checkNumberComma(p.piece) ? p.score : p.score - 100]);
  } else {
    vocab = m.pieces.map((p): [string, number] => [p.piece, p.score]);
    if (family === 'llama') unkId = 0;
  }
  const ids = new Map<string, number>();
  vocab.forEach(([p], i) => ids.set(p, i));
  const byteFallback = family === 'llama' ? m.byteFallback : false;
  let model: Record<string, unknown>;
  if (m.modelType === 1) model = { type: 'Unigram', unk_id: unkId, vocab, byte_fallback: byteFallback };
  else if (m.modelType === 2) {
    const scores = new Map<string, number>();
    for (const [p, s] of vocab) scores.set(p, s);
    const merges = generateMerges(ids, scores);
    model = {
      type: 'BPE',
      dropout: null,
      unk_token: m.unkPiece,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: byteFallback,
      ignore_merges: false,
      vocab: Object.fromEntries(ids),
      merges,
    };
  } else {
    throw new TokenizerFileError(file, `trainer_spec.model_type ${m.modelType} is not supported; supported: 1 (unigram), 2 (bpe)`);
  }
  const charsmap = m.precompiledCharsmap.length > 0 ? [{ type: 'Precompiled', precompiled_charsmap: base64(m.precompiledCharsmap) }] : [];
  let normalizer: unknown;
  let preTokenizer: unknown;
  let decoder: unknown = metaspace(scheme);
  let postProcessor: unknown = null;
  const cls = (c: string, s: string) => ({
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: c, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: s, type_id: 0 } }],
    pair: [
      { SpecialToken: { id: c, type_id: 0 } },
      { Sequence: { id: 'A', type_id: 0 } },
      { SpecialToken: { id: s, type_id: 0 } },
      { Sequence: { id: 'B', type_id: 1 } },
      { SpecialToken: { id: s, type_id: 1 } },
    ],
    special_tokens: {
      [c]: { id: c, ids: [ids.get(c)], tokens: [c] },
      [s]: { id: s, ids: [ids.get(s)], tokens: [s] },
    },
  });
  switch (family) {
    case 'xlm-roberta':
      normalizer = { type: 'Sequence', normalizers: [...charsmap, { type: 'Strip', strip_left: false, strip_right: true }, regexReplace(' {2,}', '\u2581')] };
      preTokenizer = metaspace(scheme);
      postProcessor = {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
        pair: [
          { SpecialToken: { id: '<s>', type_id: 0 } },
          { Sequence: { id: 'A', type_id: 0 } },
          { SpecialToken: { id: '</s>', type_id: 0 } },
          { SpecialToken: { id: '</s>', type_id: 0 } },
          { Sequence: { id: 'B', type_id: 0 } },
          { SpecialToken: { id: '</s>', type_id: 0 } },
        ],
        special_tokens: { '<s>': { id: '<s>', ids: [0], tokens: ['<s>'] }, '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] } },
      };
      break;
    case 'albert': {
      const list: unknown[] = [stringReplace('``', '"'), stringReplace("''", '"')];
      if (!(opts.keepAccents ?? false)) list.push({ type: 'NFKD' }, { type: 'StripAccents' });
      if (opts.doLowerCase ?? true) list.push({ type: 'Lowercase' });
      list.push(...charsmap, regexReplace(' {2,}', ' '));
      normalizer = { type: 'Sequence', normalizers: list };
      preTokenizer = metaspace(scheme);
      postProcessor = cls('[CLS]', '[SEP]');
      break;
    }
    case 'deberta-v2': {
      const list: unknown[] = [];
      if (opts.doLowerCase ?? false) list.push({ type: 'Lowercase' });
      list.push({ type: 'Strip', strip_left: true, strip_right: true }, ...charsmap, regexReplace(' {2,}', ' '));
      normalizer = { type: 'Sequence', normalizers: list };
      const pre: unknown[] = [];
      if (opts.splitByPunct ?? false) pre.push({ type: 'Punctuation', behavior: 'Isolated' });
      pre.push(metaspace(scheme));
      preTokenizer = { type: 'Sequence', pretokenizers: pre };
      postProcessor = cls('[CLS]', '[SEP]');
      break;
    }
    case 'llama': {
      if (legacy) {
        normalizer = { type: 'Sequence', normalizers: [...(addPrefixSpace ? [{ type: 'Prepend', prepend: '\u2581' }] : []), stringReplace(' ', '\u2581')] };
        preTokenizer = null;
      } else {
        normalizer = null;
        preTokenizer = metaspace(scheme, false);
      }
      decoder = {
        type: 'Sequence',
        decoders: [stringReplace('\u2581', ' '), { type: 'ByteFallback' }, { type: 'Fuse' }, ...(addPrefixSpace ? [{ type: 'Strip', content: ' ', start: 1, stop: 0 }] : [])],
      };
      const bos = m.pieces[m.bosId]?.piece;
      if (bos !== undefined) {
        postProcessor = {
          type: 'TemplateProcessing',
          single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
          pair: [
            { SpecialToken: { id: bos, type_id: 0 } },
            { Sequence: { id: 'A', type_id: 0 } },
            { SpecialToken: { id: bos, type_id: 1 } },
            { Sequence: { id: 'B', type_id: 1 } },
          ],
          special_tokens: { [bos]: { id: bos, ids: [ids.get(bos)], tokens: [bos] } },
        };
      }
      break;
    }
  }
  // Added tokens: control pieces (special) and user-defined pieces, then the family's special tokens.
  const added = new Map<string, { id: number; content: string; single_word: boolean; lstrip: boolean; rstrip: boolean; normalized: boolean; special: boolean }>();
  const add = (content: string, special: boolean, lstrip = false) => {
    const id = ids.get(content);
    if (id === undefined) return;
    const prev = added.get(content);
    added.set(content, {
      id,
      content,
      single_word: false,
      lstrip: lstrip || (prev?.lstrip ?? false),
      rstrip: false,
      normalized: false,
      special: special || (prev?.special ?? false),
    });
  };
  for (const p of m.pieces) {
    if (p.type === PIECE_TYPE.control) add(p.piece, true);
    else if (p.type === PIECE_TYPE.userDefined) add(p.piece, false);
  }
  const config: Record<string, unknown> = { ...FAMILY_TOKENS[family] };
  if (family === 'llama') {
    for (const i of [m.unkId, m.bosId, m.eosId, m.padId]) if (i >= 0 && m.pieces[i]) add(m.pieces[i]!.piece, true);
    config.unk_token = m.pieces[m.unkId]?.piece;
    config.bos_token = m.pieces[m.bosId]?.piece;
    config.eos_token = m.pieces[m.eosId]?.piece;
    if (m.padId >= 0) config.pad_token = m.pieces[m.padId]?.piece;
  } else {
    const t = FAMILY_TOKENS[family];
    for (const key of ['bos_token', 'pad_token', 'eos_token', 'unk_token', 'cls_token', 'sep_token']) if (t[key]) add(t[key]!, true);
    add(t.mask_token!, true, family !== 'deberta-v2');
  }
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [...added.values()].sort((a, b) => a.id - b.id),
    normalizer,
    pre_tokenizer: preTokenizer,
    post_processor: postProcessor,
    decoder,
    model,
  };
  return { json, config };
}
