/**
 * A data file tuna cannot use. The message names the file, the 1-based line when there is one,
 * the problem and what to do about it: `train.csv:12: the label is empty. Every example needs one`.
 */
export class DataError extends Error {
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
    readonly file: string,
    readonly line: number | undefined,
    problem: string,
    readonly field?: string,
  ) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${problem}`);
    this.problem = problem;
  }
}
