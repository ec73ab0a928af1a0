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

/**
 * Call or load options in tuna's camelCase names, accepting transformers.js's snake_case spellings
 * (`top_k`, `aggregation_strategy`, ...) and refusing names the pipeline does not know, so that a
 * misspelt option is an error rather than silently ignored. `known` maps each camelCase name to
 * its snake_case spelling.
 */
export function callOptions<T extends object>(opts: T | undefined, known: Readonly<Record<string, string>>): T {
  if (opts === undefined || opts === null) return {} as T;
  if (typeof opts !== 'object' || Array.isArray(opts)) throw new PipelineError('invalid_option', 'options must be an object', { field: 'options' });
  const bySnake = new Map(Object.entries(known).map(([camel, snake]) => [snake, camel]));
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(opts)) {
    const name = Object.hasOwn(known, key) ? key : bySnake.get(key);
    if (name === undefined) {
      const names = Object.entries(known).map(([camel, snake]) => (camel === snake ? camel : `${camel} (${snake})`));
      throw new PipelineError('invalid_option', `unknown option "${key}"; this pipeline takes ${names.join(', ')}`, { field: key });
    }
    if (value === undefined) continue;
    if (Object.hasOwn(out, name)) throw new PipelineError('invalid_option', `option ${name} is given twice (as ${name} and ${known[name]})`, { field: key });
    out[name] = value;
  }
  return out as T;
}
