/**
 * The opinion monitor end to end on simulated streams with known change points: SST-2 sentences
 * (negative/positive) over `--days` days at `--rate` documents an hour with a daily cycle, 3
 * sources and 6 entities (named in front of each text, found by a token classifier that tags the
 * six names), and scheduled shifts: one entity's negative share 0.45 → 0.8 for 12 h, one source's
 * volume ×3 for 6 h, the whole stream's negative share 0.45 → 0.65 for 24 h, the whole stream's
 * volume ×0.3 for 6 h, another entity's negative share 0.45 → 0.8 for 12 h. Each seed's stream is
 * replayed through a `Monitor` (SQLite in a temporary directory) with the sentiment model given and
 * watches of every detector family on 1 h windows; alerts are scored with `scoreDetections`.
 *
 *   npm run bench:monitor-sim -- --model DIR [--seeds 3 --days 21 --rate 40 --max-delay 6 --threads 2]
 *
 * DIR is a negative/positive text classifier, e.g. one trained with
 * `tuna train --model models/tuna-small-en --task text-classification --train sst2 ...`.
 *
 * Per watch: the changes it should see (share watches: the negative-share changes; volume watches:
 * the volume changes) detected within `--max-delay` hours, the mean and median delay (from the
 * change start to the end of the first alerting window), and false alerts per simulated day (an
 * alert is false when its window overlaps no change of its series, extended by `--max-delay`
 * after the change ends; a whole-stream change counts for every source and entity too, a source's
 * or entity's change for the whole stream too). The classifier is not perfect, so the negative
 * share it predicts moves less than the true one: both are reported per share change.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  ALL,
  type AlertRecord,
  type ChangePoint,
  type LabelledText,
  Monitor,
  type SeriesKey,
  type StreamShift,
  type WatchConfig,
  loadLabelledTexts,
  parseMonitorConfig,
  scoreDetections,
  simulateStream,
} from '../src/monitor/index.js';
import { writeTokenLogitModel } from '../test/helpers/pipeline-models.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    seeds: { type: 'string', default: '3' },
    days: { type: 'string', default: '21' },
    rate: { type: 'string', default: '40' },
    'max-delay': { type: 'string', default: '6' },
    threads: { type: 'string', default: '2' },
    'batch-size': { type: 'string', default: '64' },
    data: { type: 'string', default: '/work/shared/datasets/sst2' },
    out: { type: 'string', default: 'bench/results/monitor-sim.json' },
  },
});
if (!args.model) {
  console.error('monitor-sim: --model DIR is required: a negative/positive text classifier (train one with `tuna train ... --train sst2`)');
  process.exit(2);
}
const MODEL = args.model;
const SEEDS = Number(args.seeds);
const DAYS = Number(args.days);
const RATE = Number(args.rate);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MAX_DELAY = Number(args['max-delay']) * HOUR;
const THREADS = Number(args.threads);
const T0 = Date.UTC(2024, 0, 1); // a Monday: the seasonal detector's week starts on it
const SOURCES = ['news', 'forum', 'social'];
const ENTITIES = ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'vandelay'];
const BASE = { negative: 0.45, positive: 0.55 };

/** The shifts, at hours from the start (all after the detectors' warm-up and the seasonal detector's first week). */
function shifts(): { name: string; shift: StreamShift }[] {
  const at = (day: number, hour: number) => T0 + day * DAY + hour * HOUR;
  const list = [
    { name: 'entity acme negative 0.45→0.8, 12 h', shift: { at: at(6, 9), durationMs: 12 * HOUR, entity: 'acme', labelShare: { negative: 0.8, positive: 0.2 } } },
    { name: 'source forum volume ×3, 6 h', shift: { at: at(9, 13), durationMs: 6 * HOUR, source: 'forum', volumeFactor: 3 } },
    { name: 'all negative 0.45→0.65, 24 h', shift: { at: at(12, 6), durationMs: 24 * HOUR, labelShare: { negative: 0.65, positive: 0.35 } } },
    { name: 'all volume ×0.3, 6 h', shift: { at: at(16, 10), durationMs: 6 * HOUR, volumeFactor: 0.3 } },
    { name: 'entity globex negative 0.45→0.8, 12 h', shift: { at: at(19, 15), durationMs: 12 * HOUR, entity: 'globex', labelShare: { negative: 0.8, positive: 0.2 } } },
  ];
  return list.filter((s) => s.shift.at + s.shift.durationMs + MAX_DELAY <= T0 + DAYS * DAY);
}

const COMMON = { cooldown: 6 };
const WATCHES = [
  { name: 'share-ewma', metric: 'share', label: 'negative', dimensions: ['all', 'source', 'entity'], detector: 'ewma', settings: COMMON },
  { name: 'share-robust-z', metric: 'share', label: 'negative', dimensions: ['all', 'source', 'entity'], detector: 'robust-z', settings: COMMON },
  { name: 'share-page-hinkley', metric: 'share', label: 'negative', dimensions: ['all', 'source', 'entity'], detector: 'page-hinkley', settings: COMMON },
  { name: 'share-cusum', metric: 'share', label: 'negative', dimensions: ['all', 'source', 'entity'], detector: 'cusum', settings: COMMON },
  { name: 'volume-ewma', metric: 'volume', dimensions: ['all', 'source'], detector: 'ewma', settings: COMMON },
  { name: 'volume-robust-z', metric: 'volume', dimensions: ['all', 'source'], detector: 'robust-z', settings: COMMON },
  { name: 'volume-page-hinkley', metric: 'volume', dimensions: ['all', 'source'], detector: 'page-hinkley', settings: COMMON },
  { name: 'volume-cusum', metric: 'volume', dimensions: ['all', 'source'], detector: 'cusum', settings: COMMON },
  { name: 'volume-seasonal', metric: 'volume', dimensions: ['all', 'source'], detector: 'seasonal', settings: { ...COMMON, minWeeks: 1 } },
] as const;

const key = (s: SeriesKey) => (s.dimension === 'all' ? 'all' : `${s.dimension} ${s.value}`);

/** The changes a watch should detect: negative-share changes for share watches, volume changes for volume watches. */
function targetsOf(watch: WatchConfig, changes: readonly ChangePoint[]): ChangePoint[] {
  return changes.filter((c) => c.kind === watch.metric && (watch.metric === 'volume' || c.label === watch.label) && watch.dimensions.includes(c.series.dimension));
}

/** Every series a change shows in: a whole-stream change in each source and entity too, a source's or entity's change in the whole stream. */
function impliedOf(changes: readonly ChangePoint[]): ChangePoint[] {
  return changes.flatMap((c) => {
    if (c.series.dimension === 'all') {
      return [
        c,
        ...SOURCES.map((value) => ({ ...c, series: { dimension: 'source', value } as SeriesKey })),
        ...ENTITIES.map((value) => ({ ...c, series: { dimension: 'entity', value } as SeriesKey })),
      ];
    }
    return [c, { ...c, series: { dimension: 'all', value: ALL } as SeriesKey }];
  });
}

async function loadPool(): Promise<LabelledText[]> {
  const names = ['negative', 'positive'];
  const texts = [
    ...(await loadLabelledTexts(join(args.data!, 'dev.tsv'), { labelNames: names })),
    ...(await loadLabelledTexts(join(args.data!, 'train_full.tsv'), { labelNames: names })),
  ];
  const mentions = new RegExp(`\\b(${ENTITIES.join('|')})\\b`, 'i');
  const seen = new Set<string>();
  return texts.filter((t) => {
    if (t.text.split(/\s+/).length < 4 || mentions.test(t.text) || seen.has(t.text)) return false;
    seen.add(t.text);
    return true;
  });
}

/** A token classifier that tags the entity names as ORG (every other word is unknown to it and tagged O). */
async function writeEntityModel(dir: string): Promise<string> {
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ':', ...ENTITIES];
  return writeTokenLogitModel(dir, vocab, ['O', 'B-ORG', 'I-ORG'], Object.fromEntries(ENTITIES.map((e) => [e, [0, 6, 0]])), { maxPositions: 512, modelMaxLength: 512 });
}

interface ShareCheck {
  change: string;
  series: string;
  trueBefore: number;
  trueAfter: number;
  predictedBefore: number;
  predictedAfter: number;
}

interface SeedRun {
  seed: number;
  documents: number;
  replaySeconds: number;
  documentsPerSecond: number;
  accuracy: number;
  alerts: AlertRecord[];
  changes: ChangePoint[];
  shares: ShareCheck[];
}

async function runSeed(seed: number, pool: LabelledText[], ner: string, work: string): Promise<SeedRun> {
  const list = shifts();
  const stream = simulateStream({
    texts: pool,
    start: T0,
    days: DAYS,
    ratePerHour: RATE,
    diurnal: 0.5,
    baseShare: BASE,
    sources: SOURCES,
    entities: ENTITIES,
    shifts: list.map((s) => s.shift),
    seed,
  });
  const file = join(work, `stream-${seed}.jsonl`);
  writeFileSync(
    file,
    `${stream.documents
      .map((d) => JSON.stringify({ id: d.id, text: d.text, timestamp: d.timestamp, source: d.source, trueLabel: d.meta?.trueLabel, entity: d.meta?.entity }))
      .join('\n')}\n`,
  );
  const config = parseMonitorConfig(
    {
      name: `sim-${seed}`,
      model: MODEL,
      entities: { model: ner, types: ['ORG'] },
      windows: ['1h'],
      watches: WATCHES,
      alerts: { cooldown: '1h', targets: [] },
      database: join(work, `sim-${seed}.db`),
      batch_size: Number(args['batch-size']),
      threads: THREADS,
    },
    join(work, 'monitor.json'),
  );
  const monitor = await Monitor.open(config);
  try {
    const r = await monitor.replay(file);
    const stored = await monitor.store.documents({ order: 'time', limit: stream.documents.length + 1 });
    const correct = stored.filter((d) => d.label === d.meta?.trueLabel).length;
    const shares: ShareCheck[] = [];
    for (const c of stream.changePoints) {
      if (c.kind !== 'share' || c.label !== 'negative') continue;
      const name = list.find((s) => s.shift.at === c.at)?.name ?? '';
      const windows = await monitor.store.series({ ...c.series, windowMs: HOUR, from: c.at - 72 * HOUR, to: c.end });
      const share = (from: number, to: number) => {
        const ws = windows.filter((w) => w.windowStart >= from && w.windowStart < to);
        const n = ws.reduce((s, w) => s + w.count, 0);
        return ws.reduce((s, w) => s + (w.labelCounts.negative ?? 0), 0) / Math.max(n, 1);
      };
      const inSeries = (d: (typeof stream.documents)[number]) =>
        c.series.dimension === 'all' || (c.series.dimension === 'entity' ? d.meta?.entity === c.series.value : d.source === c.series.value);
      const trueShare = (from: number, to: number) => {
        const ds = stream.documents.filter((d) => d.timestamp >= from && d.timestamp < to && inSeries(d));
        return ds.filter((d) => d.meta?.trueLabel === 'negative').length / Math.max(ds.length, 1);
      };
      shares.push({
        change: name,
        series: key(c.series),
        trueBefore: trueShare(c.at - 72 * HOUR, c.at),
        trueAfter: trueShare(c.at, c.end),
        predictedBefore: share(c.at - 72 * HOUR, c.at),
        predictedAfter: share(c.at, c.end),
      });
    }
    return {
      seed,
      documents: r.accepted,
      replaySeconds: r.seconds,
      documentsPerSecond: r.documentsPerSecond,
      accuracy: correct / Math.max(stored.length, 1),
      alerts: r.alerts,
      changes: stream.changePoints,
      shares,
    };
  } finally {
    await monitor.close();
  }
}

const mean = (xs: readonly number[]) => (xs.length === 0 ? null : xs.reduce((s, x) => s + x, 0) / xs.length);
function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
const fmt = (x: number | null, digits = 1) => (x === null ? '-' : x.toFixed(digits));

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'tuna-monitor-sim-'));
  try {
    const pool = await loadPool();
    const ner = await writeEntityModel(join(work, 'entities'));
    const list = shifts();
    console.log(
      `monitor-sim: ${pool.length} SST-2 texts, ${DAYS} days at ${RATE}/h (daily cycle ±50%), ${SOURCES.length} sources, ${ENTITIES.length} entities, ` +
        `${list.length} shifts, ${SEEDS} seeds, model ${MODEL}, threads ${THREADS}`,
    );
    const runs: SeedRun[] = [];
    for (let seed = 1; seed <= SEEDS; seed++) {
      const run = await runSeed(seed, pool, ner, work);
      runs.push(run);
      console.log(
        `  seed ${seed}: ${run.documents} documents replayed in ${run.replaySeconds.toFixed(1)} s (${run.documentsPerSecond.toFixed(0)}/s), ` +
          `accuracy ${(100 * run.accuracy).toFixed(1)}%, ${run.alerts.length} alerts`,
      );
    }
    const config = parseMonitorConfig({ model: MODEL, windows: ['1h'], watches: WATCHES }, join(work, 'monitor.json'));
    const perWatch = config.watches.map((watch) => {
      const delays: number[] = [];
      let targets = 0;
      let detected = 0;
      let alerts = 0;
      let falseAlerts = 0;
      const perChange = new Map<string, { detected: number; of: number; delays: number[] }>();
      for (const run of runs) {
        const mine = run.alerts.filter((a) => a.watch === watch.name);
        const wanted = targetsOf(watch, run.changes);
        const score = scoreDetections(mine, wanted, { maxDelayMs: MAX_DELAY, days: DAYS });
        const all = scoreDetections(mine, impliedOf(run.changes.filter((c) => c.kind === watch.metric)), { maxDelayMs: MAX_DELAY, days: DAYS });
        targets += score.totals.changePoints;
        detected += score.totals.detected;
        alerts += score.totals.alerts;
        falseAlerts += all.totals.falseAlerts;
        for (const c of score.changes) {
          const name = list.find((s) => s.shift.at === c.change.at)?.name ?? key(c.change.series);
          const entry = perChange.get(name) ?? { detected: 0, of: 0, delays: [] };
          entry.of += 1;
          if (c.detected) {
            entry.detected += 1;
            entry.delays.push(c.delayMs! / HOUR);
            delays.push(c.delayMs! / HOUR);
          }
          perChange.set(name, entry);
        }
      }
      return {
        watch: watch.name,
        metric: watch.metric,
        detector: watch.detector.detector,
        changes: targets,
        detected,
        meanDelayHours: mean(delays),
        medianDelayHours: median(delays),
        alerts,
        falseAlerts,
        falseAlertsPerDay: falseAlerts / (DAYS * runs.length),
        perChange: [...perChange].map(([change, e]) => ({ change, detected: e.detected, of: e.of, medianDelayHours: median(e.delays) })),
      };
    });

    console.log(`\nper watch (1 h windows; detected within ${MAX_DELAY / HOUR} h, summed over ${runs.length} seeds):`);
    console.log('watch                 detected  mean delay h  median delay h  alerts  false/day');
    for (const w of perWatch) {
      console.log(
        `${w.watch.padEnd(20)}  ${`${w.detected}/${w.changes}`.padStart(8)}  ${fmt(w.meanDelayHours).padStart(12)}  ${fmt(w.medianDelayHours).padStart(14)}  ${String(w.alerts).padStart(6)}  ${fmt(w.falseAlertsPerDay, 2).padStart(9)}`,
      );
    }
    console.log('\nper change (detected/seeds, median delay h):');
    const changeNames = [...new Set(perWatch.flatMap((w) => w.perChange.map((c) => c.change)))];
    for (const name of changeNames) {
      const cells = perWatch
        .filter((w) => w.perChange.some((c) => c.change === name))
        .map((w) => {
          const c = w.perChange.find((x) => x.change === name)!;
          return `${w.detector} ${c.detected}/${c.of} ${fmt(c.medianDelayHours)}`;
        });
      console.log(`  ${name}: ${cells.join('; ')}`);
    }
    const shareRows = [...new Set(runs.flatMap((r) => r.shares.map((s) => s.change)))].map((change) => {
      const rows = runs.flatMap((r) => r.shares.filter((s) => s.change === change));
      return {
        change,
        series: rows[0]!.series,
        trueBefore: mean(rows.map((r) => r.trueBefore))!,
        trueAfter: mean(rows.map((r) => r.trueAfter))!,
        predictedBefore: mean(rows.map((r) => r.predictedBefore))!,
        predictedAfter: mean(rows.map((r) => r.predictedAfter))!,
      };
    });
    console.log('\nnegative share, true vs predicted (72 h before the change → during it, mean over seeds):');
    for (const s of shareRows) {
      console.log(
        `  ${s.change} (${s.series}): true ${s.trueBefore.toFixed(3)} → ${s.trueAfter.toFixed(3)}; predicted ${s.predictedBefore.toFixed(3)} → ${s.predictedAfter.toFixed(3)}`,
      );
    }
    const docs = runs.reduce((s, r) => s + r.documents, 0);
    const seconds = runs.reduce((s, r) => s + r.replaySeconds, 0);
    console.log(
      `\nreplay: ${docs} documents in ${seconds.toFixed(1)} s, ${(docs / seconds).toFixed(0)} documents/s (classify + entities + store + ${WATCHES.length} watches); ` +
        `accuracy ${(100 * mean(runs.map((r) => r.accuracy))!).toFixed(1)}%`,
    );

    const result = {
      bench: 'monitor-sim',
      date: new Date().toISOString(),
      model: MODEL,
      stream: { days: DAYS, ratePerHour: RATE, diurnal: 0.5, sources: SOURCES, entities: ENTITIES, baseShare: BASE, texts: pool.length },
      shifts: list.map((s) => ({ name: s.name, ...s.shift, at: new Date(s.shift.at).toISOString() })),
      seeds: runs.length,
      maxDelayHours: MAX_DELAY / HOUR,
      threads: THREADS,
      batchSize: Number(args['batch-size']),
      watches: WATCHES,
      replay: {
        documents: docs,
        seconds,
        documentsPerSecond: docs / seconds,
        accuracy: mean(runs.map((r) => r.accuracy)),
        perSeed: runs.map((r) => ({
          seed: r.seed,
          documents: r.documents,
          seconds: r.replaySeconds,
          documentsPerSecond: r.documentsPerSecond,
          accuracy: r.accuracy,
          alerts: r.alerts.length,
        })),
      },
      perWatch,
      negativeShare: shareRows,
    };
    await mkdir(dirname(args.out!), { recursive: true });
    await writeFile(args.out!, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`wrote ${args.out}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
