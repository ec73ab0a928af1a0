/**
 * Entity-level scores for tagged sequences, as seqeval computes them: an entity counts as correct
 * only when its type and its exact span match. Two ways to read entities off tags: the default,
 * lenient CoNLL-evaluation rules (an I- after O starts an entity, a type change ends one), and
 * seqeval's strict mode, where only chunks well formed in a tagging scheme (IOB2, IOE2, IOBES,
 * BILOU) are entities.
 */
import { type ClassificationReport, MetricsError, type ReportOptions, type Scores, averages, formatClassificationReport, labelRecord, scoresFromCounts } from './classification.js';

/** One entity: its type and token span [start, end). */
export interface Entity {
  readonly type: string;
  readonly start: number;
  readonly end: number;
}

/** Tag schemes of strict mode; `BIO` is another name of IOB2 and `BIOES` of IOBES. */
export type TagScheme = 'BIO' | 'IOB2' | 'IOE2' | 'BIOES' | 'IOBES' | 'BILOU';

/** The schemes strict mode reads, by their seqeval names. */
export const TAG_SCHEMES: readonly TagScheme[] = ['IOB2', 'IOE2', 'IOBES', 'BILOU', 'BIO', 'BIOES'];

/** How entities are read off tags: lenient CoNLL rules (seqeval's default) or well-formed chunks of a scheme. */
export type EntityMode = 'default' | 'strict';

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

// seqeval's strict mode (seqeval/scheme.py), pattern for pattern: each scheme lists its allowed
// prefixes and, as (previous prefix, current prefix, same/different type) triples, where a chunk
// starts, continues and ends.
type Pattern = readonly [prev: string, cur: string, tag: 'same' | 'diff' | 'any'];
interface SchemeRules {
  readonly allowed: string;
  readonly start: readonly Pattern[];
  readonly inside: readonly Pattern[];
  readonly end: readonly Pattern[];
}
const ANY = 'IOBESUL';
const RULES: Readonly<Record<'IOB2' | 'IOE2' | 'IOBES' | 'BILOU', SchemeRules>> = {
  IOB2: {
    allowed: 'IOB',
    start: [[ANY, 'B', 'any']],
    inside: [
      ['B', 'I', 'same'],
      ['I', 'I', 'same'],
    ],
    end: [
      ['I', 'O', 'any'],
      ['I', 'I', 'diff'],
      ['I', 'B', 'any'],
      ['B', 'O', 'any'],
      ['B', 'I', 'diff'],
      ['B', 'B', 'any'],
    ],
  },
  IOE2: {
    allowed: 'IOE',
    start: [
      ['O', 'I', 'any'],
      ['O', 'E', 'any'],
      ['E', 'I', 'any'],
      ['E', 'E', 'any'],
      ['I', 'I', 'diff'],
      ['I', 'E', 'diff'],
    ],
    inside: [
      ['I', 'E', 'same'],
      ['I', 'I', 'same'],
    ],
    end: [['E', ANY, 'any']],
  },
  IOBES: {
    allowed: 'IOBES',
    start: [
      [ANY, 'B', 'any'],
      [ANY, 'S', 'any'],
    ],
    inside: [
      ['B', 'I', 'same'],
      ['B', 'E', 'same'],
      ['I', 'I', 'same'],
      ['I', 'E', 'same'],
    ],
    end: [
      ['S', ANY, 'any'],
      ['E', ANY, 'any'],
    ],
  },
  BILOU: {
    allowed: 'BILOU',
    start: [
      [ANY, 'B', 'any'],
      [ANY, 'U', 'any'],
    ],
    inside: [
      ['B', 'I', 'same'],
      ['B', 'L', 'same'],
      ['I', 'I', 'same'],
      ['I', 'L', 'same'],
    ],
    end: [
      ['U', ANY, 'any'],
      ['L', ANY, 'any'],
    ],
  },
};

/** The seqeval name of a scheme (`BIO` is IOB2, `BIOES` is IOBES). */
export function canonicalScheme(scheme: TagScheme): 'IOB2' | 'IOE2' | 'IOBES' | 'BILOU' {
  return scheme === 'BIO' ? 'IOB2' : scheme === 'BIOES' ? 'IOBES' : scheme;
}

interface StrictToken {
  readonly prefix: string;
  readonly type: string;
}

function strictToken(tag: string): StrictToken {
  return { prefix: tag.charAt(0), type: tag.slice(1).replace(/^-+|-+$/g, '') || '_' };
}

function matches(prev: StrictToken, cur: StrictToken, patterns: readonly Pattern[]): boolean {
  return patterns.some(([p, c, t]) => p.includes(prev.prefix) && c.includes(cur.prefix) && (t === 'any' || (t === 'same') === (prev.type === cur.type)));
}

/**
 * Checks that every tag has a prefix of `scheme` (seqeval raises on others, e.g. an `S-` tag read
 * as IOB2), so a wrong scheme is found before any scoring.
 *
 * @throws MetricsError naming the first tag that does not fit and the prefixes the scheme allows.
 */
export function checkScheme(tags: Iterable<string>, scheme: TagScheme): void {
  const rules = RULES[canonicalScheme(scheme)];
  for (const tag of tags) {
    const prefix = tag.charAt(0);
    if (!rules.allowed.includes(prefix)) {
      throw new MetricsError(
        `tag "${tag}" does not belong to the ${canonicalScheme(scheme)} scheme (prefixes ${[...rules.allowed].join(', ')}); choose the scheme the tags are written in`,
      );
    }
  }
}

/**
 * Entities of one tag sequence that are well-formed chunks of `scheme`, as seqeval's strict mode
 * reads them (`mode="strict"`): in IOB2 a chunk opens with B-, in IOE2 it closes with E-, in IOBES
 * and BILOU it opens with B-/S- (B-/U-) and closes with E-/S- (L-/U-); anything else is no entity.
 *
 * @throws MetricsError for a tag whose prefix the scheme does not have.
 */
export function extractStrictEntities(tags: readonly string[], scheme: TagScheme): Entity[] {
  const rules = RULES[canonicalScheme(scheme)];
  checkScheme(tags, scheme);
  const outside: StrictToken = { prefix: 'O', type: '_' };
  const tokens = [...tags.map(strictToken), outside];
  const out: Entity[] = [];
  let prev = outside;
  let i = 0;
  while (i < tokens.length) {
    const token = tokens[i]!;
    if (matches(prev, token, rules.start)) {
      let end = i + 1;
      let last = token;
      while (end < tokens.length && matches(last, tokens[end]!, rules.inside)) last = tokens[end++]!;
      if (end < tokens.length && matches(tokens[end - 1]!, tokens[end]!, rules.end)) out.push({ type: token.type, start: i, end });
      i = end;
    } else {
      i++;
    }
    prev = tokens[i - 1]!;
  }
  return out;
}

/**
 * The scheme tags are written in: BILOU with U- or L- tags, IOBES with S- or E- tags beside B-,
 * IOE2 with E- but no B-, IOB2 otherwise.
 */
export function detectScheme(tags: Iterable<string>): 'IOB2' | 'IOE2' | 'IOBES' | 'BILOU' {
  const prefixes = new Set<string>();
  for (const t of tags) if (t !== 'O') prefixes.add(t.charAt(0));
  if (prefixes.has('U') || prefixes.has('L')) return 'BILOU';
  if (prefixes.has('S') || (prefixes.has('E') && prefixes.has('B'))) return 'IOBES';
  if (prefixes.has('E')) return 'IOE2';
  return 'IOB2';
}

/** Options of {@link entityReport}. */
export interface EntityReportOptions extends Omit<ReportOptions, 'labels'> {
  /** `default`: lenient CoNLL rules; `strict`: only well-formed chunks of `scheme` count. */
  readonly mode?: EntityMode;
  /** The scheme of strict mode (default: detected from the gold tags, see {@link detectScheme}). */
  readonly scheme?: TagScheme;
}

function entitiesOf(sentences: readonly (readonly string[])[], opts: EntityReportOptions, scheme: TagScheme): Set<string>[] {
  return sentences.map((tags) => {
    const ents = opts.mode === 'strict' ? extractStrictEntities(tags, scheme) : extractEntities(tags);
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
  const scheme = opts.scheme ?? detectScheme(yTrue.flat());
  const trueSets = entitiesOf(yTrue, opts, scheme);
  const predSets = entitiesOf(yPred, opts, scheme);
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
  const rows = labelRecord<Scores>();
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
