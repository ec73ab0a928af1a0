/** Checking option values of `tuna` commands, and turning library errors into CLI errors. */
import { DataError } from '../../data/index.js';
import { isTunaError } from '../../errors.js';
import { ResumeError } from '../../train/checkpoints.js';
import { CliError } from '../errors.js';

/** A number option, checked against a range. */
export function number(flag: string, raw: string, range: { min?: number; max?: number; exclusive?: boolean } = {}): number {
  const v = Number(raw);
  const { min, max, exclusive } = range;
  const low = min === undefined || (exclusive ? v > min : v >= min);
  if (raw.trim() === '' || !Number.isFinite(v) || !low || (max !== undefined && v > max)) {
    const want = [min === undefined ? '' : `${exclusive ? '>' : '>='} ${min}`, max === undefined ? '' : `<= ${max}`].filter(Boolean).join(' and ');
    throw new CliError('usage', `${flag} must be a number${want ? ` ${want}` : ''}, got "${raw}"`);
  }
  return v;
}

/** An integer option of at least `min`. */
export function integer(flag: string, raw: string, min: number): number {
  const v = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || v < min) throw new CliError('usage', `${flag} must be an integer >= ${min}, got "${raw}"`);
  return v;
}

/** One of a fixed set of values. */
export function choice<T extends string>(flag: string, raw: string, values: readonly T[]): T {
  if (!(values as readonly string[]).includes(raw)) throw new CliError('usage', `${flag} must be one of ${values.join(', ')}, got "${raw}"`);
  return raw as T;
}

/** Runs `f`, reporting the library's typed errors as CLI errors (message kept, no stack trace). */
export async function asError<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw toCliError(e);
  }
}

/**
 * The CLI error for a library error. Every TunaError passes through unchanged: `tuna` reports it by
 * its code (see `CliError.of`). The library errors that are not TunaErrors yet keep the code they
 * had; other errors pass through unchanged.
 */
export function toCliError(e: unknown): unknown {
  if (isTunaError(e)) return e;
  if (e instanceof DataError) return new CliError('invalid_data', e.message, { file: e.file, field: e.field, cause: e });
  if (e instanceof ResumeError) return new CliError('file_unreadable', e.message, { cause: e });
  return e;
}
