/**
 * Words for full-text search in any language: `Intl.Segmenter` word boundaries (ICU's dictionary
 * segmentation for Chinese and Japanese, spaces and punctuation elsewhere), lower-cased, with
 * punctuation and spaces dropped.
 */

/** The name of the tokenizer, as an index manifest records it. */
export const BM25_TOKENIZER = 'intl-segmenter-word';

/** A function from text to the words of a search index. */
export type WordTokenizer = (text: string) => string[];

/**
 * A tokenizer for `locale` (default `zh`: ICU segments Chinese with its dictionary and every
 * other script by its usual word rules). Words are NFKC-normalised (full-width letters and digits
 * become ASCII) and lower-cased; segments that are not word-like (spaces, punctuation, symbols)
 * are dropped.
 *
 * ```ts
 * wordTokenizer()('如何重置我的密码？');   // ['如何', '重', '置', '我的', '密码']
 * wordTokenizer()('Reset my PASSWORD!'); // ['reset', 'my', 'password']
 * ```
 */
export function wordTokenizer(locale = 'zh'): WordTokenizer {
  const segmenter = new Intl.Segmenter(locale, { granularity: 'word' });
  return (text) => {
    const words: string[] = [];
    for (const s of segmenter.segment(text.normalize('NFKC'))) {
      if (s.isWordLike) words.push(s.segment.toLowerCase());
    }
    return words;
  };
}
