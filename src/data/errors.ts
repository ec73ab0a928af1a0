import { TunaError } from '../errors.js';

/** The most characters of a user's text (a cell, a line, a label) quoted in a message. */
export const EXCERPT_CHARS = 80;
/** The most characters of a data error's problem: longer ones are cut, whatever they quote. */
export const MAX_PROBLEM_CHARS = 1000;

/**
 * `text` cut to about `max` characters for quoting in a message, with `…` and the full length
 * when it was cut (a surrogate pair is never split).
 */
export function excerpt(text: string, max = EXCERPT_CHARS): string {
  if (text.length <= max) return text;
  let end = max;
  const unit = text.charCodeAt(end - 1);
  if (unit >= 0xd800 && unit <= 0xdbff) end--;
  return `${text.slice(0, end)}… (${text.length} characters)`;
}

/**
 * A data file tuna cannot use. The message names the file, the 1-based line when there is one,
 * the problem and what to do about it: `train.csv:12: the label is empty. Every example needs one`.
 */
export class DataError extends TunaError {
  override name = 'DataError';
  /** The problem and the advice, without the location prefix. */
  readonly problem: string;

  /**
   * @param file The file the problem is in.
   * @param line The 1-based line, when the problem has one.
   * @param problem What is wrong, then what to do (`"... is empty. Fill it in or remove the row"`).
   * @param field The column or JSON field concerned, when there is one.
   */
  constructor(
    override readonly file: string,
    readonly line: number | undefined,
    problem: string,
    override readonly field?: string,
  ) {
    const said = excerpt(problem, MAX_PROBLEM_CHARS);
    super('invalid_data', `${file}${line === undefined ? '' : `:${line}`}: ${said}`, field === undefined ? { file } : { file, field });
    this.problem = said;
  }
}

/** What a reader does with a bad row (an empty text, a missing or unreadable label): stop, or leave it out. */
export type BadRowPolicy = 'error' | 'skip';

/**
 * The rows a reader left out with `onBadRow: 'skip'`: how many, and the first few problems (each
 * a {@link DataError} with its line), for a report such as "skipped 3 bad rows (lines 4, 9, 12)".
 */
export class SkippedRows {
  /** Rows (or sentences) left out. */
  count = 0;
  /** The first {@link SkippedRows.keep} problems, in file order. */
  readonly first: DataError[] = [];

  constructor(readonly keep = 10) {}

  /** Records a skipped row. */
  add(problem: DataError): void {
    this.count++;
    if (this.first.length < this.keep) this.first.push(problem);
  }

  /**
   * One line for people: `skipped 3 bad rows of train.csv (lines 4, 9, 12; first: empty text in "text")`,
   * or undefined when nothing was skipped.
   */
  summary(shown = 5): string | undefined {
    if (this.count === 0) return undefined;
    const files = [...new Set(this.first.map((e) => e.file))];
    const lines = this.first
      .slice(0, shown)
      .map((e) => e.line)
      .filter((l) => l !== undefined);
    const more = this.count > lines.length ? ', ...' : '';
    const where = lines.length ? `line${lines.length > 1 || more ? 's' : ''} ${lines.join(', ')}${more}; ` : '';
    return `skipped ${this.count} bad row${this.count === 1 ? '' : 's'} of ${files.join(', ')} (${where}first: ${this.first[0]!.problem})`;
  }
}
