/** Reading fields of a parsed tokenizer.json with errors that name the file and the JSON path. */
import { TokenizerFileError } from '../errors.js';

/** Where a value sits: the file and its JSON path (`normalizer.normalizers[1]`). */
export interface JsonAt {
  readonly file: string;
  readonly path: string;
}

/** The location of `key` (a field name or an array index) inside `at`. */
export function child(at: JsonAt, key: string | number): JsonAt {
  if (typeof key === 'number') return { file: at.file, path: `${at.path}[${key}]` };
  return { file: at.file, path: at.path ? `${at.path}.${key}` : key };
}

/** A TokenizerFileError about the value at `at`. */
export function fieldError(at: JsonAt, problem: string): TokenizerFileError {
  return new TokenizerFileError(at.file, `${at.path || '(root)'} ${problem}`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  return typeof v === 'object' ? 'an object' : String(v);
}

/** `v` as an object, or an error naming `at`. */
export function asObject(v: unknown, at: JsonAt): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw fieldError(at, `must be an object, got ${describe(v)}`);
  return v as Record<string, unknown>;
}

/** `v` as an array. */
export function asArray(v: unknown, at: JsonAt): unknown[] {
  if (!Array.isArray(v)) throw fieldError(at, `must be an array, got ${describe(v)}`);
  return v;
}

/** `v` as a string. */
export function asString(v: unknown, at: JsonAt): string {
  if (typeof v !== 'string') throw fieldError(at, `must be a string, got ${describe(v)}`);
  return v;
}

/** `v` as a finite number. */
export function asNumber(v: unknown, at: JsonAt): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw fieldError(at, `must be a number, got ${describe(v)}`);
  return v;
}

/** `v` as a non-negative integer. */
export function asIndex(v: unknown, at: JsonAt): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw fieldError(at, `must be a non-negative integer, got ${describe(v)}`);
  return v;
}

/** `v` as a boolean. */
export function asBool(v: unknown, at: JsonAt): boolean {
  if (typeof v !== 'boolean') throw fieldError(at, `must be true or false, got ${describe(v)}`);
  return v;
}

/** Field readers over one JSON object: absent or null fields take the given default. */
export class Fields {
  readonly obj: Record<string, unknown>;
  constructor(
    v: unknown,
    readonly at: JsonAt,
  ) {
    this.obj = asObject(v, at);
  }
  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }
  at_(key: string): JsonAt {
    return child(this.at, key);
  }
  raw(key: string): unknown {
    return this.obj[key];
  }
  string(key: string, dflt?: string): string {
    const v = this.obj[key];
    if ((v === undefined || v === null) && dflt !== undefined) return dflt;
    return asString(v, child(this.at, key));
  }
  optString(key: string): string | undefined {
    const v = this.obj[key];
    return v === undefined || v === null ? undefined : asString(v, child(this.at, key));
  }
  bool(key: string, dflt?: boolean): boolean {
    const v = this.obj[key];
    if ((v === undefined || v === null) && dflt !== undefined) return dflt;
    return asBool(v, child(this.at, key));
  }
  optBool(key: string): boolean | undefined {
    const v = this.obj[key];
    return v === undefined || v === null ? undefined : asBool(v, child(this.at, key));
  }
  index(key: string, dflt?: number): number {
    const v = this.obj[key];
    if ((v === undefined || v === null) && dflt !== undefined) return dflt;
    return asIndex(v, child(this.at, key));
  }
  optIndex(key: string): number | undefined {
    const v = this.obj[key];
    return v === undefined || v === null ? undefined : asIndex(v, child(this.at, key));
  }
  array(key: string): unknown[] {
    return asArray(this.obj[key], child(this.at, key));
  }
  /** The `type` field, checked against the supported names. */
  type(supported: readonly string[]): string {
    const t = this.string('type');
    if (!supported.includes(t)) throw fieldError(child(this.at, 'type'), `${JSON.stringify(t)} is not supported; supported: ${supported.join(', ')}`);
    return t;
  }
}
