/** Turns JSON-schema validation failures (Ajv, through fastify) into `ServeError`s naming the field. */
import { ServeError } from './errors.js';
import type { RequestLimits } from './tasks.js';

/** The parts of an Ajv error the messages use. */
export interface SchemaError {
  readonly keyword: string;
  readonly instancePath: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly message?: string;
}

/** `/inputs/3/text` -> `inputs[3].text`. */
export function fieldOf(instancePath: string): string {
  let field = '';
  for (const part of instancePath.split('/').slice(1)) {
    const name = part.replace(/~1/g, '/').replace(/~0/g, '~');
    field += /^\d+$/.test(name) ? `[${name}]` : field === '' ? name : `.${name}`;
  }
  return field;
}

function join(field: string, child: string): string {
  return field === '' ? child : `${field}.${child}`;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  array: 'a list',
  object: 'an object',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  null: 'null',
};

function typeDescription(type: unknown): string {
  const types = Array.isArray(type) ? type : [type];
  const names = types.map((t) => TYPE_NAMES[String(t)] ?? String(t));
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1)}` : names[0]!;
}

function actual(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : typeof value;
}

/** Reads the value at `instancePath` of `body` (for "got ..." in messages). */
function valueAt(body: unknown, instancePath: string): unknown {
  let v = body;
  for (const part of instancePath.split('/').slice(1)) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

/** A 400 `invalid_request` for the first schema failure of a request body. */
export function schemaError(e: SchemaError, body: unknown, limits: RequestLimits): ServeError {
  const field = fieldOf(e.instancePath);
  const where = field === '' ? 'the request body' : field;
  const p = e.params;
  const bad = (message: string, at = field) => new ServeError('invalid_request', message, { field: at === '' ? undefined : at });
  switch (e.keyword) {
    case 'required':
      return bad(
        `${where} lacks "${String(p.missingProperty)}"${field === '' ? ': send {"inputs": "text"} or {"inputs": ["text", ...]}' : ''}`,
        join(field, String(p.missingProperty)),
      );
    case 'additionalProperties':
      return bad(`${where} has an unknown field "${String(p.additionalProperty)}"`, join(field, String(p.additionalProperty)));
    case 'type':
      return bad(`${where} must be ${typeDescription(p.type)}, got ${actual(valueAt(body, e.instancePath))}`);
    case 'minLength':
      return bad(`${where} is empty; give a text with at least one non-space character`);
    case 'maxLength':
      return bad(`${where} is longer than ${String(p.limit)} characters; send shorter texts or raise the server's --max-text-chars`);
    case 'minItems':
      return bad(`${where} is an empty list; give at least one text`);
    case 'maxItems':
      return field === 'inputs'
        ? bad(`inputs has more than ${limits.maxInputs} texts; split the request or raise the server's --max-inputs`)
        : bad(`${where} has more than ${String(p.limit)} items`);
    case 'enum':
      return bad(`${where} must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(valueAt(body, e.instancePath))}`);
    case 'minimum':
    case 'maximum':
      return bad(`${where} must be ${e.keyword === 'minimum' ? 'at least' : 'at most'} ${String(p.limit)}, got ${JSON.stringify(valueAt(body, e.instancePath))}`);
    default:
      return bad(`${where} ${e.message ?? 'is not valid'}`);
  }
}

/** A 400 for a text with no non-space character (JSON schema only sees its length). */
export function blankTextError(field: string): ServeError {
  return new ServeError('invalid_request', `${field} is empty; give a text with at least one non-space character`, { field });
}
