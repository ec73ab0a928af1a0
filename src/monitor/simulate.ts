/**
 * A simulated document stream with known change points, for measuring detectors: Poisson arrivals
 * per hour with an optional daily cycle, a label mixture per time, texts drawn from a labelled pool,
 * and shifts of volume or label share on the whole stream, one source or one entity.
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { loadTextExamples, seededRandom } from '../index.js';
import { MonitorError } from './errors.js';
import { ALL, type IncomingDocument, type SeriesKey } from './types.js';

const HOUR = 3_600_000;

/** A labelled text of the pool a simulation draws from. */
export interface LabelledText {
  readonly text: string;
  readonly label: string;
}

/** A change of the stream during `[at, at + durationMs)`. */
export interface StreamShift {
  /** Start, milliseconds since the epoch. */
  readonly at: number;
  readonly durationMs: number;
  /** The arrival rate is multiplied by this (default 1: unchanged). */
  readonly volumeFactor?: number;
  /** The label mixture during the shift (normalised; labels left out get no documents). */
  readonly labelShare?: Readonly<Record<string, number>>;
  /** Only documents of this source change (one of `sources`). */
  readonly source?: string;
  /** Only documents that mention this entity change (one of `entities`). */
  readonly entity?: string;
}

/** Options of {@link simulateStream}. */
export interface SimulateOptions {
  /** The pool: every label of the mixtures must have texts here. */
  readonly texts: readonly LabelledText[];
  /** The first instant, milliseconds since the epoch. */
  readonly start: number;
  readonly days: number;
  /** Mean documents per hour (over a day, when `diurnal` is set). */
  readonly ratePerHour: number;
  /** Daily cycle amplitude in [0, 1]: the rate is `ratePerHour × (1 + diurnal × sin)`, highest at 12:00 UTC (default 0). */
  readonly diurnal?: number;
  /** The label mixture outside shifts (normalised; default: the pool's label proportions). */
  readonly baseShare?: Readonly<Record<string, number>>;
  readonly shifts?: readonly StreamShift[];
  /** Sources, each taking an equal part of the stream (default: none, documents have no source). */
  readonly sources?: readonly string[];
  /** Entities mentioned by the documents, equally often (default: none). */
  readonly entities?: readonly string[];
  /** The part of documents that mention an entity, when `entities` are given (default 1). */
  readonly entityRate?: number;
  /** The seed of the generator: the same options give the same stream (default 1). */
  readonly seed?: number;
}

/** A change the simulation put in, as a detector should see it. */
export interface ChangePoint {
  /** Start and end (exclusive) of the shift, milliseconds since the epoch. */
  readonly at: number;
  readonly end: number;
  readonly kind: 'volume' | 'share';
  /** For a share change: the label whose share moves. */
  readonly label?: string;
  /** The series that shows it: the shift's entity, else its source, else all documents. */
  readonly series: SeriesKey;
  readonly direction: 'up' | 'down';
  /** The rate factor (volume) or the label share before and during the shift. */
  readonly before: number;
  readonly after: number;
}

/** What {@link simulateStream} returns. */
export interface SimulatedStream {
  /**
   * Sorted by timestamp, ids unique (`sim-<seed>-<n>`); `meta.trueLabel` is the label the text was
   * drawn for, `meta.entity` the entity mentioned (its name is put in front of the text).
   */
  readonly documents: IncomingDocument[];
  /** One per shift and changed quantity: a volume change, and a share change per label whose share moves. */
  readonly changePoints: ChangePoint[];
}

/** A seeded uniform generator in [0, 1) (mulberry32; the library's `seededRandom`). */
export const seededUniform: (seed: number) => () => number = seededRandom;

/** A Poisson draw of mean `mean` (exact: a sum of Knuth draws of mean at most 30). */
function poisson(mean: number, u: () => number): number {
  let n = 0;
  let left = mean;
  while (left > 0) {
    const m = Math.min(left, 30);
    left -= m;
    const limit = Math.exp(-m);
    let p = u();
    while (p > limit) {
      n++;
      p *= u();
    }
  }
  return n;
}

/** One part of the stream: a source (or none) and an entity (or none), with its share of the rate. */
interface Cell {
  readonly source: string | undefined;
  readonly entity: string | undefined;
  readonly part: number;
}

/** An entity name as the aggregates key it (words, whitespace collapsed, lower case). */
function entityKey(name: string): string {
  return name.trim().replace(/\s+/g, ' ').toLowerCase();
}

/**
 * Simulates a document stream with known changes. Each hour, each part of the stream (source ×
 * entity) gets a Poisson number of documents, spread uniformly over the hour (split where shifts
 * start or end); each document's label is drawn from the mixture in force (the latest-starting
 * active shift's `labelShare`, else `baseShare`) and its text from that label's pool.
 *
 * @throws MonitorError (`invalid_config`) naming the option that cannot be used.
 */
export function simulateStream(options: SimulateOptions): SimulatedStream {
  const o = options;
  const pools = poolsOf(o.texts);
  const start = finite(o.start, 'start');
  const days = positive(o.days, 'days');
  const rate = positive(o.ratePerHour, 'ratePerHour', true);
  const diurnal = o.diurnal ?? 0;
  if (!(diurnal >= 0 && diurnal <= 1)) throw invalid('diurnal', `diurnal is ${String(diurnal)}: give an amplitude from 0 to 1`);
  const seed = o.seed ?? 1;
  if (!Number.isInteger(seed)) throw invalid('seed', `seed is ${String(seed)}: give a whole number`);
  const base = o.baseShare === undefined ? poolShares(pools) : mixture(o.baseShare, pools, 'baseShare');
  const sources = names(o.sources, 'sources');
  const entities = names(o.entities, 'entities');
  const entityRate = o.entityRate ?? 1;
  if (!(entityRate >= 0 && entityRate <= 1)) throw invalid('entityRate', `entityRate is ${String(entityRate)}: give a part from 0 to 1`);
  const shifts = (o.shifts ?? []).map((s, i) => checkShift(s, i, pools, sources, entities));
  const cells = cellsOf(sources, entities, entityRate);

  const u = seededUniform(seed);
  const end = start + days * 24 * HOUR;
  const drawn: { t: number; text: string; label: string; source?: string; entity?: string }[] = [];
  for (let h = start; h < end; h += HOUR) {
    const hourEnd = Math.min(h + HOUR, end);
    const mid = (h + hourEnd) / 2;
    const hourOfDay = (((mid % (24 * HOUR)) + 24 * HOUR) % (24 * HOUR)) / HOUR;
    const hourRate = rate * (1 + diurnal * Math.sin((2 * Math.PI * (hourOfDay - 6)) / 24));
    const cuts = [h, hourEnd];
    for (const s of shifts) for (const c of [s.at, s.at + s.durationMs]) if (c > h && c < hourEnd) cuts.push(c);
    cuts.sort((a, b) => a - b);
    for (let k = 0; k + 1 < cuts.length; k++) {
      const a = cuts[k] as number;
      const b = cuts[k + 1] as number;
      if (b <= a) continue;
      for (const cell of cells) {
        const active = shifts.filter((s) => s.at <= a && a < s.at + s.durationMs && applies(s, cell));
        const factor = active.reduce((f, s) => f * (s.volumeFactor ?? 1), 1);
        const shareShift = active
          .filter((s) => s.labelShare !== undefined)
          .sort((x, y) => x.at - y.at)
          .pop();
        const mix = shareShift?.share ?? base;
        const n = poisson((hourRate * cell.part * factor * (b - a)) / HOUR, u);
        for (let i = 0; i < n; i++) {
          const t = Math.floor(a + u() * (b - a));
          const label = pick(mix, u());
          const pool = pools.get(label) as readonly string[];
          const text = pool[Math.floor(u() * pool.length)] as string;
          drawn.push({ t, text, label, ...(cell.source !== undefined ? { source: cell.source } : {}), ...(cell.entity !== undefined ? { entity: cell.entity } : {}) });
        }
      }
    }
  }
  drawn.sort((x, y) => x.t - y.t);
  const width = String(drawn.length).length;
  const documents: IncomingDocument[] = drawn.map((d, i) => ({
    id: `sim-${seed}-${String(i).padStart(width, '0')}`,
    text: d.entity === undefined ? d.text : `${d.entity}: ${d.text}`,
    timestamp: d.t,
    ...(d.source !== undefined ? { source: d.source } : {}),
    meta: { trueLabel: d.label, ...(d.entity !== undefined ? { entity: d.entity } : {}) },
  }));
  const changePoints = shifts.flatMap((s) => changePointsOf(s, base));
  changePoints.sort((x, y) => x.at - y.at);
  return { documents, changePoints };
}

type CheckedShift = StreamShift & { share?: Map<string, number> };

function applies(s: CheckedShift, cell: Cell): boolean {
  return (s.source === undefined || s.source === cell.source) && (s.entity === undefined || s.entity === cell.entity);
}

function changePointsOf(s: CheckedShift, base: Map<string, number>): ChangePoint[] {
  const series: SeriesKey =
    s.entity !== undefined
      ? { dimension: 'entity', value: entityKey(s.entity) }
      : s.source !== undefined
        ? { dimension: 'source', value: s.source }
        : { dimension: 'all', value: ALL };
  const span = { at: s.at, end: s.at + s.durationMs };
  const out: ChangePoint[] = [];
  const factor = s.volumeFactor ?? 1;
  if (factor !== 1) out.push({ ...span, kind: 'volume', series, direction: factor > 1 ? 'up' : 'down', before: 1, after: factor });
  if (s.share !== undefined) {
    const labels = new Set([...base.keys(), ...s.share.keys()]);
    for (const label of labels) {
      const before = base.get(label) ?? 0;
      const after = s.share.get(label) ?? 0;
      if (Math.abs(after - before) < 1e-9) continue;
      out.push({ ...span, kind: 'share', label, series, direction: after > before ? 'up' : 'down', before, after });
    }
  }
  return out;
}

function cellsOf(sources: readonly string[], entities: readonly string[], entityRate: number): Cell[] {
  const srcs: (string | undefined)[] = sources.length > 0 ? [...sources] : [undefined];
  const ents: { entity: string | undefined; part: number }[] =
    entities.length === 0 ? [{ entity: undefined, part: 1 }] : entities.map((e) => ({ entity: e, part: entityRate / entities.length }));
  if (entities.length > 0 && entityRate < 1) ents.push({ entity: undefined, part: 1 - entityRate });
  return srcs.flatMap((source) => ents.map((e) => ({ source, entity: e.entity, part: e.part / srcs.length })));
}

function pick(mix: Map<string, number>, r: number): string {
  let acc = 0;
  let last = '';
  for (const [label, p] of mix) {
    acc += p;
    last = label;
    if (r < acc) return label;
  }
  return last;
}

function poolsOf(texts: readonly LabelledText[]): Map<string, string[]> {
  if (!Array.isArray(texts) || texts.length === 0) throw invalid('texts', 'texts is empty: give labelled texts ({ text, label }) to draw documents from');
  const pools = new Map<string, string[]>();
  texts.forEach((t, i) => {
    if (typeof t?.text !== 'string' || typeof t.label !== 'string') throw invalid(`texts[${i}]`, `texts[${i}] must have a string text and label`);
    const pool = pools.get(t.label) ?? [];
    pool.push(t.text);
    pools.set(t.label, pool);
  });
  return pools;
}

function poolShares(pools: Map<string, string[]>): Map<string, number> {
  const total = [...pools.values()].reduce((n, p) => n + p.length, 0);
  return new Map([...pools].map(([label, p]) => [label, p.length / total]));
}

function mixture(share: Readonly<Record<string, number>>, pools: Map<string, string[]>, field: string): Map<string, number> {
  if (share === null || typeof share !== 'object') throw invalid(field, `${field} must map labels to shares`);
  let total = 0;
  for (const [label, p] of Object.entries(share)) {
    if (typeof p !== 'number' || !Number.isFinite(p) || p < 0) throw invalid(`${field}.${label}`, `${field}.${label} is ${String(p)}: a share is a number, 0 or more`);
    if (p > 0 && !pools.has(label)) {
      throw invalid(`${field}.${label}`, `${field} names the label "${label}", which has no texts; the labels of the texts are ${[...pools.keys()].join(', ')}`);
    }
    total += p;
  }
  if (total <= 0) throw invalid(field, `${field} gives no label a share above 0`);
  return new Map(
    Object.entries(share)
      .filter(([, p]) => p > 0)
      .map(([label, p]) => [label, p / total]),
  );
}

function checkShift(s: StreamShift, i: number, pools: Map<string, string[]>, sources: readonly string[], entities: readonly string[]): CheckedShift {
  const f = `shifts[${i}]`;
  finite(s.at, `${f}.at`);
  positive(s.durationMs, `${f}.durationMs`);
  if (s.volumeFactor !== undefined && !(Number.isFinite(s.volumeFactor) && s.volumeFactor >= 0)) {
    throw invalid(`${f}.volumeFactor`, `${f}.volumeFactor is ${String(s.volumeFactor)}: give a rate factor, 0 or more`);
  }
  if (s.source !== undefined && !sources.includes(s.source)) {
    throw invalid(`${f}.source`, `${f}.source "${s.source}" is not one of the sources (${sources.join(', ') || 'none given'}); add it to sources`);
  }
  if (s.entity !== undefined && !entities.includes(s.entity)) {
    throw invalid(`${f}.entity`, `${f}.entity "${s.entity}" is not one of the entities (${entities.join(', ') || 'none given'}); add it to entities`);
  }
  return s.labelShare === undefined ? s : { ...s, share: mixture(s.labelShare, pools, `${f}.labelShare`) };
}

function names(list: readonly string[] | undefined, field: string): string[] {
  if (list === undefined) return [];
  if (!Array.isArray(list) || list.some((x) => typeof x !== 'string' || x.trim() === '')) throw invalid(field, `${field} must be a list of non-empty names`);
  const unique = [...new Set(list)];
  if (unique.length !== list.length) throw invalid(field, `${field} names a value twice`);
  return unique;
}

function finite(v: number, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(field, `${field} is ${String(v)}: give milliseconds since the epoch`);
  return v;
}

function positive(v: number, field: string, allowZero = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw invalid(field, `${field} is ${String(v)}: give a number above 0${allowZero ? ' (or 0)' : ''}`);
  }
  return v;
}

function invalid(field: string, message: string): MonitorError {
  return new MonitorError('invalid_config', message, { field });
}

/** Options of {@link loadLabelledTexts}. */
export interface LoadLabelledTextsOptions {
  /** The text column or field (default `text`, or `sentence` when the file has no `text`). */
  readonly textColumn?: string;
  /** The label column or field (default `label`). */
  readonly labelColumn?: string;
  /** Names of integer labels by id (`['negative', 'positive']` turns SST-2's `0`/`1` into names). */
  readonly labelNames?: readonly string[];
  /** Keep the first this many texts. */
  readonly limit?: number;
}

/**
 * Reads labelled texts from a CSV/TSV file with a header row or a JSON Lines file (the formats of
 * tuna's data readers), for {@link simulateStream}.
 *
 * @throws DataError naming the file and line of a problem; MonitorError (`file_not_found`).
 */
export async function loadLabelledTexts(file: string, options: LoadLabelledTextsOptions = {}): Promise<LabelledText[]> {
  if (!existsSync(file)) throw new MonitorError('file_not_found', `${file} does not exist; give a CSV, TSV or JSONL file of labelled texts`, { file });
  const text = options.textColumn ?? (hasField(file, 'text') || !hasField(file, 'sentence') ? 'text' : 'sentence');
  const examples = await loadTextExamples(file, {
    columns: { text, label: options.labelColumn ?? 'label' },
    ...(options.labelNames !== undefined ? { labelNames: options.labelNames } : {}),
  });
  const out = examples.map((e) => ({ text: e.text.trim(), label: String(e.label) }));
  return options.limit === undefined ? out : out.slice(0, options.limit);
}

/** Whether the header (CSV/TSV) or the first object (JSONL) of `file` has the field `name`. */
function hasField(file: string, name: string): boolean {
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(65536);
  let n: number;
  try {
    n = readSync(fd, buf, 0, buf.length, 0);
  } finally {
    closeSync(fd);
  }
  const head = buf.subarray(0, n).toString('utf8');
  const first = (head.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '').trim();
  if (first.startsWith('{')) {
    try {
      return Object.hasOwn(JSON.parse(first) as object, name);
    } catch {
      return false;
    }
  }
  return first
    .split(/[\t,]/)
    .map((c) => c.trim().replace(/^"|"$/g, ''))
    .includes(name);
}
