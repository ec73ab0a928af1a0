/** Reading and writing vocab.txt: one token per line, the line number being the id. */

/**
 * The tokens of a vocab.txt, in id order. Lines end with \n, \r\n or \r (as Python's text mode
 * reads them); a final line terminator does not start an extra, empty token. A leading UTF-8 BOM
 * is dropped.
 */
export function parseVocabTxt(text: string): string[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.length === 0) return [];
  const lines = body.split(/\r\n|\r|\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** vocab.txt text for tokens in id order. */
export function formatVocabTxt(tokens: readonly string[]): string {
  return tokens.length === 0 ? '' : tokens.join('\n') + '\n';
}
