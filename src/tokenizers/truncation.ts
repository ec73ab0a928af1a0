/**
 * How many tokens of each sequence survive truncation, with the semantics of Hugging Face's fast
 * tokenizers (`truncate_encodings` in the Rust `tokenizers` crate).
 */
import { TruncationError } from './errors.js';

/** Which sequence(s) lose tokens when an input is too long. */
export type TruncationStrategy = 'longest_first' | 'only_first' | 'only_second';

/**
 * Lengths to keep for a first sequence of `n1` tokens and an optional second of `n2`, so that
 * together they fit `maxLength` (special tokens already subtracted).
 *
 * - `longest_first`: a single sequence is cut to `maxLength`. For a pair, only the longer one is
 *   cut while that suffices; otherwise both get half of `maxLength`, the longer one (the second on
 *   a tie) getting the odd token.
 * - `only_first` / `only_second`: only that sequence is cut; it must keep at least one token.
 *
 * @throws TruncationError when `only_second` is asked without a pair, or the chosen sequence is
 *   too short to remove enough tokens.
 */
export function truncatedLengths(n1: number, n2: number | undefined, maxLength: number, strategy: TruncationStrategy): [number, number] {
  const second = n2 ?? 0;
  if (maxLength <= 0) return [0, 0];
  const total = n1 + second;
  if (total <= maxLength) return [n1, second];
  const toRemove = total - maxLength;
  if (strategy === 'longest_first') {
    if (n2 === undefined) return [maxLength, 0];
    let a = n1;
    let b = n2;
    const swap = a > b;
    if (swap) [a, b] = [b, a];
    b = a > maxLength ? a : Math.max(a, maxLength - a);
    if (a + b > maxLength) {
      a = Math.floor(maxLength / 2);
      b = a + (maxLength % 2);
    }
    return swap ? [b, a] : [a, b];
  }
  if (strategy === 'only_second' && n2 === undefined) {
    throw new TruncationError(`truncation 'only_second' needs a text pair; use 'longest_first' or 'only_first' for a single text`);
  }
  const target = strategy === 'only_first' ? n1 : second;
  if (target <= toRemove) {
    const which = strategy === 'only_first' ? 'first' : 'second';
    throw new TruncationError(`truncation '${strategy}' must remove ${toRemove} tokens but the ${which} sequence has only ${target}; ` + `raise maxLength or use 'longest_first'`);
  }
  return strategy === 'only_first' ? [n1 - toRemove, second] : [n1, second - toRemove];
}
