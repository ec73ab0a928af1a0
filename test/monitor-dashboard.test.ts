// The monitor's HTTP service and dashboard on a SQLite store seeded with three days of documents
// (two sources, three entities, a feed outage, a negative-share rise on day 3) and two alerts: every
// API route through fastify's inject, the event stream over real HTTP, and the page in headless
// Chromium (chart drawn, alerts marked and listed, a window's label mix and top texts, live updates).
// TUNA_SCREENSHOT=1 saves the page to docs/images/monitor-dashboard.png.
import assert from 'node:assert/strict';
import { tempDirSync } from './helpers/temp.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { type MonitorServer, createMonitorServer } from '../src/monitor/server.js';
import { SqliteMonitorStore } from '../src/monitor/store/index.js';
import type { ClassifiedDocument, IncomingDocument, NewAlert } from '../src/monitor/types.js';
import { launchChromium } from './helpers/browser.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies, checked field by field
type Json = any;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const START = Date.UTC(2024, 4, 1);
const WINDOWS = [HOUR, DAY];
const LABELS = ['negative', 'neutral', 'positive'];
const OUTAGE = [START + 14 * HOUR, START + 17 * HOUR];
const RISE = START + 2 * DAY + 6 * HOUR;
const ENTITIES = ['acme', 'globex', 'initech'];
const TEXTS: Record<string, string[]> = {
  negative: [
    'The {E} app keeps crashing since the last update.',
    'Still waiting for my {E} refund after two weeks, nobody answers.',
    'Charged twice by {E} this month. Terrible billing.',
    '{E} support closed my ticket without fixing anything.',
    'Cancelled my {E} plan: the outage lasted all morning.',
  ],
  neutral: [
    '{E} announced its quarterly results today.',
    'Does anyone know when {E} opens the new office?',
    '{E} changed the layout of its pricing page.',
    'Comparing {E} plans for a small team, any notes?',
  ],
  positive: [
    'Loving the new {E} dashboard, it is fast and clear.',
    '{E} support fixed my issue in ten minutes. Impressed.',
    'Great value from {E} this year, renewing for sure.',
    'The {E} mobile app finally has dark mode!',
  ],
};

/** A small deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function classified(id: string, timestamp: number, label: string, source: string, entity: string, score: number, text: string): ClassifiedDocument {
  const rest = (1 - score) / 2;
  const scores = Object.fromEntries(LABELS.map((l) => [l, l === label ? score : rest]));
  return {
    id,
    text,
    timestamp,
    source,
    label,
    score,
    scores,
    sentiment: scores.positive! - scores.negative!,
    entities: [{ name: entity, text: entity[0]!.toUpperCase() + entity.slice(1), type: 'ORG', score: 0.97 }],
  };
}

/** Three days, about four documents an hour, none during the outage; acme turns negative from RISE. */
function seedDocuments(): ClassifiedDocument[] {
  const r = rng(7);
  const docs: ClassifiedDocument[] = [];
  for (let h = 0; h < 72; h++) {
    const hourStart = START + h * HOUR;
    if (hourStart >= OUTAGE[0]! && hourStart < OUTAGE[1]!) continue;
    const n = 4 + Math.floor(r() * 6);
    for (let i = 0; i < n; i++) {
      const ts = hourStart + Math.floor(r() * HOUR);
      const entity = ENTITIES[Math.floor(r() * ENTITIES.length)]!;
      const pNeg = ts >= RISE && entity === 'acme' ? 0.9 : ts >= RISE ? 0.4 : 0.15;
      const u = r();
      const label = u < pNeg ? 'negative' : u < pNeg + (1 - pNeg) / 2 ? 'neutral' : 'positive';
      const pool = TEXTS[label]!;
      const text = pool[Math.floor(r() * pool.length)]!.replace('{E}', entity[0]!.toUpperCase() + entity.slice(1));
      const score = Math.round((0.55 + r() * 0.44) * 1000) / 1000;
      docs.push(classified(`d${docs.length}`, ts, label, r() < 0.6 ? 'news' : 'forum', entity, score, text));
    }
  }
  return docs;
}

function alert(over: Partial<NewAlert> & Pick<NewAlert, 'dimension' | 'value' | 'windowStart' | 'severity'>): NewAlert {
  return {
    key: `${over.watch ?? 'negative-share'}|${over.dimension}|${over.value}|up`,
    watch: 'negative-share',
    detector: 'ewma',
    metric: 'share',
    label: 'negative',
    windowMs: HOUR,
    windowEnd: over.windowStart + HOUR,
    observed: 0.8,
    expected: 0.15,
    score: 5.2,
    threshold: 3,
    direction: 'up',
    examples: [],
    raisedAt: over.windowStart + HOUR + 60_000,
    ...over,
  };
}

const dir = tempDirSync('monitor-dashboard');
const dbFile = join(dir, 'monitor.db');
const seeded = seedDocuments();
/** The hour after the rise with the highest negative share (of those with five documents or more). */
function negativeShare(from: number, to: number): { share: number; count: number } {
  const inside = seeded.filter((d) => d.timestamp >= from && d.timestamp < to);
  return { share: inside.filter((d) => d.label === 'negative').length / Math.max(1, inside.length), count: inside.length };
}
const ALERT_HOUR = Array.from({ length: 18 }, (_, i) => RISE + i * HOUR)
  .filter((h) => negativeShare(h, h + HOUR).count >= 5)
  .sort((a, b) => negativeShare(b, b + HOUR).share - negativeShare(a, a + HOUR).share)[0]!;
let store: SqliteMonitorStore;
let ingested: IncomingDocument[][] = [];
let server: MonitorServer;

/** A keyword classifier standing in front of the store, as the monitor's pipeline would be. */
async function ingest(docs: IncomingDocument[]) {
  ingested.push(docs);
  const out = docs.map((d) => classified(d.id, d.timestamp, /crash|refund|terrible/i.test(d.text) ? 'negative' : 'neutral', d.source ?? 'unknown', 'acme', 0.9, d.text));
  const r = await store.write(out);
  return { accepted: docs.length, inserted: r.inserted.length, duplicates: r.duplicates.length };
}

before(async () => {
  store = new SqliteMonitorStore(dbFile, { windowsMs: WINDOWS });
  await store.write(seeded);
  await store.addAlert(
    alert({ dimension: 'all', value: '*', windowStart: ALERT_HOUR, severity: 'high', observed: negativeShare(ALERT_HOUR, ALERT_HOUR + HOUR).share, expected: 0.15 }),
    'delivered',
  );
  const acmeIn = (h: number) => seeded.filter((d) => d.entities[0]!.name === 'acme' && d.timestamp >= h && d.timestamp < h + HOUR).length;
  const acmeHour = Array.from({ length: 18 }, (_, i) => RISE + i * HOUR).sort((a, b) => acmeIn(b) - acmeIn(a))[0]!;
  const acmeCount = acmeIn(acmeHour);
  await store.addAlert(
    alert({
      dimension: 'entity',
      value: 'acme',
      windowStart: acmeHour,
      severity: 'medium',
      watch: 'acme-volume',
      metric: 'volume',
      label: null,
      observed: acmeCount,
      expected: 2.2,
    }),
    'none',
  );
  server = createMonitorServer({ store, windowsMs: WINDOWS, ingest, pollMs: 200, title: 'Acme & co opinion monitor', labels: LABELS, maxIngestDocuments: 50 });
});

after(async () => {
  await server?.close();
  await store?.close();
});

const get = async (url: string): Promise<{ status: number; body: Json }> => {
  const r = await server.app.inject({ method: 'GET', url });
  return { status: r.statusCode, body: r.json() };
};

function expectedWindow(docs: readonly ClassifiedDocument[], from: number, to: number) {
  const inside = docs.filter((d) => d.timestamp >= from && d.timestamp < to);
  const labelCounts: Record<string, number> = {};
  for (const d of inside) labelCounts[d.label] = (labelCounts[d.label] ?? 0) + 1;
  return { count: inside.length, labelCounts, docs: inside };
}

test('GET /api/summary and /api/series: counts per window match the documents, gaps zero-filled', async () => {
  const s = await get('/api/summary');
  assert.equal(s.status, 200);
  assert.equal(s.body.documentCount, seeded.length);
  assert.equal(s.body.latestTimestamp, Math.max(...seeded.map((d) => d.timestamp)));
  assert.deepEqual(s.body.labels, LABELS);
  assert.deepEqual(s.body.windows, [
    { name: '1h', ms: HOUR },
    { name: '1d', ms: DAY },
  ]);
  assert.equal(s.body.firstWindowStart, START);
  assert.equal(s.body.ingest, true);
  assert.ok(s.body.latestAlertId >= 2);

  const r = await get(`/api/series?dimension=all&window=1h&from=${new Date(START).toISOString()}&to=${START + 3 * DAY}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.windows.length, 72);
  assert.equal(r.body.window, '1h');
  for (const [i, w] of (r.body.windows as Json[]).entries()) {
    assert.equal(w.start, START + i * HOUR);
    const e = expectedWindow(seeded, w.start, w.start + HOUR);
    assert.equal(w.count, e.count, `window ${i}`);
    assert.deepEqual(w.labelCounts, e.labelCounts);
    if (e.count === 0) {
      assert.deepEqual(w.share, { negative: null, neutral: null, positive: null });
      assert.equal(w.meanSentiment, null);
    } else {
      assert.ok(Math.abs(w.share.negative - (e.labelCounts.negative ?? 0) / e.count) < 1e-12);
      const mean = e.docs.reduce((a, d) => a + d.sentiment!, 0) / e.count;
      assert.ok(Math.abs(w.meanSentiment - mean) < 1e-9);
    }
  }
  const outage = (r.body.windows as Json[]).filter((w) => w.start >= OUTAGE[0]! && w.start < OUTAGE[1]!);
  assert.deepEqual(
    outage.map((w) => w.count),
    [0, 0, 0],
  );

  const acme = await get(`/api/series?dimension=entity&value=acme&window=1d`);
  assert.deepEqual(
    acme.body.windows.map((w: Json) => w.count),
    [0, 1, 2].map(
      (d) =>
        expectedWindow(
          seeded.filter((x) => x.entities[0]!.name === 'acme'),
          START + d * DAY,
          START + (d + 1) * DAY,
        ).count,
    ),
  );
  const day3 = acme.body.windows[2].share.negative;
  const day1 = acme.body.windows[0].share.negative;
  assert.ok(day3 > day1 + 0.4, `acme's negative share rises: ${day1} -> ${day3}`);

  const empty = await get(`/api/series?dimension=source&value=nowhere&window=1h`);
  assert.deepEqual(empty.body.windows, []);
});

test('GET /api/values, /api/documents and /api/alerts answer as the store holds it', async () => {
  const v = await get('/api/values?dimension=entity&window=1h&limit=2');
  const counts = ENTITIES.map((e) => ({ value: e, count: seeded.filter((d) => d.entities[0]!.name === e).length })).sort((a, b) => b.count - a.count);
  assert.deepEqual(v.body.values, counts.slice(0, 2));
  const sources = await get('/api/values?dimension=source');
  assert.deepEqual(sources.body.values.map((x: Json) => x.value).sort(), ['forum', 'news']);

  const from = ALERT_HOUR;
  const d = await get(`/api/documents?dimension=all&from=${from}&to=${from + HOUR}&limit=3`);
  const e = expectedWindow(seeded, from, from + HOUR);
  const top = [...e.docs].sort((a, b) => b.score - a.score).slice(0, 3);
  assert.deepEqual(
    d.body.documents.map((x: Json) => x.id),
    top.map((x) => x.id),
  );
  assert.deepEqual(Object.keys(d.body.documents[0]).sort(), ['entities', 'id', 'label', 'score', 'scores', 'sentiment', 'source', 'text', 'timestamp']);
  const neg = await get(`/api/documents?dimension=entity&value=acme&from=${RISE}&label=negative&order=time&limit=200`);
  const expectedNeg = seeded.filter((x) => x.timestamp >= RISE && x.label === 'negative' && x.entities[0]!.name === 'acme').sort((a, b) => b.timestamp - a.timestamp);
  assert.deepEqual(
    neg.body.documents.map((x: Json) => x.id),
    expectedNeg.map((x) => x.id),
  );

  const a = await get('/api/alerts');
  assert.equal(a.body.alerts.length, 2);
  assert.ok(a.body.alerts[0].id > a.body.alerts[1].id);
  const acme = await get('/api/alerts?dimension=entity&value=acme');
  assert.deepEqual(
    acme.body.alerts.map((x: Json) => [x.watch, x.severity]),
    [['acme-volume', 'medium']],
  );
  const after1 = await get(`/api/alerts?afterId=${a.body.alerts[1].id}`);
  assert.deepEqual(
    after1.body.alerts.map((x: Json) => x.id),
    [a.body.alerts[0].id],
  );
});

test('bad parameters answer 400 naming the parameter; unknown routes 404', async () => {
  const cases: [string, string][] = [
    ['/api/series?dimension=all&window=5m', 'window'],
    ['/api/series?window=1h', 'dimension'],
    ['/api/series?dimension=colour&value=x', 'dimension'],
    ['/api/series?dimension=entity', 'value'],
    ['/api/series?dimension=all&from=yesterday', 'from'],
    [`/api/series?dimension=all&from=${START + DAY}&to=${START}`, 'to'],
    ['/api/series?dimension=all&window=1h&from=0', 'from'],
    ['/api/series?dimension=all&colour=red', 'colour'],
    ['/api/values?dimension=entity&limit=0', 'limit'],
    ['/api/values', 'dimension'],
    ['/api/documents?order=random', 'order'],
    ['/api/documents?value=acme', 'dimension'],
    ['/api/alerts?afterId=-1', 'afterId'],
    ['/api/summary?x=1', 'x'],
  ];
  for (const [url, field] of cases) {
    const r = await get(url);
    assert.equal(r.status, 400, url);
    assert.equal(r.body.error.code, 'invalid_parameter', url);
    assert.equal(r.body.error.field, field, url);
    assert.ok(r.body.error.message.startsWith(field), `${url}: ${r.body.error.message}`);
  }
  const missing = await get('/api/nothing');
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error.code, 'not_found');
});

test('POST /v1/ingest validates documents field by field and passes them on', async () => {
  const post = async (payload: unknown, s = server) => {
    const r = await s.app.inject({ method: 'POST', url: '/v1/ingest', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) });
    return { status: r.statusCode, body: r.json() as Json };
  };
  const good = (i: number) => ({ id: `in-${i}`, text: `Terrible crash number ${i}`, timestamp: '2024-05-04T01:00:00Z' });
  const bad: [unknown, number, string][] = [
    [{ documents: [good(0), good(1), good(2), { ...good(3), timestamp: 'soon' }] }, 400, 'documents[3].timestamp'],
    [{ documents: [{ ...good(0), id: '' }] }, 400, 'documents[0].id'],
    [{ documents: [{ ...good(0), text: 42 }] }, 400, 'documents[0].text'],
    [{ documents: [{ ...good(0), source: '' }] }, 400, 'documents[0].source'],
    [{ documents: [7] }, 400, 'documents[0]'],
    [{ documents: [] }, 400, 'documents'],
    [{ docs: [] }, 400, 'docs'],
    [[good(0)], 400, '(body)'],
    [{ documents: Array.from({ length: 51 }, (_, i) => good(i)) }, 413, 'documents'],
  ];
  for (const [payload, status, field] of bad) {
    const r = await post(payload);
    assert.equal(r.status, status, field);
    assert.equal(r.body.error.field, field);
    assert.ok(r.body.error.message.startsWith(field), r.body.error.message);
  }
  assert.equal(ingested.length, 0);
  const notJson = await server.app.inject({ method: 'POST', url: '/v1/ingest', headers: { 'content-type': 'application/json' }, payload: '{"documents": [' });
  assert.equal(notJson.statusCode, 400);
  assert.equal(notJson.json().error.code, 'invalid_json');

  const ts = Date.UTC(2024, 4, 4, 2);
  const ok = await post({ documents: [good(0), { id: 'in-1', text: 'A calm note', timestamp: ts, source: 'mail', lang: 'en' }, good(0)] });
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body, { accepted: 3, inserted: 2, duplicates: 1 });
  assert.deepEqual(ingested[0]![1], { id: 'in-1', text: 'A calm note', timestamp: ts, source: 'mail', meta: { lang: 'en' } });
  assert.equal(ingested[0]![0]!.timestamp, Date.UTC(2024, 4, 4, 1));
  ingested = [];

  const readOnly = createMonitorServer({ store, windowsMs: WINDOWS });
  try {
    const r = await post({ documents: [good(9)] }, readOnly);
    assert.equal(r.status, 503);
    assert.equal(r.body.error.code, 'unavailable');
  } finally {
    await readOnly.close();
  }
});

test('GET / and /assets: the page under a strict CSP, uPlot from node_modules', async () => {
  const page = await server.app.inject({ method: 'GET', url: '/' });
  assert.equal(page.statusCode, 200);
  assert.match(String(page.headers['content-security-policy']), /default-src 'none'.*script-src 'self' 'sha256-/);
  assert.match(page.body, /<title>Acme &#38; co opinion monitor<\/title>/);
  const js = await server.app.inject({ method: 'GET', url: '/assets/uplot.js' });
  assert.equal(js.statusCode, 200);
  assert.match(String(js.headers['content-type']), /javascript/);
  assert.match(js.body, /uPlot/);
  const css = await server.app.inject({ method: 'GET', url: '/assets/uplot.css' });
  assert.match(css.body, /\.uplot/);
});

/** Reads server-sent events from a stream until `until` holds for the events so far. */
async function readEvents(reader: ReadableStreamDefaultReader<Uint8Array>, until: (events: { event: string; data: Json }[]) => boolean, timeoutMs = 5000) {
  const events: { event: string; data: Json }[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  const deadline = Date.now() + timeoutMs;
  while (!until(events)) {
    const chunk = await Promise.race([reader.read(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no event in time')), deadline - Date.now()))]);
    if (chunk.done) break;
    buffer += decoder.decode(chunk.value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) events.push({ event, data: JSON.parse(data) });
      else if (block.startsWith(': ')) events.push({ event: 'comment', data: block.slice(2) });
    }
  }
  return events;
}

test('GET /api/events: updates and new alerts as other writers store them; closed on shutdown', async () => {
  const other = new SqliteMonitorStore(dbFile, { windowsMs: WINDOWS });
  const live = createMonitorServer({ store, windowsMs: WINDOWS, pollMs: 100, heartbeatMs: 150 });
  try {
    const url = await live.app.listen({ port: 0, host: '127.0.0.1' });
    const res = await fetch(`${url}/api/events`);
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const reader = res.body!.getReader();
    const first = (await readEvents(reader, (e) => e.some((x) => x.event === 'update'))).filter((e) => e.event !== 'comment');
    const count = await store.documentCount();
    assert.deepEqual(first[0], { event: 'update', data: { documentCount: count, latestTimestamp: await store.latestTimestamp() } });

    const ts = START + 3 * DAY + 5 * HOUR;
    await other.write([classified('sse-1', ts, 'negative', 'news', 'acme', 0.9, 'Acme crashed again')]);
    const added = await other.addAlert(alert({ dimension: 'source', value: 'news', windowStart: START + 3 * DAY, severity: 'low', observed: 0.45, expected: 0.2 }), 'pending');
    const events = await readEvents(reader, (e) => e.some((x) => x.event === 'alert'));
    assert.deepEqual(
      events.filter((e) => e.event === 'update').map((e) => e.data),
      [{ documentCount: count + 1, latestTimestamp: ts }],
    );
    const alerts = events.filter((e) => e.event === 'alert');
    assert.deepEqual(
      alerts.map((e) => [e.data.id, e.data.dimension, e.data.value, e.data.severity]),
      [[added.id, 'source', 'news', 'low']],
    );

    const beats = await readEvents(reader, (e) => e.some((x) => x.data === 'heartbeat'));
    assert.ok(beats.length > 0 && beats.every((e) => e.event === 'comment' && e.data === 'heartbeat'), JSON.stringify(beats));

    const resumed = await fetch(`${url}/api/events`, { headers: { 'last-event-id': String(added.id - 1) } });
    const again = await readEvents(resumed.body!.getReader(), (e) => e.some((x) => x.event === 'alert'));
    assert.equal(again.find((e) => e.event === 'alert')!.data.id, added.id);

    const t0 = Date.now();
    await live.close();
    assert.ok(Date.now() - t0 < 2000, `closed in ${Date.now() - t0} ms`);
    assert.equal((await reader.read()).done, true);
  } finally {
    await live.close();
    await other.close();
  }
});

test('the dashboard in Chromium: chart, alerts, a window’s label mix and top texts, live updates', async (t) => {
  const url = await server.app.listen({ port: 0, host: '127.0.0.1' });
  let browser: Browser | undefined;
  t.after(() => browser?.close());
  browser = await launchChromium();
  // A C locale gives navigator.language "en-US@posix", which uPlot's Intl.NumberFormat refuses.
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
  });
  page.on('requestfailed', (r) => problems.push(`${r.url()}: ${r.failure()?.errorText}`));
  const res = await page.goto(`${url}/`);
  assert.equal(res?.status(), 200);
  await page.waitForSelector('body[data-ready="true"]');
  await page.waitForSelector('#live.on');

  const count = await store.documentCount();
  assert.equal(await page.getAttribute('#doc-count', 'data-count'), String(count));
  const inked = await page.$$eval('.chart canvas', (cs) =>
    cs.map((c) => {
      const canvas = c as HTMLCanvasElement;
      const px = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 3; i < px.length; i += 4) if (px[i]! > 0) n++;
      return n / (canvas.width * canvas.height);
    }),
  );
  assert.equal(inked.length, 2);
  for (const share of inked) assert.ok(share > 0.02, `a chart has ${(share * 100).toFixed(1)}% of its pixels drawn`);

  const alerts = (await store.alerts()).filter((a) => a.dimension !== 'source');
  assert.equal(await page.locator('#alert-list .alert').count(), (await store.alerts()).length);
  const marker = page.locator('#volume-chart .alert-marker');
  assert.equal(await marker.count(), alerts.filter((a) => a.dimension === 'all').length);
  assert.equal(await marker.first().getAttribute('data-severity'), 'high');

  // The alert's window is shown first; click ten windows earlier, then the alert's window again.
  await page.waitForSelector(`#top-texts[data-start="${ALERT_HOUR}"]`);
  const box = (await marker.first().boundingBox())!;
  const clickAt = async (x: number) => {
    await page.mouse.move(x, box.y + box.height / 2);
    await page.mouse.click(x, box.y + box.height / 2);
  };
  await clickAt(box.x + box.width / 2 - 10 * box.width);
  await page.waitForSelector(`#top-texts[data-start="${ALERT_HOUR - 10 * HOUR}"]`);
  const earlier = expectedWindow(seeded, ALERT_HOUR - 10 * HOUR, ALERT_HOUR - 9 * HOUR);
  assert.equal(await page.locator('#top-texts .doc').count(), Math.min(8, earlier.count));
  await clickAt(box.x + box.width / 2);
  await page.waitForSelector(`#top-texts[data-start="${ALERT_HOUR}"]`);
  assert.equal(await page.getAttribute('#window-panel', 'data-start'), String(ALERT_HOUR));
  const [win] = await store.series({ dimension: 'all', value: '*', windowMs: HOUR, from: ALERT_HOUR, to: ALERT_HOUR + HOUR });
  const mix = await page.$$eval('#mix-table tr', (rows) => rows.map((r) => [(r as HTMLElement).dataset.label, Number((r as HTMLElement).dataset.count)]));
  assert.deepEqual(
    mix,
    LABELS.map((l) => [l, win!.labelCounts[l] ?? 0]),
  );
  const topIds = await page.$$eval('#top-texts .doc', (ds) => ds.map((d) => (d as HTMLElement).dataset.id));
  const expected = await store.documents({ series: { dimension: 'all', value: '*' }, from: ALERT_HOUR, to: ALERT_HOUR + HOUR, limit: 8 });
  assert.deepEqual(
    topIds,
    expected.map((d) => d.id),
  );
  assert.equal(await page.locator('#top-texts .doc').first().locator('.doc-text').textContent(), expected[0]!.text);

  // Only the negative texts of that window.
  await page.click('#label-filter button[data-label="negative"]');
  await page.waitForFunction(() => [...document.querySelectorAll('#top-texts .doc')].every((d) => (d as HTMLElement).dataset.label === 'negative'));

  // Live: another writer stores documents and an alert.
  const other = new SqliteMonitorStore(dbFile, { windowsMs: WINDOWS });
  try {
    const ts = START + 3 * DAY - 20 * 60_000;
    await other.write([0, 1, 2, 3, 4].map((i) => classified(`live-${i}`, ts + i * 1000, 'negative', 'forum', 'acme', 0.95, `Acme refund problem ${i}`)));
    await other.addAlert(alert({ dimension: 'all', value: '*', windowStart: START + 3 * DAY - HOUR, severity: 'medium', observed: 0.72, expected: 0.2 }), 'pending');
  } finally {
    await other.close();
  }
  const t0 = Date.now();
  await page.waitForSelector(`#doc-count[data-count="${count + 5}"]`, { timeout: 5000 });
  await page.waitForFunction((n) => document.querySelectorAll('#alert-list .alert').length === n, (await store.alerts()).length, { timeout: 5000 });
  await page.waitForFunction(() => document.querySelectorAll('#volume-chart .alert-marker').length === 2, undefined, { timeout: 5000 });
  const liveMs = Date.now() - t0;
  assert.ok(liveMs < 5000, `live update shown after ${liveMs} ms`);
  assert.equal(await page.getAttribute('#alert-list .alert', 'data-severity'), 'medium');

  if (process.env.TUNA_SCREENSHOT === '1') {
    const path = new URL('../docs/images/monitor-dashboard.png', import.meta.url).pathname;
    mkdirSync(join(path, '..'), { recursive: true });
    await page.click('#label-filter button[data-label=""]');
    await page.waitForTimeout(2200);
    await page.screenshot({ path, fullPage: true });
  }

  // An alert of another series opens that series at the alert's window.
  const acme = (await store.alerts({ series: { dimension: 'entity', value: 'acme' } }))[0]!;
  await page.locator('#alert-list .alert', { hasText: 'entity = acme' }).click();
  await page.waitForSelector(`#window-panel[data-start="${acme.windowStart}"]`);
  assert.equal(await page.inputValue('#dimension'), 'entity');
  assert.equal(await page.inputValue('#value'), 'acme');
  assert.deepEqual(await page.$$eval('#volume-chart .alert-marker', (ms) => ms.map((m) => (m as HTMLElement).dataset.alertId)), [String(acme.id)]);
  assert.deepEqual(problems, []);
});
