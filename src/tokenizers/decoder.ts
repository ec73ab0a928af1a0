/**
 * Turning WordPiece tokens back into text, as Hugging Face does: the WordPiece decoder joins
 * continuation pieces and puts spaces between words, then `clean_up_tokenization` removes the
 * spaces tokenisation put before punctuation and inside English contractions.
 */

const CLEANUPS: readonly (readonly [string, string])[] = [
  [' .', '.'],
  [' ?', '?'],
  [' !', '!'],
  [' ,', ','],
  [" ' ", "'"],
  [" n't", "n't"],
  [" 'm", "'m"],
  [" 's", "'s"],
  [" 've", "'ve"],
  [" 're", "'re"],
];

/**
 * transformers' `clean_up_tokenization`: " ." → ".", " ?" → "?", " !" → "!", " ," → ",",
 * " ' " → "'", and " n't", " 'm", " 's", " 've", " 're" joined to the previous word.
 */
export function cleanUpTokenization(text: string): string {
  let out = text;
  for (const [from, to] of CLEANUPS) if (out.includes(from)) out = out.replaceAll(from, to);
  return out;
}

/**
 * The tokenizers WordPiece decoder: every token but the first gets a leading space unless it starts
 * with `prefix` (which is removed); with `cleanup`, each token is then cleaned up on its own.
 */
export function wordPieceDecode(tokens: readonly string[], prefix: string, cleanup: boolean): string {
  let out = '';
  for (let i = 0; i < tokens.length; i++) {
    let t = tokens[i]!;
    if (i > 0) t = t.startsWith(prefix) ? t.slice(prefix.length) : ' ' + t;
    if (cleanup) t = cleanUpTokenization(t.replaceAll(' do not', " don't"));
    out += t;
  }
  return out;
}
