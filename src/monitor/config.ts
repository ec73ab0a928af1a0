/**
 * The monitor's configuration file (YAML or JSON): the models, the input columns, the window
 * lengths, the watches (a metric on the series of some dimensions, with a change detector), the
 * alert targets, the database and the queue. Paths resolve against the file's directory.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigSchema, DURATION_PATTERN, TunaError, parseDetectorConfig, parseDuration } from '../index.js';
import type { DetectorConfig } from '../index.js';
import { MonitorError } from './errors.js';
import { DIMENSIONS, type Dimension, type Metric, SEVERITIES, type AlertSeverity } from './types.js';

/** Which input columns hold a document's fields. */
export interface InputFields {
  readonly id: string;
  readonly text: string;
  readonly timestamp: string;
  readonly source: string;
}

/** A metric watched on the series of some dimensions, by one detector. */
export interface WatchConfig {
  /** Unique name (in alert keys and stored states). */
  readonly name: string;
  readonly metric: Metric;
  /** Share metric: the label whose share is watched. */
  readonly label: string | null;
  /** The window length it runs on (one of the configured windows), milliseconds. */
  readonly windowMs: number;
  readonly dimensions: readonly Dimension[];
  /** Series with fewer documents than this in a window count as empty for a share (default 5, the detector's `minCount`). */
  readonly detector: DetectorConfig;
}

/** An alert target. */
export interface AlertTargetConfig {
  readonly url: string;
  readonly name?: string;
  readonly minSeverity: AlertSeverity;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A checked configuration with defaults filled in and paths resolved. */
export interface MonitorConfig {
  /** The configuration file (or `<object>`). */
  readonly file: string;
  readonly name: string;
  /** The text-classification checkpoint (directory or Hub id). */
  readonly model: string;
  /** Entity extraction with a token-classification checkpoint. */
  readonly entities: {
    readonly model: string | null;
    readonly types: readonly string[] | null;
    readonly minScore: number;
    /** Entity name → the words that mention it (matched whole, case-insensitively). */
    readonly keywords: Readonly<Record<string, readonly string[]>> | null;
  } | null;
  /** Label → polarity in [-1, 1] for the sentiment score; empty when the labels have none. */
  readonly polarity: Readonly<Record<string, number>> | null;
  readonly input: InputFields;
  /** Window lengths kept in the aggregates, milliseconds, shortest first. */
  readonly windowsMs: readonly number[];
  /** How long after a window's end it is closed and scored (wall clock), milliseconds. */
  readonly latenessMs: number;
  readonly watches: readonly WatchConfig[];
  readonly alerts: {
    readonly targets: readonly AlertTargetConfig[];
    readonly cooldownMs: number;
    readonly retries: number;
    readonly timeoutMs: number;
    /** Example documents an alert carries. */
    readonly examples: number;
  };
  /** An SQLite file path, or a `postgres://` URL. */
  readonly database: string;
  readonly redis: { readonly url: string; readonly stream: string; readonly group: string } | null;
  readonly batchSize: number;
  readonly threads?: number;
  /** How often `tuna monitor run` scores closed windows, milliseconds. */
  readonly detectEveryMs: number;
}

const duration = { type: 'string', pattern: DURATION_PATTERN };
const name = { type: 'string', pattern: '^[A-Za-z0-9_.:-]+$' };
const url = { type: 'string', pattern: '^https?://' };

/** The JSON Schema of the configuration file. */
export const MONITOR_CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['model'],
  properties: {
    name,
    model: { type: 'string', minLength: 1 },
    entities: {
      type: 'object',
      additionalProperties: false,
      properties: {
        model: { type: 'string', minLength: 1 },
        types: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
        min_score: { type: 'number', minimum: 0, maximum: 1 },
        keywords: { type: 'object', minProperties: 1, additionalProperties: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 } },
      },
    },
    polarity: { type: 'object', additionalProperties: { type: 'number', minimum: -1, maximum: 1 } },
    input: {
      type: 'object',
      additionalProperties: false,
      properties: {
        id: { type: 'string', minLength: 1 },
        text: { type: 'string', minLength: 1 },
        timestamp: { type: 'string', minLength: 1 },
        source: { type: 'string', minLength: 1 },
      },
    },
    windows: { type: 'array', items: duration, minItems: 1 },
    lateness: duration,
    watches: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'metric', 'detector'],
        properties: {
          name,
          metric: { enum: ['volume', 'share'] },
          label: { type: 'string', minLength: 1 },
          window: duration,
          dimensions: { type: 'array', items: { enum: [...DIMENSIONS] }, minItems: 1 },
          detector: { enum: ['ewma', 'robust-z', 'page-hinkley', 'cusum', 'seasonal'] },
          settings: { type: 'object' },
        },
      },
    },
    alerts: {
      type: 'object',
      additionalProperties: false,
      properties: {
        targets: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['url'],
            properties: { url, name, min_severity: { enum: [...SEVERITIES] }, headers: { type: 'object', additionalProperties: { type: 'string' } } },
          },
        },
        cooldown: duration,
        retries: { type: 'integer', minimum: 0, maximum: 10 },
        timeout: duration,
        examples: { type: 'integer', minimum: 0, maximum: 50 },
      },
    },
    database: { type: 'string', minLength: 1 },
    redis: {
      type: 'object',
      additionalProperties: false,
      required: ['url'],
      properties: { url: { type: 'string', pattern: '^rediss?://' }, stream: { type: 'string', minLength: 1 }, group: { type: 'string', minLength: 1 } },
    },
    batch_size: { type: 'integer', minimum: 1, maximum: 1024 },
    threads: { type: 'integer', minimum: 1 },
    detect_every: duration,
  },
} as const;

const SCHEMA = new ConfigSchema(MONITOR_CONFIG_SCHEMA, {
  [DURATION_PATTERN]: 'must be a duration such as 30s, 15m, 1h or 1d',
  '^[A-Za-z0-9_.:-]+$': 'may hold only letters, digits and _ . : -',
  '^https?://': 'must be an http:// or https:// URL',
  '^rediss?://': 'must be a redis:// or rediss:// URL',
});

/** Polarities tuna assumes for common sentiment label names (lower case). */
const KNOWN_POLARITY: Readonly<Record<string, number>> = {
  positive: 1,
  pos: 1,
  negative: -1,
  neg: -1,
  neutral: 0,
};

/** The polarity map for a model's labels: the configured one, else the known names (null when no label has one). */
export function polarityFor(labels: readonly string[], configured: Readonly<Record<string, number>> | null): Readonly<Record<string, number>> | null {
  if (configured) return configured;
  const out: Record<string, number> = {};
  for (const l of labels) {
    const p = KNOWN_POLARITY[l.toLowerCase()];
    if (p !== undefined) out[l] = p;
  }
  return Object.values(out).some((v) => v !== 0) ? out : null;
}

// biome-ignore lint/suspicious/noExplicitAny: checked by the schema above
type Raw = any;

const DEFAULT_WATCH_DIMENSIONS: readonly Dimension[] = ['all', 'source', 'entity'];

/**
 * Checks a parsed configuration and fills in the defaults. `file` names it in errors and is the
 * directory relative paths resolve against.
 *
 * @throws MonitorError `invalid_config` naming the file and the field.
 */
export function parseMonitorConfig(raw: unknown, file: string): MonitorConfig {
  try {
    SCHEMA.check(raw, file);
  } catch (e) {
    throw toMonitorError(e);
  }
  const r = raw as Raw;
  const base = dirname(resolve(file));
  const path = (p: string) => (isAbsolute(p) || /^[a-z]+:\/\//i.test(p) || !/[/\\]|^\./.test(p) ? p : resolve(base, p));
  const at = (field: string, fn: () => number) => {
    try {
      return fn();
    } catch (e) {
      throw toMonitorError(e, file, field);
    }
  };
  const windowsMs = [...new Set(((r.windows ?? ['1h']) as string[]).map((w, i) => at(`windows[${i}]`, () => parseDuration(w, `windows[${i}]`))))].sort((a, b) => a - b);
  const watches: WatchConfig[] = [];
  const names = new Set<string>();
  ((r.watches ?? []) as Raw[]).forEach((w, i) => {
    const field = `watches[${i}]`;
    if (names.has(w.name))
      throw new MonitorError('invalid_config', `${file}: ${field}.name: "${w.name}" is used twice; give every watch its own name`, { file, field: `${field}.name` });
    names.add(w.name);
    const windowMs = w.window === undefined ? windowsMs[0]! : at(`${field}.window`, () => parseDuration(w.window, `${field}.window`));
    if (!windowsMs.includes(windowMs))
      throw new MonitorError(
        'invalid_config',
        `${file}: ${field}.window: ${w.window} is not one of the configured windows (${(r.windows ?? ['1h']).join(', ')}); add it to windows`,
        {
          file,
          field: `${field}.window`,
        },
      );
    if (w.metric === 'share' && w.label === undefined)
      throw new MonitorError('invalid_config', `${file}: ${field}.label is required for a share metric (the label whose share is watched, e.g. negative)`, {
        file,
        field: `${field}.label`,
      });
    if (w.metric === 'volume' && w.label !== undefined)
      throw new MonitorError('invalid_config', `${file}: ${field}.label is only for a share metric; watch the label dimension for the volume of one label`, {
        file,
        field: `${field}.label`,
      });
    let detector: DetectorConfig;
    try {
      detector = parseDetectorConfig({ ...(w.settings ?? {}), detector: w.detector, kind: w.metric }, `${field}.settings`);
    } catch (e) {
      throw toMonitorError(e, file);
    }
    watches.push({ name: w.name, metric: w.metric, label: w.label ?? null, windowMs, dimensions: w.dimensions ?? DEFAULT_WATCH_DIMENSIONS, detector });
  });
  if (r.entities && r.entities.model === undefined && r.entities.keywords === undefined)
    throw new MonitorError('invalid_config', `${file}: entities needs a model (a token-classification checkpoint) or keywords (entity name: [words]), or both`, {
      file,
      field: 'entities',
    });
  const a = r.alerts ?? {};
  return {
    file,
    name: r.name ?? 'monitor',
    model: path(r.model),
    entities: r.entities
      ? { model: r.entities.model ? path(r.entities.model) : null, types: r.entities.types ?? null, minScore: r.entities.min_score ?? 0.5, keywords: r.entities.keywords ?? null }
      : null,
    polarity: r.polarity ?? null,
    input: { id: 'id', text: 'text', timestamp: 'timestamp', source: 'source', ...(r.input ?? {}) },
    windowsMs,
    latenessMs: r.lateness === undefined ? 0 : at('lateness', () => parseDuration(r.lateness, 'lateness')),
    watches,
    alerts: {
      targets: ((a.targets ?? []) as Raw[]).map((t) => ({
        url: t.url,
        ...(t.name ? { name: t.name } : {}),
        minSeverity: t.min_severity ?? 'low',
        ...(t.headers ? { headers: t.headers } : {}),
      })),
      cooldownMs: a.cooldown === undefined ? 6 * 3_600_000 : at('alerts.cooldown', () => parseDuration(a.cooldown, 'alerts.cooldown')),
      retries: a.retries ?? 3,
      timeoutMs: a.timeout === undefined ? 5000 : at('alerts.timeout', () => parseDuration(a.timeout, 'alerts.timeout')),
      examples: a.examples ?? 3,
    },
    database: path(r.database ?? 'monitor.db'),
    redis: r.redis ? { url: r.redis.url, stream: r.redis.stream ?? 'tuna:documents', group: r.redis.group ?? 'tuna-monitor' } : null,
    batchSize: r.batch_size ?? 32,
    ...(r.threads === undefined ? {} : { threads: r.threads }),
    detectEveryMs: r.detect_every === undefined ? 60_000 : at('detect_every', () => parseDuration(r.detect_every, 'detect_every')),
  };
}

/** Reads and checks a configuration file (see {@link parseMonitorConfig}). */
export async function loadMonitorConfig(file: string): Promise<MonitorConfig> {
  let raw: unknown;
  try {
    raw = await SCHEMA.read(file);
  } catch (e) {
    throw toMonitorError(e);
  }
  return parseMonitorConfig(raw, file);
}

function toMonitorError(e: unknown, file?: string, field?: string): unknown {
  if (e instanceof MonitorError || !(e instanceof TunaError)) return e;
  const where = file && !e.message.includes(file) && !e.message.startsWith(file.split('/').pop()!) ? `${file}: ` : '';
  return new MonitorError(e.code, `${where}${e.message}`, {
    ...((e.file ?? file) ? { file: e.file ?? file } : {}),
    ...((e.field ?? field) ? { field: e.field ?? field } : {}),
    cause: e,
  });
}
