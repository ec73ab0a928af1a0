/**
 * The assistant's configuration file (YAML or JSON): its schema, its loading with errors that name
 * the file and the field, and the data files it points to (labelled utterances, out-of-scope
 * examples, the FAQ).
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseCsv } from 'csv-parse/sync';
import { TunaError, bundledModelDir, checkReadableFile, configFieldPath, loadTextExamples, parseConfigText as parseYamlOrJson } from '../../index.js';
import { AssistantError } from './errors.js';

/** A threshold: a number, or `auto` (tuned on validation data when the assistant is trained). */
export type Threshold = number | 'auto';

/** One intent: its example utterances and what the assistant does when it recognises it. */
export interface IntentConfig {
  readonly name: string;
  /** Example utterances (more may come from `intents_file`). */
  readonly examples: readonly string[];
  /** The reply text. */
  readonly response?: string;
  /** An action name the client carries out (e.g. `check_order_status`), returned as `action`. */
  readonly action?: string;
  /** Slots the intent needs before it is answered (names from `slots.fill`). */
  readonly requires?: readonly string[];
}

/** One FAQ entry. */
export interface FaqEntry {
  readonly id: string;
  readonly question: string;
  readonly answer: string;
}

/** A configuration, checked, with file paths resolved against the configuration's directory and data files read. */
export interface AssistantConfig {
  /** The configuration file. */
  readonly file: string;
  readonly name: string;
  /** The checkpoint the intent classifier is fine-tuned from (default: the bundled English model). */
  readonly model: string;
  readonly intents: readonly IntentConfig[];
  /** Out-of-scope example utterances (for tuning the out-of-scope rule), from the list and the file. */
  readonly outOfScope: readonly string[];
  /**
   * Whether the classifier also learns an explicit out-of-scope class ({@link OUT_OF_SCOPE_CLASS})
   * from the training part of the out-of-scope examples (split like an intent's).
   */
  readonly outOfScopeClass: boolean;
  /**
   * Whether a message is also out of scope when its [CLS] vector is far from every intent's: its
   * cosine to the nearest intent centroid below `thresholds.similarity`.
   */
  readonly outOfScopeSimilarity: boolean;
  /**
   * Held-out messages for calibration and tuning, from `validation_file` (intent labels, and `oos`
   * or `out_of_scope` for out-of-scope messages): when given, every example trains and these
   * replace the validation split.
   */
  readonly validation?: { readonly intents: readonly { readonly text: string; readonly label: string }[]; readonly outOfScope: readonly string[] };
  /** Slot filling: the token-classification model, slot name -> entity group, and the question for each slot. */
  readonly slots?: { readonly model: string; readonly fill: Readonly<Record<string, string>>; readonly prompts: Readonly<Record<string, string>> };
  readonly faq: {
    readonly entries: readonly FaqEntry[];
    /** The sentence model that embeds FAQ entries and queries (default: `model`). */
    readonly model: string;
    readonly retriever: 'dense' | 'bm25' | 'hybrid';
  };
  readonly thresholds: {
    /** Lowest calibrated probability of the top intent for a direct answer. */
    readonly confidence: Threshold;
    /** Smallest gap between the two most probable intents for a direct answer. */
    readonly margin: Threshold;
    /** Lowest FAQ match score (cosine of query and entry) for an FAQ answer. */
    readonly faq: Threshold;
    /** With `out_of_scope.similarity`: lowest cosine of a message's [CLS] vector to the nearest intent centroid. */
    readonly similarity: Threshold;
    /** With `auto` and no out-of-scope examples: the share of correctly classified validation messages allowed below the thresholds. */
    readonly quantile: number;
    /** With `auto` and out-of-scope examples: the most in-scope accuracy the rule may cost (validation), maximising out-of-scope recall within it. */
    readonly maxAccuracyDrop?: number;
  };
  readonly handoff: { readonly webhook?: string; readonly retries: number; readonly timeoutMs: number };
  /** The SQLite database file, or a `postgres://` / `postgresql://` URL (kept as given). */
  readonly database: string;
  readonly messages: { readonly fallback: string; readonly clarify: string; readonly handoff: string };
  readonly training: {
    readonly epochs: number;
    readonly batchSize: number;
    readonly learningRate?: number;
    readonly validationSplit: number;
    readonly maxLength: number;
    readonly seed: number;
    readonly threads?: number;
  };
}

const threshold = { oneOf: [{ type: 'number', minimum: 0, maximum: 1 }, { const: 'auto' }] };
const relativeFile = { type: 'string', minLength: 1 };

/** The JSON Schema of the configuration file. */
export const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['intents'],
  properties: {
    name: { type: 'string', minLength: 1 },
    model: relativeFile,
    intents: {
      type: 'array',
      minItems: 2,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: {
          name: { type: 'string', pattern: '^[A-Za-z0-9_.:-]+$' },
          examples: { type: 'array', items: { type: 'string', minLength: 1 } },
          response: { type: 'string', minLength: 1 },
          action: { type: 'string', pattern: '^[A-Za-z0-9_.:-]+$' },
          requires: { type: 'array', items: { type: 'string', minLength: 1 } },
        },
      },
    },
    slots: {
      type: 'object',
      additionalProperties: false,
      required: ['model', 'fill'],
      properties: {
        model: relativeFile,
        fill: { type: 'object', minProperties: 1, additionalProperties: { type: 'string', minLength: 1 } },
        prompts: { type: 'object', additionalProperties: { type: 'string', minLength: 1 } },
      },
    },
    intents_file: relativeFile,
    validation_file: relativeFile,
    out_of_scope: {
      type: 'object',
      additionalProperties: false,
      properties: { examples: { type: 'array', items: { type: 'string', minLength: 1 } }, file: relativeFile, class: { type: 'boolean' }, similarity: { type: 'boolean' } },
    },
    faq: {
      type: 'object',
      additionalProperties: false,
      required: ['file'],
      properties: { file: relativeFile, model: relativeFile, retriever: { enum: ['dense', 'bm25', 'hybrid'] } },
    },
    thresholds: {
      type: 'object',
      additionalProperties: false,
      properties: {
        confidence: threshold,
        margin: threshold,
        faq: threshold,
        similarity: threshold,
        quantile: { type: 'number', minimum: 0, maximum: 0.5 },
        max_accuracy_drop: { type: 'number', minimum: 0, maximum: 1 },
      },
    },
    handoff: {
      type: 'object',
      additionalProperties: false,
      properties: {
        webhook: { type: 'string', pattern: '^https?://' },
        retries: { type: 'integer', minimum: 0, maximum: 10 },
        timeout_ms: { type: 'integer', minimum: 100, maximum: 60000 },
      },
    },
    database: relativeFile,
    messages: {
      type: 'object',
      additionalProperties: false,
      properties: { fallback: { type: 'string', minLength: 1 }, clarify: { type: 'string', minLength: 1 }, handoff: { type: 'string', minLength: 1 } },
    },
    training: {
      type: 'object',
      additionalProperties: false,
      properties: {
        epochs: { type: 'number', exclusiveMinimum: 0, maximum: 1000 },
        batch_size: { type: 'integer', minimum: 1 },
        learning_rate: { type: 'number', exclusiveMinimum: 0 },
        validation_split: { type: 'number', exclusiveMinimum: 0, maximum: 0.5 },
        max_length: { type: 'integer', minimum: 8 },
        seed: { type: 'integer', minimum: 0 },
        threads: { type: 'integer', minimum: 1 },
      },
    },
  },
} as const;

/** The label of the explicit out-of-scope class (`out_of_scope.class: true`); no intent may have it. */
export const OUT_OF_SCOPE_CLASS = 'out_of_scope';

/** Default texts of the replies that are not an intent's own. */
export const DEFAULT_MESSAGES = {
  fallback: "Sorry, I don't know the answer to that.",
  handoff: "Sorry, I don't know the answer to that. I'm passing you to a colleague, who will get back to you.",
  clarify: 'Did you mean {a} or {b}?',
} as const;

let validator: ReturnType<Ajv['compile']> | undefined;

/** `/intents/3/examples` as `intents[3].examples`. */
export const fieldPath = configFieldPath;

/** One schema violation as `field: problem`. */
function describe(e: ErrorObject): { field: string; problem: string } {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return { field: fieldPath(e.instancePath, String(p.missingProperty)), problem: 'is required' };
    case 'additionalProperties': {
      const parent = schemaAt(e.schemaPath);
      const known = parent ? Object.keys(parent).join(', ') : '';
      return { field: fieldPath(e.instancePath, String(p.additionalProperty)), problem: `is not a known field${known ? ` (known: ${known})` : ''}` };
    }
    case 'minItems':
      return { field: fieldPath(e.instancePath), problem: `must have at least ${p.limit} items` };
    case 'minLength':
      return { field: fieldPath(e.instancePath), problem: 'must not be empty' };
    case 'enum':
      return { field: fieldPath(e.instancePath), problem: `must be one of ${(p.allowedValues as unknown[]).join(', ')}` };
    case 'oneOf':
    case 'const':
      return { field: fieldPath(e.instancePath), problem: 'must be a number from 0 to 1, or auto' };
    case 'pattern':
      return {
        field: fieldPath(e.instancePath),
        problem: String(p.pattern).startsWith('^http') ? 'must be an http:// or https:// URL' : 'may hold only letters, digits and _ . : -',
      };
    default:
      return { field: fieldPath(e.instancePath), problem: e.message ?? 'is invalid' };
  }
}

/** The `properties` of the schema object that `schemaPath` (e.g. `#/properties/faq/additionalProperties`) is in. */
function schemaAt(schemaPath: string): Record<string, unknown> | undefined {
  let node: unknown = CONFIG_SCHEMA;
  for (const part of schemaPath.replace(/^#\//, '').split('/').slice(0, -1)) node = (node as Record<string, unknown> | undefined)?.[part];
  return (node as { properties?: Record<string, unknown> } | undefined)?.properties;
}

/**
 * Checks a parsed configuration against {@link CONFIG_SCHEMA}.
 *
 * @throws AssistantError `invalid_config`: `bot.yaml: intents[3].examples: must have at least 2 items`.
 */
export function validateConfig(raw: unknown, file: string): void {
  validator ??= new Ajv({ allErrors: true, strict: true }).compile(CONFIG_SCHEMA);
  if (validator(raw)) return;
  // oneOf reports its branches' errors too; the oneOf error says it for the field.
  const errors = (validator.errors ?? []).filter(
    (e, _, all) => !all.some((o) => o !== e && o.keyword === 'oneOf' && e.schemaPath.startsWith(o.schemaPath.replace(/\/oneOf$/, '/oneOf/'))),
  );
  const first = describe(errors[0]!);
  const more =
    errors.length > 1
      ? ` (and ${errors.length - 1} more: ${errors
          .slice(1, 4)
          .map((e) => describe(e).field)
          .join(', ')})`
      : '';
  throw new AssistantError('invalid_config', `${basename(file)}: ${first.field}: ${first.problem}${more}`, { file, field: first.field });
}

/** Parses YAML or JSON text (JSON by a `.json` extension); a syntax error names the file and line. */
export function parseConfigText(text: string, file: string): unknown {
  try {
    return parseYamlOrJson(text, file);
  } catch (e) {
    if (e instanceof TunaError) throw new AssistantError(e.code, e.message, { file, cause: e });
    throw e;
  }
}

/** Reads an FAQ file: CSV/TSV with `question` and `answer` columns (optional `id`), or JSON Lines with those fields. */
export async function readFaq(file: string): Promise<FaqEntry[]> {
  await checkReadableFile(file, { what: 'an FAQ file' });
  const text = (await readFile(file, 'utf8')).replace(/^\uFEFF/, '');
  const ext = extname(file).toLowerCase();
  const rows: { line: number; record: Record<string, unknown> }[] = [];
  if (ext === '.csv' || ext === '.tsv') {
    let parsed: { record: Record<string, string>; info: { lines: number } }[];
    try {
      parsed = parseCsv(text, { columns: (h: string[]) => h.map((c) => c.trim()), delimiter: ext === '.csv' ? ',' : '\t', skip_empty_lines: true, info: true }) as never;
    } catch (e) {
      throw new AssistantError('invalid_data', `${file}: broken ${ext.slice(1).toUpperCase()} (${(e as Error).message})`, { file, cause: e });
    }
    for (const r of parsed) rows.push({ line: r.info.lines, record: r.record });
  } else if (ext === '.jsonl' || ext === '.ndjson') {
    text.split('\n').forEach((l, i) => {
      if (l.trim() === '') return;
      try {
        rows.push({ line: i + 1, record: JSON.parse(l) });
      } catch (e) {
        throw new AssistantError('invalid_data', `${file}, line ${i + 1}: not valid JSON (${(e as Error).message})`, { file, cause: e });
      }
    });
  } else {
    throw new AssistantError('invalid_data', `${file}: an FAQ file must be .csv, .tsv or .jsonl`, { file });
  }
  const ids = new Set<string>();
  const out: FaqEntry[] = [];
  for (const { line, record } of rows) {
    const q = record.question;
    const a = record.answer;
    for (const [name, v] of [
      ['question', q],
      ['answer', a],
    ] as const) {
      if (typeof v !== 'string' || v.trim() === '') throw new AssistantError('invalid_data', `${file}, line ${line}: "${name}" is missing or empty`, { file, field: name });
    }
    const id = record.id === undefined || record.id === '' ? `faq-${out.length + 1}` : String(record.id);
    if (ids.has(id)) throw new AssistantError('invalid_data', `${file}, line ${line}: the id "${id}" is used twice; give every FAQ entry its own id`, { file, field: 'id' });
    ids.add(id);
    out.push({ id, question: (q as string).trim(), answer: (a as string).trim() });
  }
  if (out.length === 0) throw new AssistantError('invalid_data', `${file}: the FAQ file has no entries`, { file });
  return out;
}

/** Reads utterances from a file with one text per line (`.txt`), or a CSV/TSV/JSONL file with a `text` column. */
async function readUtterances(file: string): Promise<string[]> {
  if (extname(file).toLowerCase() === '.txt') {
    await checkReadableFile(file, { what: 'a file of utterances' });
    return (await readFile(file, 'utf8'))
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
  }
  return (await loadTextExamples(file, { requireLabels: false })).map((e) => e.text);
}

/**
 * Reads and checks a configuration file, reads the data files it names (paths relative to the
 * configuration's directory) and fills in the defaults.
 *
 * @throws AssistantError `invalid_config` naming the file and field; DataError for a bad data file.
 */
export async function loadConfig(file: string): Promise<AssistantConfig> {
  await checkReadableFile(file, { what: 'an assistant configuration (YAML or JSON)' });
  const raw = parseConfigText(await readFile(file, 'utf8'), file);
  return resolveConfig(raw, file);
}

/** {@link loadConfig} on an object already parsed; `file` names it in errors and anchors relative paths. */
export async function resolveConfig(raw: unknown, file: string): Promise<AssistantConfig> {
  validateConfig(raw, file);
  // biome-ignore lint/suspicious/noExplicitAny: the shape was checked against CONFIG_SCHEMA just above
  const c = raw as Record<string, any>;
  const base = dirname(resolve(file));
  const path = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const fail = (field: string, problem: string) => new AssistantError('invalid_config', `${basename(file)}: ${field}: ${problem}`, { file, field });

  const examples = new Map<string, string[]>();
  const intents = c.intents as { name: string; examples?: string[]; response?: string; action?: string; requires?: string[] }[];
  const slotNames = Object.keys(c.slots?.fill ?? {});
  for (const name of slotNames)
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw fail(`slots.fill.${name}`, 'a slot name may hold only letters, digits and _ (and not start with a digit)');
  for (const name of Object.keys(c.slots?.prompts ?? {}))
    if (!slotNames.includes(name)) throw fail(`slots.prompts.${name}`, `is not a slot of slots.fill (${slotNames.join(', ')})`);
  intents.forEach((it, i) => {
    if (examples.has(it.name)) throw fail(`intents[${i}].name`, `"${it.name}" is the name of an earlier intent too`);
    (it.requires ?? []).forEach((s, j) => {
      if (!slotNames.includes(s)) throw fail(`intents[${i}].requires[${j}]`, `"${s}" is not a slot; add it to slots.fill with its entity group`);
    });
    if (it.response === undefined && it.action === undefined) throw fail(`intents[${i}]`, 'needs a response (text) or an action (name), or both');
    examples.set(it.name, [...(it.examples ?? [])]);
  });
  if (c.intents_file !== undefined) {
    for (const e of await loadTextExamples(path(c.intents_file))) {
      const label = String(e.label);
      const list = examples.get(label);
      if (!list)
        throw fail(
          'intents_file',
          `${c.intents_file}, line ${e.line}: the label "${label}" is not one of the intents (${[...examples.keys()].join(', ')}); add it to intents with its response`,
        );
      list.push(e.text);
    }
  }
  intents.forEach((it, i) => {
    const n = new Set(examples.get(it.name)).size;
    if (n < 2) throw fail(`intents[${i}].examples`, `must have at least 2 items (with intents_file), "${it.name}" has ${n}`);
  });
  let validation: AssistantConfig['validation'];
  if (c.validation_file !== undefined) {
    const held = { intents: [] as { text: string; label: string }[], outOfScope: [] as string[] };
    for (const e of await loadTextExamples(path(c.validation_file))) {
      const label = String(e.label);
      if (label === 'oos' || label === 'out_of_scope') held.outOfScope.push(e.text);
      else if (examples.has(label)) held.intents.push({ text: e.text, label });
      else
        throw fail(
          'validation_file',
          `${c.validation_file}, line ${e.line}: the label "${label}" is not one of the intents (${[...examples.keys()].join(', ')}), nor oos / out_of_scope`,
        );
    }
    if (held.intents.length === 0) throw fail('validation_file', `${c.validation_file} has no messages of the intents; calibration needs some`);
    validation = held;
  }
  const oos = [...(c.out_of_scope?.examples ?? [])];
  if (c.out_of_scope?.file !== undefined) oos.push(...(await readUtterances(path(c.out_of_scope.file))));
  const outOfScopeClass = c.out_of_scope?.class === true;
  if (outOfScopeClass) {
    const clash = intents.findIndex((it) => it.name === OUT_OF_SCOPE_CLASS);
    if (clash >= 0) throw fail(`intents[${clash}].name`, `"${OUT_OF_SCOPE_CLASS}" is the name of the out-of-scope class (out_of_scope.class: true); rename the intent`);
    if (new Set(oos).size < 2) throw fail('out_of_scope', 'class: true needs at least 2 distinct out-of-scope examples (examples or file)');
  }
  const model = c.model === undefined ? bundledModelDir('en') : path(c.model);
  const t = c.training ?? {};
  return {
    file,
    name: c.name ?? basename(file).replace(/\.[^.]*$/, ''),
    model,
    intents: intents.map((it) => ({
      name: it.name,
      examples: [...new Set(examples.get(it.name))],
      ...(it.response !== undefined ? { response: it.response } : {}),
      ...(it.action !== undefined ? { action: it.action } : {}),
      ...(it.requires?.length ? { requires: [...new Set(it.requires)] } : {}),
    })),
    outOfScope: oos,
    outOfScopeClass,
    outOfScopeSimilarity: c.out_of_scope?.similarity === true,
    ...(validation ? { validation } : {}),
    ...(c.slots ? { slots: { model: path(c.slots.model), fill: { ...c.slots.fill }, prompts: { ...(c.slots.prompts ?? {}) } } } : {}),
    faq: {
      entries: c.faq ? await readFaq(path(c.faq.file)) : [],
      model: c.faq?.model === undefined ? model : path(c.faq.model),
      retriever: c.faq?.retriever ?? 'hybrid',
    },
    thresholds: {
      confidence: c.thresholds?.confidence ?? 'auto',
      margin: c.thresholds?.margin ?? 'auto',
      faq: c.thresholds?.faq ?? 'auto',
      similarity: c.thresholds?.similarity ?? 'auto',
      quantile: c.thresholds?.quantile ?? 0.05,
      ...(c.thresholds?.max_accuracy_drop !== undefined ? { maxAccuracyDrop: c.thresholds.max_accuracy_drop } : {}),
    },
    handoff: { ...(c.handoff?.webhook ? { webhook: c.handoff.webhook } : {}), retries: c.handoff?.retries ?? 3, timeoutMs: c.handoff?.timeout_ms ?? 5000 },
    database: /^postgres(?:ql)?:\/\//i.test(c.database ?? '') ? c.database : path(c.database ?? 'assistant.db'),
    messages: { ...DEFAULT_MESSAGES, ...(c.messages ?? {}) },
    training: {
      epochs: t.epochs ?? 8,
      batchSize: t.batch_size ?? 16,
      ...(t.learning_rate !== undefined ? { learningRate: t.learning_rate } : {}),
      validationSplit: t.validation_split ?? 0.2,
      maxLength: t.max_length ?? 64,
      seed: t.seed ?? 42,
      ...(t.threads !== undefined ? { threads: t.threads } : {}),
    },
  };
}
