/**
 * Configuration files (YAML or JSON) checked against a JSON Schema, with errors that name the
 * file, the line of a syntax error and the field of a schema violation
 * (`monitor.yaml: watches[1].window: must look like 30s, 15m, 1h or 1d`).
 */
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parseDocument } from 'yaml';
import { TunaError } from '../errors.js';
import { checkReadableFile } from './files.js';

/** `/watches/3/window` as `watches[3].window`. */
export function configFieldPath(pointer: string, property?: string): string {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (property !== undefined) parts.push(property);
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out === '' ? p : `.${p}`;
  return out === '' ? '(top level)' : out;
}

/** Parses YAML or JSON text (JSON by a `.json` extension); a syntax error names the file and line. */
export function parseConfigText(text: string, file: string): unknown {
  if (extname(file).toLowerCase() === '.json') {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new TunaError('invalid_config', `${basename(file)}: not valid JSON (${(e as Error).message})`, { file, cause: e });
    }
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0]?.line;
    throw new TunaError(
      'invalid_config',
      `${basename(file)}${line ? `, line ${line}` : ''}: not valid YAML (${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')})`,
      { file, cause: e },
    );
  }
  return doc.toJS();
}

/** Messages for schema keywords whose default wording would not help (by the `pattern` string). */
export type PatternMessages = Readonly<Record<string, string>>;

function schemaPropertiesAt(schema: object, schemaPath: string): Record<string, unknown> | undefined {
  let node: unknown = schema;
  for (const part of schemaPath.replace(/^#\//, '').split('/').slice(0, -1)) node = (node as Record<string, unknown> | undefined)?.[part];
  return (node as { properties?: Record<string, unknown> } | undefined)?.properties;
}

function describeViolation(e: ErrorObject, schema: object, patterns: PatternMessages): { field: string; problem: string } {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return { field: configFieldPath(e.instancePath, String(p.missingProperty)), problem: 'is required' };
    case 'additionalProperties': {
      const known = Object.keys(schemaPropertiesAt(schema, e.schemaPath) ?? {}).join(', ');
      return { field: configFieldPath(e.instancePath, String(p.additionalProperty)), problem: `is not a known field${known ? ` (known: ${known})` : ''}` };
    }
    case 'minItems':
      return { field: configFieldPath(e.instancePath), problem: `must have at least ${p.limit} item${p.limit === 1 ? '' : 's'}` };
    case 'minLength':
      return { field: configFieldPath(e.instancePath), problem: 'must not be empty' };
    case 'enum':
      return { field: configFieldPath(e.instancePath), problem: `must be one of ${(p.allowedValues as unknown[]).join(', ')}` };
    case 'pattern':
      return { field: configFieldPath(e.instancePath), problem: patterns[String(p.pattern)] ?? `must match ${String(p.pattern)}` };
    default:
      return { field: configFieldPath(e.instancePath), problem: e.message ?? 'is invalid' };
  }
}

/** A compiled schema and the messages for its patterns. */
export class ConfigSchema {
  private validator: ValidateFunction | undefined;

  constructor(
    readonly schema: object,
    private readonly patterns: PatternMessages = {},
  ) {}

  /**
   * Checks a parsed configuration; the error names the file and the first field at fault (and how
   * many more there are).
   *
   * @throws TunaError `invalid_config`.
   */
  check(raw: unknown, file: string): void {
    this.validator ??= new Ajv({ allErrors: true, strict: true }).compile(this.schema);
    if (this.validator(raw)) return;
    const errors = this.validator.errors ?? [];
    const first = describeViolation(errors[0]!, this.schema, this.patterns);
    const more =
      errors.length > 1
        ? ` (and ${errors.length - 1} more: ${errors
            .slice(1, 4)
            .map((e) => describeViolation(e, this.schema, this.patterns).field)
            .join(', ')})`
        : '';
    throw new TunaError('invalid_config', `${basename(file)}: ${first.field}: ${first.problem}${more}`, { file, field: first.field });
  }

  /** Reads, parses and checks a configuration file. */
  async read(file: string): Promise<unknown> {
    await checkReadableFile(file, { what: 'a configuration file' });
    const raw = parseConfigText((await readFile(file, 'utf8')).replace(/^\uFEFF/, ''), file);
    this.check(raw, file);
    return raw;
  }
}

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** The JSON Schema pattern of a duration (`500ms`, `30s`, `15m`, `1h`, `1d`, `1w`). */
export const DURATION_PATTERN = '^[0-9]+(\\.[0-9]+)?(ms|s|m|h|d|w)$';

/** Milliseconds of a duration such as `15m` (see {@link DURATION_PATTERN}); `field` names it in the error. */
export function parseDuration(text: string, field: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d|w)$/.exec(text.trim());
  if (!m) throw new TunaError('invalid_config', `${field} must be a duration such as 30s, 15m, 1h or 1d, got ${JSON.stringify(text)}`, { field });
  return Number(m[1]) * DURATION_UNITS[m[2]!]!;
}

/** A duration in its shortest exact unit (`3600000` → `1h`). */
export function formatDuration(ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm', 's'] as const) {
    const size = DURATION_UNITS[unit]!;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
