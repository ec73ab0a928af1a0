/**
 * How well a vocabulary covers some texts: the share of their word pieces that are [UNK]. Text the
 * vocabulary does not cover (Chinese given to an English model) trains to the majority class
 * without any error, so commands report this share and warn when it is high.
 */
import { bundledModelDir, detectLanguage } from '../models/bundled.js';
import type { Tokenizer } from './types.js';

/** Above this share of [UNK] pieces, {@link unknownTokenWarning} warns (5%). */
export const UNKNOWN_RATE_WARNING = 0.05;

/** Options of {@link unknownTokenRate}. */
export interface UnknownRateOptions {
  /** Texts looked at, from the start (default 2000). */
  readonly sample?: number;
}

/**
 * The share of word pieces that are the tokenizer's [UNK] id, over the first `sample` texts (2000
 * by default; special tokens such as [CLS] are not counted). 0 when the texts have no pieces.
 *
 * @param tokenizer The tokenizer of the model the texts go to.
 * @param texts Texts as the model will see them (for pairs, give both texts; for words, the words joined by spaces).
 * @example
 * const rate = unknownTokenRate(tokenizer, examples.map((e) => e.text)); // 0.31
 */
export function unknownTokenRate(tokenizer: Tokenizer, texts: Iterable<string>, opts: UnknownRateOptions = {}): number {
  const sample = opts.sample ?? 2000;
  const unk = tokenizer.unkTokenId;
  let pieces = 0;
  let unknown = 0;
  let n = 0;
  for (const text of texts) {
    if (n++ >= sample) break;
    const ids = tokenizer.encode(text, undefined, { addSpecialTokens: false, truncation: false }).inputIds;
    pieces += ids.length;
    for (const id of ids) if (id === unk) unknown++;
  }
  return pieces ? unknown / pieces : 0;
}

const LANGUAGE_NAMES = { en: 'English', zh: 'Chinese' } as const;

/**
 * A warning for a high [UNK] share (above 5%), or undefined when the share is low. The warning
 * names the share and the model, and says what to use instead: the bundled model for the language
 * of `texts` (Chinese when at least a fifth of their letters are Han characters, else English), or,
 * when that is already the model, a tokenizer trained on such text.
 *
 * @param rate The share from {@link unknownTokenRate}.
 * @param texts The texts the share was measured on (a sample is enough), for the language.
 * @param source The model or tokenizer the texts were tokenized with, as the user named it.
 * @param tokenizer That tokenizer: when its vocabulary is already one for the texts' language, the
 *   warning suggests training a tokenizer rather than another model.
 * @example
 * const warning = unknownTokenWarning(rate, texts, 'models/tuna-small-en');
 * if (warning) console.warn(warning);
 */
export function unknownTokenWarning(rate: number, texts: Iterable<string>, source: string, tokenizer?: Tokenizer): string | undefined {
  if (!(rate > UNKNOWN_RATE_WARNING)) return undefined;
  const lang = detectLanguage(texts);
  const bundled = bundledModelDir(lang);
  // The vocabulary is already one for this language (e.g. the bundled model, fine-tuned): another
  // model of the same vocabulary would not help.
  const same = normalize(source) === normalize(bundled) || (tokenizer !== undefined && vocabularyLanguage(tokenizer) === lang);
  const remedy = same
    ? `train a tokenizer on such text (tuna tokenizer train) and pre-train a model with it (tuna pretrain)`
    : `use a model whose vocabulary covers ${LANGUAGE_NAMES[lang]} text, e.g. the bundled ${LANGUAGE_NAMES[lang]} model ${bundled}`;
  return (
    `warning: ${(100 * rate).toFixed(1)}% of the word pieces are [UNK] with the vocabulary of ${source}: the model cannot tell these texts apart ` +
    `(a classifier trained on them is likely to learn only the most frequent label). The texts look ${LANGUAGE_NAMES[lang]}; ${remedy}`
  );
}

const normalize = (p: string) => p.replace(/[\\/]+$/, '');

/** The language a vocabulary is made for, by the share of Han characters in its tokens. */
function vocabularyLanguage(tokenizer: Tokenizer): 'en' | 'zh' {
  const tokens: string[] = [];
  for (let id = 0; id < tokenizer.vocabSize; id++) tokens.push(tokenizer.idToToken(id) ?? '');
  return detectLanguage([tokens.join(' ')]);
}
