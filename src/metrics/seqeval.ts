/**
 * Entity-level scores for tagged sequences, as seqeval computes them: an entity counts as correct
 * only when its type and its exact span match. Two ways to read entities off tags: the default,
 * lenient CoNLL-evaluation rules (an I- after O starts an entity, a type change ends one), and a
 * strict mode where only well-formed BIO or BIOES chunks are entities.
 */
import { type ClassificationReport, MetricsError, type ReportOptions, type Scores, averages, formatClassificationReport, scoresFromCounts } from './classification.js';

/** One entity: its type and token span [start, end). */
export interface Entity {
  readonly type: string;
  readonly start: number;
  readonly end: number;
}

/** Tag schemes of strict mode. */
export type TagScheme = 'BIO' | 'IOB2' | 'BIOES' | 'IOBES';

/** Splits `B-PER` into prefix `B` and type `PER` (a bare `B` has type `_`; `O` has no type). */
function parseTag(tag: string): { prefix: string; type: string } {
  if (tag === 'O' || tag === '') return { prefix: 'O', type: '' };
  const dash = tag.indexOf('-');
  if (dash < 0) return { prefix: tag[0]!, type: tag.length > 1 ? tag.slice(1) : '_' };
  return { prefix: tag.slice(0, dash), type: tag.slice(dash + 1) || '_' };
}

function endsChunk(prev: string, tag: string, prevType: string, type: string): boolean {
  if (prev === 'E' || prev === 'S') return true;
  if ((prev === 'B' || prev === 'I') && (tag === 'B' || tag === 'S' || tag === 'O')) return true;
  return prev !== 'O' && prev !== '.' && prevType !== type;
}

function startsChunk(prev: string, tag: string, prevType: string, type: string): boolean {
  if (tag === 'B' || tag === 'S') return true;
  if ((prev === 'E' || prev === 'S' || prev === 'O') && (tag === 'E' || tag === 'I')) return true;
  return tag !== 'O' && tag !== '.' && prevType !== type;
}

/** Entities of one tag sequence by the lenient CoNLL rules (seqeval's default mode). */
export function extractEntities(tags: readonly string[]): Entity[] {
  const out: Entity[] = [];
  let prev = 'O';
  let prevType = '';
  let begin = 0;
  for (let i = 0; i <= tags.length; i++) {
    const { prefix, type } = parseTag(i < tags.length ? tags[i]! : 'O');
    if (endsChunk(prev, prefix, prevType, type)) out.push({ type: prevType, start: begin, end: i });
    if (startsChunk(prev, prefix, prevType, type)) begin = i;
    prev = prefix;
    prevType = type;
  }
  return out;
}

/** Entities of one tag sequence that are well-formed chunks of `scheme` (seqeval's strict mode). */
export function extractStrictEntities(tags: readonly string[], scheme: TagScheme): Entity[] {
  const bioes = scheme === 'BIOES' || scheme === 'IOBES';
  const out: Entity[] = [];
  let open: { type: string; start: number } | undefined;
  tags.forEach((tag, i) => {
    const { prefix, type } = parseTag(tag);
    if (open && !(type === open.type && (prefix === 'I' || (bioes && prefix === 'E')))) open = undefined;
    if (prefix === 'B') open = { type, start: i };
    else if (bioes && prefix === 'S') out.push({ type, start: i, end: i + 1 });
    else if (open && prefix === 'E') {
      out.push({ type, start: open.start, end: i + 1 });
      open = undefined;
    } else if (open && prefix === 'I' && !bioes && (i + 1 === tags.length || !continues(tags[i + 1]!, type))) {
      out.push({ type, start: open.start, end: i + 1 });
      open = undefined;
    }
    if (!bioes && prefix === 'B' && (i + 1 === tags.length || !continues(tags[i + 1]!, type))) {
      out.push({ type, start: i, end: i + 1 });
      open = undefined;
    }
  });
  return out;
}

function continues(next: string, type: string): boolean {
  const p = parseTag(next);
  return p.prefix === 'I' && p.type === type;
}

/** Options of {@link entityReport}. */
export interface EntityReportOptions extends Omit<ReportOptions, 'labels'> {
  /** `default`: lenient CoNLL rules; `strict`: only well-formed chunks of `scheme` count. */
  readonly mode?: 'default' | 'strict';
  readonly scheme?: TagScheme;
}

function entitiesOf(sentences: readonly (readonly string[])[], opts: EntityReportOptions): Set<string>[] {
  return sentences.map((tags) => {
    const ents = opts.mode === 'strict' ? extractStrictEntities(tags, opts.scheme ?? 'BIO') : extractEntities(tags);
    return new Set(ents.map((e) => `${e.type}\u0000${e.start}\u0000${e.end}`));
  });
}

/** seqeval's `classification_report`: per entity type, then micro, macro and weighted averages. */
export function entityReport(yTrue: readonly (readonly string[])[], yPred: readonly (readonly string[])[], opts: EntityReportOptions = {}): ClassificationReport {
  if (yTrue.length !== yPred.length) throw new MetricsError(`${yTrue.length} true sentences but ${yPred.length} predicted`);
  yTrue.forEach((t, i) => {
    if (t.length !== yPred[i]!.length) throw new MetricsError(`sentence ${i}: ${t.length} true tags but ${yPred[i]!.length} predicted`);
  });
  const zd = opts.zeroDivision ?? 'warn';
  const trueSets = entitiesOf(yTrue, opts);
  const predSets = entitiesOf(yPred, opts);
  const typeOf = (key: string) => key.slice(0, key.indexOf('\u0000'));
  const types = new Set<string>();
  for (const s of [...trueSets, ...predSets]) for (const k of s) types.add(typeOf(k));
  const counts = new Map<string, { tp: number; predicted: number; actual: number }>();
  for (const t of types) counts.set(t, { tp: 0, predicted: 0, actual: 0 });
  trueSets.forEach((ts, i) => {
    const ps = predSets[i]!;
    for (const k of ts) {
      const c = counts.get(typeOf(k))!;
      c.actual++;
      if (ps.has(k)) c.tp++;
    }
    for (const k of ps) counts.get(typeOf(k))!.predicted++;
  });
  const labelOrder = [...types].sort();
  const warnings: string[] = [];
  const rows: Record<string, Scores> = {};
  let tp = 0;
  let predicted = 0;
  let actual = 0;
  for (const t of labelOrder) {
    const c = counts.get(t)!;
    tp += c.tp;
    predicted += c.predicted;
    actual += c.actual;
    rows[t] = scoresFromCounts(c.tp, c.predicted, c.actual, zd, (what) => warnings.push(`${what} of entity type ${t} is ill-defined and set to ${zd === 'warn' ? 0 : zd}`));
  }
  const { macro, weighted } = averages(Object.values(rows), zd);
  const micro = scoresFromCounts(tp, predicted, actual, zd, () => {});
  return { labels: rows, labelOrder, 'micro avg': micro, 'macro avg': macro, 'weighted avg': weighted, support: actual, warnings };
}

/** The entity report in seqeval's text layout (the same columns as scikit-learn's). */
export function formatEntityReport(report: ClassificationReport, digits = 2): string {
  return formatClassificationReport(report, digits);
}

/** Micro-averaged entity precision, recall and F1. */
export function entityScores(yTrue: readonly (readonly string[])[], yPred: readonly (readonly string[])[], opts: EntityReportOptions = {}): Scores {
  return entityReport(yTrue, yPred, opts)['micro avg']!;
}

/** Share of tags predicted exactly (seqeval's `accuracy_score`). */
export function tokenAccuracy(yTrue: readonly (readonly string[])[], yPred: readonly (readonly string[])[]): number {
  let correct = 0;
  let total = 0;
  yTrue.forEach((t, i) => {
    const p = yPred[i]!;
    if (t.length !== p.length) throw new MetricsError(`sentence ${i}: ${t.length} true tags but ${p.length} predicted`);
    t.forEach((tag, j) => {
      total++;
      if (tag === p[j]) correct++;
    });
  });
  return total ? correct / total : 0;
}
