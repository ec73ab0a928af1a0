/** Field-by-field checks of configuration objects and saved states, with errors that name the field. */
import { DetectorError } from './errors.js';

/** A plain object (not null, not an array). */
export type Fields = Record<string, unknown>;

/** `value` as a plain object, or an error naming `field`. */
export function asObject(value: unknown, field: string, code: 'invalid_config' | 'invalid_input' = 'invalid_config'): Fields {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new DetectorError(code, `${field} must be an object, got ${describe(value)}`, field);
  }
  return value as Fields;
}

/** Refuses keys of `obj` that are not in `known`, naming the first one and listing the known ones. */
export function rejectUnknown(obj: Fields, known: readonly string[], prefix: string): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) {
      throw new DetectorError('invalid_config', `${prefix}.${key} is not a setting of this detector; the settings are ${known.join(', ')}`, `${prefix}.${key}`);
    }
  }
}

/** What {@link numberField} accepts. */
export interface NumberRule {
  /** Smallest value allowed (inclusive unless `exclusiveMin`). */
  min?: number;
  exclusiveMin?: boolean;
  /** Largest value allowed (inclusive). */
  max?: number;
  integer?: boolean;
}

/** Checks a finite number against `rule`, naming `field` when it fails. */
export function checkNumber(value: unknown, field: string, rule: NumberRule, code: 'invalid_config' | 'invalid_input' = 'invalid_config'): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new DetectorError(code, `${field} must be a finite number, got ${describe(value)}`, field);
  if (rule.integer === true && !Number.isInteger(value)) throw new DetectorError(code, `${field} must be a whole number, got ${value}`, field);
  if (rule.min !== undefined) {
    if (rule.exclusiveMin === true ? value <= rule.min : value < rule.min) {
      throw new DetectorError(code, `${field} must be ${rule.exclusiveMin === true ? 'greater than' : 'at least'} ${rule.min}, got ${value}`, field);
    }
  }
  if (rule.max !== undefined && value > rule.max) throw new DetectorError(code, `${field} must be at most ${rule.max}, got ${value}`, field);
  return value;
}

/** `obj[key]` checked as a number, or `fallback` when absent. */
export function numberField(obj: Fields, key: string, prefix: string, fallback: number, rule: NumberRule): number {
  const value = obj[key];
  if (value === undefined) return fallback;
  return checkNumber(value, `${prefix}.${key}`, rule);
}

/** `obj[key]` as a number or null (null switches the feature off), or `fallback` when absent. */
export function nullableNumberField(obj: Fields, key: string, prefix: string, fallback: number | null, rule: NumberRule): number | null {
  const value = obj[key];
  if (value === undefined) return fallback;
  if (value === null) return null;
  return checkNumber(value, `${prefix}.${key}`, rule);
}

/** `obj[key]` as a boolean, or `fallback` when absent. */
export function booleanField(obj: Fields, key: string, prefix: string, fallback: boolean): boolean {
  const value = obj[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new DetectorError('invalid_config', `${prefix}.${key} must be true or false, got ${describe(value)}`, `${prefix}.${key}`);
  return value;
}

/** `obj[key]` as one of `choices`, or `fallback` when absent. */
export function choiceField<T extends string>(obj: Fields, key: string, prefix: string, fallback: T, choices: readonly T[]): T {
  const value = obj[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw new DetectorError('invalid_config', `${prefix}.${key} must be one of ${choices.map((c) => `'${c}'`).join(', ')}, got ${describe(value)}`, `${prefix}.${key}`);
  }
  return value as T;
}

/** A saved-state number (finite) at `field`. */
export function stateNumber(obj: Fields, key: string, prefix: string): number {
  return checkNumber(obj[key], `${prefix}.${key}`, {});
}

/** A saved-state number or null at `field`. */
export function stateNullableNumber(obj: Fields, key: string, prefix: string): number | null {
  const value = obj[key];
  return value === null ? null : checkNumber(value, `${prefix}.${key}`, {});
}

/** A saved-state array of finite numbers at `field`, at most `maxLength` long. */
export function stateNumbers(obj: Fields, key: string, prefix: string, maxLength: number): number[] {
  const value = obj[key];
  const field = `${prefix}.${key}`;
  if (!Array.isArray(value)) throw new DetectorError('invalid_config', `${field} must be an array of numbers, got ${describe(value)}`, field);
  if (value.length > maxLength) throw new DetectorError('invalid_config', `${field} holds ${value.length} values, more than the ${maxLength} this configuration keeps`, field);
  value.forEach((v, i) => checkNumber(v, `${field}[${i}]`, {}));
  return value as number[];
}

/** A short description of a value for messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'object') return 'an object';
  return String(value);
}
