/** Validation of pipeline inputs and per-call options. */
import { PipelineError } from './errors.js';

/** Checks that `value` is a non-empty text; `field` names it in the error (e.g. `inputs[3]`). */
export function checkText(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new PipelineError('invalid_input', `${field} must be a string, got ${value === null ? 'null' : typeof value}`, { field });
  if (value.trim() === '') throw new PipelineError('invalid_input', `${field} is empty; give a text with at least one non-space character`, { field });
  return value;
}

/** Checks a list of texts (for `runBatch` and array calls). */
export function checkTexts(values: unknown, field = 'inputs'): string[] {
  if (!Array.isArray(values)) throw new PipelineError('invalid_input', `${field} must be a list of texts`, { field });
  return values.map((v, i) => checkText(v, `${field}[${i}]`));
}

/** Field name of input `i`: `inputs` for a single-input call, `inputs[i]` for a list. */
export function inputField(single: boolean, i: number): string {
  return single ? 'inputs' : `inputs[${i}]`;
}

/** Checks an optional integer option within [min, max]. */
export function checkInteger(value: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`;
    throw new PipelineError('invalid_option', `${field} must be an integer ${range}, got ${JSON.stringify(value)}`, { field });
  }
  return value;
}

/** Checks that an option is one of `allowed`. */
export function checkChoice<T extends string>(value: unknown, field: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new PipelineError('invalid_option', `${field} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(value)}`, { field });
  }
  return value as T;
}
