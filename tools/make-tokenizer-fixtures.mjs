/**
 * Writes the tokenizer fixtures under test/fixtures/tokenizer/: two small vocabularies with their
 * Hugging Face files (vocab.txt, tokenizer.json, tokenizer_config.json, special_tokens_map.json,
 * added_tokens.json), and expected.json with the encodings of a corpus produced by an
 * implementation independent of tuna: @huggingface/tokenizers, the tokenizer library of
 * transformers.js 4 (its BertTokenizer is that library's Tokenizer plus padding/truncation).
 *
 * - uncased/: lower-casing English vocabulary (ids fixed: test/fixtures/bert/
 *   BertForSequenceClassification-text was computed over it, so it must not change).
 * - cased/: cased vocabulary laid out like bert-base-cased ([PAD]=0, [unused*], [UNK]=100,
 *   [CLS]=101, [SEP]=102, [MASK]=103) with CJK, kana, Hangul, emoji and added tokens beyond it.
 *
 * The reference gives ids, tokens, type ids and decoded text, but no offsets, and its truncation
 * cuts after adding [CLS]/[SEP]. Truncation fixtures are therefore assembled here from the
 * reference's per-sequence tokens with the truncation rule of Hugging Face's Rust tokenizers
 * (`truncate_encodings`), and offsets are tested by hand in test/tokenizer-offsets.test.ts.
 * A few inputs on which the reference departs from the Rust tokenizer (see SKIPPED) are tested
 * by hand too.
 *
 * Run: node tools/make-tokenizer-fixtures.mjs
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@huggingface/tokenizers';

const OUT = fileURLToPath(new URL('../test/fixtures/tokenizer/', import.meta.url));
const REFERENCE = '@huggingface/tokenizers 0.2.0 (the tokenizer library of transformers.js 4)';

/** Single texts: every case is encoded alone, with and without special tokens. */
export const CORPUS = [
  'Hello, WORLD!!',
  'Héllo naïve café, résumé.',
  'naïve café',
  "don't",
  'U.S.A.',
  "don't stop; U.S.A. isn't (quite) here",
  '我爱北京天安门',
  'BERT在2018年发布, with 110M parameters!',
  'mixed中文and English123混合',
  'emoji 🙂 and ™ symbols 👍🏽 ❤️ emoji🙂🙂',
  'tabs\tand\nnewlines\r\nand\u0000control\u0007chars\u000b\u000c\u0085zero\u200bwidth\ufeffsoft\u00adhyphen\ufffdreplacement',
  '',
  '   ',
  '\t\n \u00a0\u3000\u2028',
  'a'.repeat(120) + ' short',
  'b'.repeat(100),
  'c'.repeat(101) + '!',
  'hello [MASK] world [SEP] again',
  '[CLS][SEP]x[MASK]y',
  '[mask] is not [MASK]',
  'The quick brown fox jumps over the lazy dog. '.repeat(6),
  'unaffable unbelievable playing played',
  'Ｆｕｌｌｗｉｄｔｈ ａｎｄ ｅｎ–dash — em',
  'e\u0301cole (decomposed accent)',
  '\u00e9cole (composed accent)',
  'İstanbul ŞEHİR',
  'ǅemal Ǆ ǆ',
  '안녕하세요 세계',
  'こんにちは、世界！',
  'مَرْحَبًا and नमस्ते',
  '$100.00 + 5% = ¥500 @home #tag ^_^ `x` ~y~ {z} |w| \\v/',
  '«quotes» „and“ ‘single’ … ¿qué? ¡sí!',
  "Mr. Smith's dog—it's 3:45pm.",
  'compat \uf900 ideograph',
  'lone \ud800 surrogate \udc00 x',
  'unassigned \u0378 private \ue000 use',
  ' \u0301 standalone mark',
  '<tuna> [ENT] tuna<tuna>tuna',
  'I like new york and new\tyork, not New York',
  'x [LR] y',
];

/** Text pairs. */
export const PAIRS = [
  ['How old are you?', "I'm 6 years old"],
  ['短い文', 'a much longer second sentence with many words in it for truncation'],
  ['hello [MASK] world', '我爱北京'],
  ['', 'only second'],
  ['Héllo WORLD', 'naïve café 🙂'],
];

/**
 * Truncation cases: [text, pair | null, max_length, strategy, side]. Together they take every
 * branch of the Rust rule: single texts; pairs where only the longer sequence is cut, where both
 * are (longer first, longer second, equal lengths, odd and even budgets); only_first; only_second;
 * left truncation; and the impossible requests that must fail.
 */
const LONG = 'The quick brown fox jumps over the lazy dog. '.repeat(3);
export const TRUNCATION = [
  [LONG, null, 16, 'longest_first', 'right'],
  [LONG, null, 16, 'only_first', 'right'],
  [LONG, null, 16, 'longest_first', 'left'],
  [LONG, null, 2, 'longest_first', 'right'],
  [LONG, null, 3, 'longest_first', 'right'],
  ['short', null, 16, 'longest_first', 'right'],
  [LONG, 'How old are you?', 12, 'longest_first', 'right'],
  ['How old are you?', LONG, 12, 'longest_first', 'right'],
  [LONG, LONG, 12, 'longest_first', 'right'],
  [LONG, LONG, 13, 'longest_first', 'right'],
  [LONG, 'a much longer second sentence with many words in it', 20, 'longest_first', 'right'],
  ['a much longer second sentence with many words in it', LONG, 21, 'longest_first', 'right'],
  ['the quick brown fox jumps', 'over the lazy dog', 8, 'longest_first', 'right'],
  ['the quick brown fox jumps', 'over the lazy dog', 8, 'only_first', 'right'],
  ['the quick brown fox jumps', 'over the lazy dog', 9, 'only_second', 'right'],
  ['the quick brown fox jumps', 'over the lazy dog', 8, 'longest_first', 'left'],
  ['我爱北京天安门', 'BERT在2018年发布, with 110M parameters!', 10, 'longest_first', 'right'],
  ['我爱北京天安门', 'BERT在2018年发布, with 110M parameters!', 10, 'only_second', 'right'],
  ['the quick brown fox jumps', 'over the lazy dog', 4, 'only_second', 'right'],
  ['the quick brown fox jumps', 'over the lazy dog', 5, 'only_first', 'right'],
  [LONG, null, 10, 'only_second', 'right'],
  ['the quick brown fox jumps', 'over the lazy dog', 3, 'longest_first', 'right'],
];

/**
 * Inputs kept out of the fixtures because the reference is known to differ from Hugging Face's
 * Rust tokenizer there (each is tested by hand in test/tokenizer.test.ts):
 * - final sigma: the reference lower-cases whole strings (ΟΔΟΣ → οδος with ς); Rust lower-cases
 *   one character at a time (σ);
 * - CJK ideographs beyond U+FFFF (𠀀): the reference tests UTF-16 units, so it never isolates them;
 * - `single_word` added tokens: the reference ignores the flag;
 * - an empty second text: the reference drops it (`text_pair || null`), Hugging Face encodes the
 *   pair `[CLS] A [SEP] [SEP]`;
 * - token strings of added tokens with `lstrip`/`rstrip`: Rust's token string is the matched
 *   span, swallowed spaces included (the ids agree).
 */
export const SKIPPED = ['ΟΔΟΣ', '𠀀𠀁', 'single_word', ['only first', ''], ' [LR] '];

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

function uncasedVocab() {
  const words = new Set();
  for (let c = 33; c < 127; c++) {
    const ch = String.fromCharCode(c);
    if (ch >= 'A' && ch <= 'Z') continue;
    words.add(ch);
    words.add(`##${ch}`);
  }
  const extra =
    'hello world don t stop u s a isn quite here with parameters emoji and symbols tabs newlines control chars short again the quick brown fox jumps over lazy dog un ##aff ##able ##believ play ##ing ##ed how old are you i m years much longer second sentence many words in it for truncation café naive résumé école decomposed accent dash em en'.split(
      ' ',
    );
  for (const w of extra) words.add(w);
  for (const c of '我爱北京天安门在年发布短い文é–—') words.add(c);
  return [...SPECIALS, ...words];
}

function casedVocab() {
  const vocab = ['[PAD]'];
  for (let i = 1; i < 100; i++) vocab.push(`[unused${i}]`);
  vocab.push('[UNK]', '[CLS]', '[SEP]', '[MASK]');
  const words = new Set();
  for (let c = 33; c < 127; c++) {
    const ch = String.fromCharCode(c);
    words.add(ch);
    words.add(`##${ch}`);
  }
  const extra = [
    ...'Hello hello WORLD World world The the quick brown fox jumps over lazy dog don stop isn quite here with parameters emoji and symbols'.split(' '),
    ...'tabs newlines control chars zero width soft hyphen replacement short again un ##aff ##able ##believ play ##ing ##ed How how old are you'.split(' '),
    ...'years much longer second sentence many words in it for truncation café naïve na ##ïve résumé école decomposed accent composed dash em en'.split(' '),
    ...'BERT mixed English ##123 only first Mr Smith pm ##pm quotes single home tag Istanbul İ ##stanbul Ş ##EH ##İ ##R'.split(' '),
    ...'ǅ ##emal Ǆ ǆ compat ideograph lone surrogate unassigned private use standalone mark like new york not New York tuna ##tuna is'.split(' '),
    ...'こん ##にちは 世 界 안녕 ##하세요 세계 🙂 ##🙂 👍 ##🏽 ❤ ##️ ™ é ##é – — … « » „ “ ‘ ’ ¿ ¡ qué sí 。 ， 、 ！ ¥'.split(' '),
    ...'中 文 混 合 我 爱 北 京 天 安 门 在 年 发 布 短 い の 国 人 好 你 \uf900 \u8c48'.split(' '),
  ];
  for (const w of extra) words.add(w);
  return [...vocab, ...words];
}

const special = (id, content, extra = {}) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true, ...extra });

function template(clsId, sepId) {
  return {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
    pair: [
      { SpecialToken: { id: '[CLS]', type_id: 0 } },
      { Sequence: { id: 'A', type_id: 0 } },
      { SpecialToken: { id: '[SEP]', type_id: 0 } },
      { Sequence: { id: 'B', type_id: 1 } },
      { SpecialToken: { id: '[SEP]', type_id: 1 } },
    ],
    special_tokens: {
      '[CLS]': { id: '[CLS]', ids: [clsId], tokens: ['[CLS]'] },
      '[SEP]': { id: '[SEP]', ids: [sepId], tokens: ['[SEP]'] },
    },
  };
}

/** The Hugging Face files for a vocabulary, written by hand (not by tuna). */
function hfFiles(vocab, { lowercase, added }) {
  const ids = new Map();
  vocab.forEach((t, i) => ids.set(t, i));
  const addedTokens = [...SPECIALS.map((t) => special(ids.get(t), t)), ...added].sort((a, b) => a.id - b.id);
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: template(ids.get('[CLS]'), ids.get('[SEP]')),
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(ids) },
  };
  const names = { cls_token: '[CLS]', mask_token: '[MASK]', pad_token: '[PAD]', sep_token: '[SEP]', unk_token: '[UNK]' };
  const config = {
    added_tokens_decoder: Object.fromEntries(
      addedTokens.map((t) => [String(t.id), { content: t.content, lstrip: t.lstrip, normalized: t.normalized, rstrip: t.rstrip, single_word: t.single_word, special: t.special }]),
    ),
    clean_up_tokenization_spaces: true,
    do_lower_case: lowercase,
    model_max_length: 64,
    strip_accents: null,
    tokenize_chinese_chars: true,
    ...names,
    tokenizer_class: 'BertTokenizer',
  };
  const beyond = added.filter((t) => t.id >= vocab.length);
  const files = {
    'vocab.txt': vocab.join('\n') + '\n',
    'tokenizer.json': JSON.stringify(tokenizerJson, null, 2) + '\n',
    'tokenizer_config.json': JSON.stringify(config, null, 2) + '\n',
    'special_tokens_map.json': JSON.stringify(names, null, 2) + '\n',
  };
  if (beyond.length) files['added_tokens.json'] = JSON.stringify(Object.fromEntries(beyond.map((t) => [t.content, t.id])), null, 2) + '\n';
  return { files, tokenizerJson, config };
}

/** Hugging Face's Rust truncation rule (tokenizers/src/utils/truncation.rs), restated. */
function keepLengths(n1, n2, max, strategy) {
  if (max === 0) return [0, 0];
  const total = n1 + (n2 ?? 0);
  if (total <= max) return [n1, n2 ?? 0];
  const remove = total - max;
  if (strategy === 'longest_first') {
    if (n2 === null) return [total - remove, 0];
    let [a, b] = [n1, n2];
    const swap = a > b;
    if (swap) [a, b] = [b, a];
    b = a > max ? a : Math.max(a, max - a);
    if (a + b > max) {
      a = Math.floor(max / 2);
      b = a + (max % 2);
    }
    return swap ? [b, a] : [a, b];
  }
  if (strategy === 'only_second' && n2 === null) return null;
  const target = strategy === 'only_first' ? n1 : n2;
  if (target <= remove) return null;
  return strategy === 'only_first' ? [n1 - remove, n2 ?? 0] : [n1, n2 - remove];
}

function truncationCase(ref, ids, [text, pair, max, strategy, side]) {
  const a = ref.encode(text, { add_special_tokens: false });
  const b = pair === null ? null : ref.encode(pair, { add_special_tokens: false });
  const added = pair === null ? 2 : 3;
  const out = { text, ...(pair === null ? {} : { pair }), max_length: max, strategy, side };
  if (max < added) return { ...out, error: true };
  const keep = keepLengths(a.ids.length, b ? b.ids.length : null, max - added, strategy);
  if (keep === null) return { ...out, error: true };
  const cut = (xs, n) => (side === 'right' ? xs.slice(0, n) : xs.slice(xs.length - n));
  const cls = ids.get('[CLS]');
  const sep = ids.get('[SEP]');
  const aIds = cut(a.ids, keep[0]);
  const aTok = cut(a.tokens, keep[0]);
  let input_ids = [cls, ...aIds, sep];
  let tokens = ['[CLS]', ...aTok, '[SEP]'];
  let token_type_ids = input_ids.map(() => 0);
  if (b) {
    const bIds = cut(b.ids, keep[1]);
    input_ids = [...input_ids, ...bIds, sep];
    tokens = [...tokens, ...cut(b.tokens, keep[1]), '[SEP]'];
    token_type_ids = [...token_type_ids, ...bIds.map(() => 1), 1];
  }
  return { ...out, input_ids, token_type_ids, tokens };
}

function encodeCase(ref, text, pair, addSpecial) {
  const enc = ref.encode(text, { text_pair: pair, add_special_tokens: addSpecial, return_token_type_ids: true });
  const c = { text, ...(pair === null ? {} : { pair }), input_ids: enc.ids, token_type_ids: enc.token_type_ids, attention_mask: enc.attention_mask, tokens: enc.tokens };
  if (enc.ids.length > 0) {
    c.decoded = ref.decode(enc.ids);
    c.decoded_skip_special = ref.decode(enc.ids, { skip_special_tokens: true });
  }
  return c;
}

function build(name, vocab, settings) {
  const dir = `${OUT}${name}/`;
  mkdirSync(dir, { recursive: true });
  const { files, tokenizerJson, config } = hfFiles(vocab, settings);
  for (const [file, body] of Object.entries(files)) writeFileSync(dir + file, body);
  const ref = new Tokenizer(tokenizerJson, config);
  const ids = new Map(vocab.map((t, i) => [t, i]));
  const cases = [];
  const plain = [];
  for (const text of CORPUS) {
    cases.push(encodeCase(ref, text, null, true));
    plain.push(encodeCase(ref, text, null, false));
  }
  for (const [a, b] of PAIRS) {
    cases.push(encodeCase(ref, a, b, true));
    plain.push(encodeCase(ref, a, b, false));
  }
  const truncation = TRUNCATION.map((t) => truncationCase(ref, ids, t));
  const list = (xs) => `[\n${xs.map((x) => `  ${JSON.stringify(x)}`).join(',\n')}\n ]`;
  const body = `{\n "source": ${JSON.stringify(REFERENCE)},\n "generator": "tools/make-tokenizer-fixtures.mjs",\n "cases": ${list(cases)},\n "plain": ${list(plain)},\n "truncation": ${list(truncation)}\n}\n`;
  JSON.parse(body);
  writeFileSync(dir + 'expected.json', body);
  console.log(`wrote ${name}: ${cases.length} cases, ${plain.length} without special tokens, ${truncation.length} truncation cases`);
}

build('uncased', uncasedVocab(), { lowercase: true, added: [] });
const cased = casedVocab();
build('cased', cased, {
  lowercase: false,
  added: [
    special(cased.length, '[ENT]'),
    { id: cased.length + 1, content: '<tuna>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: false },
    { id: cased.length + 2, content: 'new york', single_word: false, lstrip: false, rstrip: false, normalized: true, special: false },
    special(cased.length + 3, '[LR]', { lstrip: true, rstrip: true }),
  ],
});
