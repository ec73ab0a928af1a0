/**
 * The stream simulator (seeded determinism, Poisson rates and daily cycle, label shares, shifts of
 * volume and share on a source or an entity, change points), loading labelled texts, and
 * detection scoring on hand-built alert lists.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type ScoredAlert, scoreDetections } from '../src/monitor/detection-score.js';
import { MonitorError } from '../src/monitor/errors.js';
import { type LabelledText, loadLabelledTexts, simulateStream } from '../src/monitor/simulate.js';
import type { IncomingDocument } from '../src/monitor/types.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** 2024-05-01 00:00 UTC. */
const START = Date.UTC(2024, 4, 1);

const TEXTS: LabelledText[] = [
  ...['awful service', 'never again', 'broken on arrival', 'slow and rude'].map((text) => ({ text, label: 'negative' })),
  ...['works great', 'lovely staff', 'fast delivery', 'five stars', 'would buy again', 'very happy'].map((text) => ({ text, label: 'positive' })),
];

/** |observed − expected| within `z` standard deviations. */
function within(observed: number, expected: number, sd: number, z = 4): void {
  assert.ok(Math.abs(observed - expected) <= z * sd, `observed ${observed}, expected ${expected} ± ${z} × ${sd.toFixed(3)}`);
}

const inSpan = (d: IncomingDocument, from: number, to: number) => d.timestamp >= from && d.timestamp < to;
const trueLabel = (d: IncomingDocument) => d.meta?.trueLabel as string;

describe('simulateStream', () => {
  it('is deterministic by seed, sorted by time, with unique ids and true labels', () => {
    const options = { texts: TEXTS, start: START, days: 2, ratePerHour: 30, diurnal: 0.5, seed: 7 };
    const a = simulateStream(options);
    const b = simulateStream(options);
    assert.deepEqual(a, b);
    const c = simulateStream({ ...options, seed: 8 });
    assert.notDeepEqual(
      c.documents.map((d) => d.timestamp),
      a.documents.map((d) => d.timestamp),
    );
    assert.equal(new Set(a.documents.map((d) => d.id)).size, a.documents.length);
    for (let i = 1; i < a.documents.length; i++) assert.ok((a.documents[i] as IncomingDocument).timestamp >= (a.documents[i - 1] as IncomingDocument).timestamp);
    const end = START + 2 * DAY;
    const pool = new Map(TEXTS.map((t) => [t.text, t.label]));
    for (const d of a.documents) {
      assert.ok(d.timestamp >= START && d.timestamp < end);
      assert.equal(pool.get(d.text), trueLabel(d), d.text);
    }
    assert.deepEqual(a.changePoints, []);
  });

  it('draws Poisson counts per hour at the asked rate, with the asked label shares', () => {
    const rate = 40;
    const days = 4;
    const { documents } = simulateStream({ texts: TEXTS, start: START, days, ratePerHour: rate, baseShare: { negative: 0.25, positive: 0.75 }, seed: 3 });
    const hours = days * 24;
    within(documents.length, rate * hours, Math.sqrt(rate * hours));
    const perHour = new Array<number>(hours).fill(0);
    for (const d of documents) {
      const h = Math.floor((d.timestamp - START) / HOUR);
      perHour[h] = (perHour[h] ?? 0) + 1;
    }
    const mean = documents.length / hours;
    const variance = perHour.reduce((s, n) => s + (n - mean) ** 2, 0) / (hours - 1);
    // A Poisson count's variance equals its mean; the ratio's sd is about √(2 / (hours − 1)).
    within(variance / mean, 1, Math.sqrt(2 / (hours - 1)));
    const negative = documents.filter((d) => trueLabel(d) === 'negative').length;
    within(negative / documents.length, 0.25, Math.sqrt((0.25 * 0.75) / documents.length));
  });

  it('follows the daily cycle: busiest around noon, quietest around midnight, same daily mean', () => {
    const rate = 30;
    const days = 6;
    const diurnal = 0.8;
    const { documents } = simulateStream({ texts: TEXTS, start: START, days, ratePerHour: rate, diurnal, seed: 11 });
    within(documents.length, rate * 24 * days, Math.sqrt(rate * 24 * days));
    const byHour = new Array<number>(24).fill(0);
    for (const d of documents) {
      const h = new Date(d.timestamp).getUTCHours();
      byHour[h] = (byHour[h] ?? 0) + 1;
    }
    for (const h of [0, 6, 12, 18]) {
      const expected = days * rate * (1 + diurnal * Math.sin((2 * Math.PI * (h + 0.5 - 6)) / 24));
      within(byHour[h] as number, expected, Math.sqrt(expected));
    }
    assert.ok((byHour[12] as number) > 4 * (byHour[0] as number));
  });

  it('puts in volume and share shifts on a source and an entity, with their change points', () => {
    const volumeAt = START + DAY + 6 * HOUR;
    const shareAt = START + 2 * DAY + 3 * HOUR;
    const { documents, changePoints } = simulateStream({
      texts: TEXTS,
      start: START,
      days: 3,
      ratePerHour: 60,
      baseShare: { negative: 0.2, positive: 0.8 },
      sources: ['forum', 'news'],
      entities: ['Acme Corp', 'Globex'],
      entityRate: 0.5,
      shifts: [
        { at: volumeAt, durationMs: 6 * HOUR, volumeFactor: 4, source: 'forum' },
        { at: shareAt, durationMs: 8 * HOUR, labelShare: { negative: 0.7, positive: 0.3 }, entity: 'Acme Corp' },
      ],
      seed: 5,
    });
    assert.deepEqual(changePoints, [
      { at: volumeAt, end: volumeAt + 6 * HOUR, kind: 'volume', series: { dimension: 'source', value: 'forum' }, direction: 'up', before: 1, after: 4 },
      { at: shareAt, end: shareAt + 8 * HOUR, kind: 'share', label: 'negative', series: { dimension: 'entity', value: 'acme corp' }, direction: 'up', before: 0.2, after: 0.7 },
      { at: shareAt, end: shareAt + 8 * HOUR, kind: 'share', label: 'positive', series: { dimension: 'entity', value: 'acme corp' }, direction: 'down', before: 0.8, after: 0.3 },
    ]);
    // Sources split the stream evenly: 30/h each; forum ×4 during the shift, news unchanged.
    const forum = documents.filter((d) => d.source === 'forum' && inSpan(d, volumeAt, volumeAt + 6 * HOUR)).length;
    const news = documents.filter((d) => d.source === 'news' && inSpan(d, volumeAt, volumeAt + 6 * HOUR)).length;
    within(forum, 4 * 30 * 6, Math.sqrt(4 * 30 * 6));
    within(news, 30 * 6, Math.sqrt(30 * 6));
    const forumBefore = documents.filter((d) => d.source === 'forum' && inSpan(d, volumeAt - 6 * HOUR, volumeAt)).length;
    within(forumBefore, 30 * 6, Math.sqrt(30 * 6));
    // Half the documents (the forum burst's too) mention an entity, each equally often; the name leads the text.
    const acme = documents.filter((d) => d.meta?.entity === 'Acme Corp');
    const expectedAcme = (60 * 72 + 3 * 30 * 6) * 0.25;
    within(acme.length, expectedAcme, Math.sqrt(expectedAcme));
    assert.ok(acme.every((d) => d.text.startsWith('Acme Corp: ')));
    assert.ok(documents.filter((d) => d.meta?.entity === undefined).every((d) => !d.text.includes(':')));
    const acmeShift = acme.filter((d) => inSpan(d, shareAt, shareAt + 8 * HOUR));
    const acmeNeg = acmeShift.filter((d) => trueLabel(d) === 'negative').length / acmeShift.length;
    within(acmeNeg, 0.7, Math.sqrt((0.7 * 0.3) / acmeShift.length));
    const globexShift = documents.filter((d) => d.meta?.entity === 'Globex' && inSpan(d, shareAt, shareAt + 8 * HOUR));
    const globexNeg = globexShift.filter((d) => trueLabel(d) === 'negative').length / globexShift.length;
    within(globexNeg, 0.2, Math.sqrt((0.2 * 0.8) / globexShift.length));
  });

  it('checks its options, naming the field', () => {
    const base = { texts: TEXTS, start: START, days: 1, ratePerHour: 10 };
    const bad: [object, string][] = [
      [{ ...base, texts: [] }, 'texts'],
      [{ ...base, days: 0 }, 'days'],
      [{ ...base, diurnal: 1.5 }, 'diurnal'],
      [{ ...base, baseShare: { neutral: 1 } }, 'baseShare.neutral'],
      [{ ...base, shifts: [{ at: START, durationMs: HOUR, source: 'tv' }] }, 'shifts[0].source'],
      [{ ...base, shifts: [{ at: START, durationMs: HOUR, labelShare: { negative: -1 } }] }, 'shifts[0].labelShare.negative'],
    ];
    for (const [options, field] of bad) {
      assert.throws(
        () => simulateStream(options as never),
        (e: unknown) => e instanceof MonitorError && e.code === 'invalid_config' && e.field === field,
        field,
      );
    }
  });
});

describe('loadLabelledTexts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tuna-sim-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads SST-2 (a sentence column, integer labels named by labelNames)', async () => {
    const texts = await loadLabelledTexts('/work/shared/datasets/sst2/dev.tsv', { labelNames: ['negative', 'positive'], limit: 50 });
    assert.equal(texts.length, 50);
    assert.deepEqual(texts[0], { text: "it 's a charming and often affecting journey .", label: 'positive' });
    assert.deepEqual(texts[1], { text: 'unflinchingly bleak and desperate', label: 'negative' });
  });

  it('reads CSV and JSONL with text and label columns', async () => {
    const csv = join(dir, 'a.csv');
    writeFileSync(csv, 'label,text\nneg,"bad, very bad"\npos,good\n');
    assert.deepEqual(await loadLabelledTexts(csv), [
      { text: 'bad, very bad', label: 'neg' },
      { text: 'good', label: 'pos' },
    ]);
    const jsonl = join(dir, 'b.jsonl');
    writeFileSync(jsonl, '{"review": "meh", "stars": "2"}\n{"review": "great", "stars": "5"}\n');
    assert.deepEqual(await loadLabelledTexts(jsonl, { textColumn: 'review', labelColumn: 'stars' }), [
      { text: 'meh', label: '2' },
      { text: 'great', label: '5' },
    ]);
    await assert.rejects(loadLabelledTexts(join(dir, 'missing.tsv')), (e: unknown) => e instanceof MonitorError && e.code === 'file_not_found');
  });
});

describe('scoreDetections', () => {
  const A = { at: 10 * HOUR, end: 16 * HOUR, series: { dimension: 'entity' as const, value: 'acme' } };
  const B = { at: 50 * HOUR, end: 52 * HOUR, series: { dimension: 'all' as const, value: '*' } };
  const C = { at: 80 * HOUR, end: 84 * HOUR };
  const w = (from: number, series?: ScoredAlert['series']): ScoredAlert => ({ windowStart: from * HOUR, windowEnd: (from + 1) * HOUR, ...(series ? { series } : {}) });

  it('finds the first detecting alert of each change, its delay, the missed changes and false alerts per day', () => {
    const alerts: ScoredAlert[] = [
      { windowStart: 11 * HOUR, windowEnd: 12 * HOUR, dimension: 'entity', value: 'acme' }, // A, 2 h late
      w(9, A.series), // ends as A starts: false
      w(13, A.series), // A again: not false, not first
      w(11, { dimension: 'entity', value: 'globex' }), // other series: false
      w(60), // no series, 11 h after B: beyond maxDelay and B's window: false
      w(56, { dimension: 'source', value: 'forum' }), // other series: false
      w(53, B.series), // B, 4 h late
      w(17, A.series), // the return to normal after A: not false
    ];
    const s = scoreDetections(alerts, [A, B, C], { maxDelayMs: 6 * HOUR, days: 5 });
    assert.deepEqual(s.changes, [
      { change: A, detected: true, delayMs: 2 * HOUR, alert: 0 },
      { change: B, detected: true, delayMs: 4 * HOUR, alert: 6 },
      { change: C, detected: false, delayMs: null, alert: null },
    ]);
    assert.deepEqual(s.totals, {
      changePoints: 3,
      detected: 2,
      missed: 1,
      recall: 2 / 3,
      meanDelayMs: 3 * HOUR,
      medianDelayMs: 3 * HOUR,
      alerts: 8,
      falseAlerts: 4,
      falseAlertsPerDay: 0.8,
    });
  });

  it('counts an alert without a series against any change, and a delay of exactly maxDelay as detected', () => {
    const s = scoreDetections([w(85), w(200)], [C], { maxDelayMs: 6 * HOUR, days: 10 });
    assert.deepEqual(s.changes[0], { change: C, detected: true, delayMs: 6 * HOUR, alert: 0 });
    assert.equal(s.totals.falseAlerts, 1);
    assert.equal(s.totals.falseAlertsPerDay, 0.1);
    const none = scoreDetections([], [], { maxDelayMs: HOUR, days: 1 });
    assert.deepEqual(none.totals, {
      changePoints: 0,
      detected: 0,
      missed: 0,
      recall: 1,
      meanDelayMs: null,
      medianDelayMs: null,
      alerts: 0,
      falseAlerts: 0,
      falseAlertsPerDay: 0,
    });
    assert.throws(
      () => scoreDetections([], [], { maxDelayMs: 0, days: 1 }),
      (e: unknown) => e instanceof MonitorError && e.field === 'maxDelayMs',
    );
  });

  it('scores a simulated stream with alerts placed where its change points are', () => {
    const sim = simulateStream({
      texts: TEXTS,
      start: START,
      days: 2,
      ratePerHour: 5,
      shifts: [{ at: START + 30 * HOUR, durationMs: 4 * HOUR, volumeFactor: 5 }],
      seed: 2,
    });
    const [cp] = sim.changePoints;
    assert.ok(cp);
    const alerts = [{ windowStart: cp.at + HOUR, windowEnd: cp.at + 2 * HOUR, dimension: 'all' as const, value: '*' }];
    const s = scoreDetections(alerts, sim.changePoints, { maxDelayMs: 3 * HOUR, days: 2 });
    assert.equal(s.totals.detected, 1);
    assert.equal(s.changes[0]?.delayMs, 2 * HOUR);
  });
});
