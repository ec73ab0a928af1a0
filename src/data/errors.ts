/** A data file tuna cannot use, with the place and what to do about it. */
export class DataError extends Error {
  override name = 'DataError';
  constructor(
    /** The file the problem is in. */
    readonly file: string,
    /** 1-based line, when the problem has one. */
    readonly line: number | undefined,
    problem: string,
    /** The column or field concerned, when there is one. */
    readonly field?: string,
  ) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${problem}`);
  }
}
