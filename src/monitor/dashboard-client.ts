/**
 * The dashboard's browser script, as the text the page inlines (it uses the `uPlot` global of
 * /assets/uplot.js). Plain ES2020 with no template literals, so it can live in a TypeScript string.
 */
export const DASHBOARD_SCRIPT = String.raw`
'use strict';
const $ = (id) => document.getElementById(id);
const SEVERITY_COLORS = { high: '#d32f2f', medium: '#ef8a00', low: '#d9b300' };
const LABEL_COLORS = { negative: '#d64545', positive: '#2e9e5b', neutral: '#8a94a6' };
const PALETTE = ['#3b6fd4', '#e08a1e', '#8e5cc4', '#1fa3a3', '#c2497a', '#6b8e23', '#a0522d'];
const state = {
  summary: null, dimension: 'all', value: '*', windowMs: 0, series: null, alerts: [], maxAlertId: 0,
  selected: null, labelFilter: null, charts: [], chartKey: '', refreshTimer: null, textsSeq: 0, freshAlerts: new Set(),
};

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  for (const c of children) if (c !== undefined && c !== null) e.append(c);
  return e;
}

function pad(n) { return String(n).padStart(2, '0'); }
function fmtTime(ms) {
  const d = new Date(ms);
  return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate()) + ' ' + pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes());
}
function fmtWindow(start, ms) {
  const a = fmtTime(start), b = fmtTime(start + ms);
  if (ms < 86400000 && b.slice(11) === '00:00') return a + ' – 24:00 UTC';
  return a + ' – ' + (a.slice(0, 10) === b.slice(0, 10) ? b.slice(11) : b) + ' UTC';
}
function pct(x) { return x === null || x === undefined ? '–' : (100 * x).toFixed(1) + '%'; }
function num(x) { return Number(x).toLocaleString('en-US'); }
function windowName(ms) {
  const units = [['w', 604800000], ['d', 86400000], ['h', 3600000], ['m', 60000], ['s', 1000]];
  for (const [u, v] of units) if (ms % v === 0) return ms / v + u;
  return ms + 'ms';
}
function labelColor(label) {
  if (LABEL_COLORS[label]) return LABEL_COLORS[label];
  const i = state.summary ? state.summary.labels.indexOf(label) : 0;
  return PALETTE[(i < 0 ? 0 : i) % PALETTE.length];
}
function seriesName(dimension, value) { return dimension === 'all' ? 'all documents' : dimension + ' = ' + value; }

async function getJson(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  const r = await fetch(path + (s ? '?' + s : ''));
  const body = await r.json();
  if (!r.ok) throw new Error(body.error ? body.error.message : 'HTTP ' + r.status);
  return body;
}

function showProblem(message) {
  const p = $('problem');
  p.textContent = message || '';
  p.hidden = !message;
}

function setStatus(count, latest) {
  const c = $('doc-count');
  c.textContent = num(count);
  c.dataset.count = String(count);
  $('latest').textContent = latest === null ? 'no documents yet' : fmtTime(latest) + ' UTC';
}

function setLive(on, text) {
  const l = $('live');
  l.className = on ? 'live on' : 'live off';
  l.textContent = text;
}

function range() {
  const s = state.summary, w = state.windowMs;
  if (s.latestTimestamp === null || s.firstWindowStart === null) return null;
  return { from: Math.floor(s.firstWindowStart / w) * w, to: Math.floor(s.latestTimestamp / w) * w + w };
}

function pickWindow() {
  const s = state.summary;
  const ws = s.windows.map((w) => w.ms).sort((a, b) => a - b);
  if (s.latestTimestamp === null || s.firstWindowStart === null) return s.windows[0].ms;
  const span = s.latestTimestamp - s.firstWindowStart;
  return ws.find((w) => span / w <= 400) || ws[ws.length - 1];
}

// Series picker

async function loadValues() {
  const sel = $('value');
  let values;
  if (state.dimension === 'all') values = [{ value: '*', count: state.summary.documentCount }];
  else values = (await getJson('/api/values', { dimension: state.dimension, window: state.windowMs, limit: 200 })).values;
  sel.replaceChildren(...values.map((v) => el('option', { value: v.value }, (v.value === '*' ? 'all documents' : v.value) + ' (' + num(v.count) + ')')));
  if (!values.some((v) => v.value === state.value)) state.value = values.length > 0 ? values[0].value : '';
  sel.value = state.value;
  sel.disabled = state.dimension === 'all' || values.length === 0;
}

// Alerts

async function loadAlerts() {
  state.alerts = (await getJson('/api/alerts', { limit: 200 })).alerts;
  state.maxAlertId = state.alerts.reduce((m, a) => Math.max(m, a.id), 0);
  renderAlerts();
}

function describeAlert(a) {
  const arrow = a.direction === 'up' ? '↑' : '↓';
  const what = a.metric === 'share' ? (a.label || '') + ' share ' + arrow : 'volume ' + arrow;
  const fmt = (v) => (a.metric === 'share' ? pct(v) : num(Math.round(v * 10) / 10));
  return { what, detail: 'observed ' + fmt(a.observed) + ' vs expected ' + fmt(a.expected) };
}

function renderAlerts() {
  const list = $('alert-list');
  $('alert-count').textContent = state.alerts.length === 0 ? '' : '(' + state.alerts.length + ')';
  if (state.alerts.length === 0) {
    list.replaceChildren(el('li', { class: 'empty muted' }, 'No alerts.'));
    return;
  }
  list.replaceChildren(...state.alerts.map((a) => {
    const d = describeAlert(a);
    const current = a.dimension === state.dimension && a.value === state.value;
    const li = el('li', { class: 'alert' + (state.freshAlerts.has(a.id) ? ' fresh' : '') + (current ? ' current' : ''), 'data-id': a.id, 'data-severity': a.severity, tabindex: 0 },
      el('span', { class: 'sev sev-' + a.severity }, a.severity),
      el('div', { class: 'alert-main' },
        el('div', { class: 'alert-what' }, el('strong', {}, d.what), ' in ', seriesName(a.dimension, a.value)),
        el('div', { class: 'muted' }, fmtWindow(a.windowStart, a.windowEnd - a.windowStart)),
        el('div', { class: 'muted' }, d.detail + ' · ' + a.watch + ' (' + a.detector + ')')));
    const open = () => openAlert(a);
    li.addEventListener('click', open);
    li.addEventListener('keydown', (e) => { if (e.key === 'Enter') open(); });
    return li;
  }));
}

async function openAlert(a) {
  try {
    if (a.dimension !== state.dimension || a.value !== state.value) {
      state.dimension = a.dimension;
      $('dimension').value = a.dimension;
      state.value = a.value;
      await loadValues();
      state.value = a.value;
      $('value').value = a.value;
    }
    state.labelFilter = a.metric === 'share' ? a.label : null;
    await loadSeries(Math.floor(a.windowStart / state.windowMs) * state.windowMs);
    renderAlerts();
  } catch (e) {
    showProblem(e.message);
  }
}

// Charts

function alertsOfSeries() {
  return state.alerts.filter((a) => a.dimension === state.dimension && a.value === state.value);
}

function band(cls, left, width, title) {
  const d = el('div', { class: cls, title });
  d.style.left = left + 'px';
  d.style.width = Math.max(2, width) + 'px';
  return d;
}

function drawMarks(u) {
  for (const m of u.over.querySelectorAll('.alert-marker, .selected-window')) m.remove();
  const width = u.over.clientWidth;
  const x = (ms) => u.valToPos(ms / 1000, 'x');
  for (const a of alertsOfSeries()) {
    const left = x(a.windowStart), right = x(a.windowEnd);
    if (right < 0 || left > width) continue;
    const m = band('alert-marker sev-' + a.severity, left, right - left, a.severity + ' alert: ' + describeAlert(a).what);
    m.dataset.severity = a.severity;
    m.dataset.alertId = String(a.id);
    u.over.append(m);
  }
  if (state.selected !== null) {
    const left = x(state.selected), right = x(state.selected + state.windowMs);
    u.over.append(band('selected-window', left, right - left));
  }
}

function redrawMarks() { for (const u of state.charts) drawMarks(u); }

function chartWidth() { return Math.max(300, $('charts').clientWidth - 32); }

function tzDate(ts) { return uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'); }

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
function timeTicks(u, splits) {
  return splits.map((s) => {
    const d = new Date(s * 1000);
    return d.getUTCHours() === 0 && d.getUTCMinutes() === 0 ? MONTHS[d.getUTCMonth()] + ' ' + d.getUTCDate() : pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes());
  });
}

function chartData() {
  const ws = state.series.windows;
  const xs = ws.map((w) => w.start / 1000);
  return {
    volume: [xs, ws.map((w) => w.count)],
    share: [xs, ...state.series.labels.map((l) => ws.map((w) => w.share[l]))],
  };
}

function buildCharts() {
  for (const u of state.charts) u.destroy();
  state.charts = [];
  const data = chartData();
  const common = (height) => ({
    width: chartWidth(),
    height,
    tzDate,
    cursor: { sync: { key: 'monitor' }, drag: { x: false, y: false }, points: { size: 6 } },
    scales: { x: { time: true } },
    hooks: { draw: [drawMarks] },
  });
  const volume = new uPlot({
    ...common(170),
    series: [{ label: 'window (UTC)', value: (u, v) => (v === null ? '' : fmtTime(v * 1000)) }, {
      label: 'documents', stroke: '#3b6fd4', fill: 'rgba(59,111,212,0.35)', width: 1,
      paths: uPlot.paths.bars({ size: [0.85, 60] }), points: { show: false },
    }],
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
    axes: [{ stroke: '#5b6475', values: timeTicks, size: 30 }, { stroke: '#5b6475', size: 48 }],
  }, data.volume, $('volume-chart'));
  const share = new uPlot({
    ...common(170),
    series: [{ label: 'window (UTC)', value: (u, v) => (v === null ? '' : fmtTime(v * 1000)) },
      ...state.series.labels.map((l) => ({ label: l, stroke: labelColor(l), width: 2, value: (u, v) => pct(v), points: { size: 4 } }))],
    scales: { x: { time: true }, y: { range: [0, 1] } },
    axes: [{ stroke: '#5b6475', values: timeTicks, size: 30 }, { stroke: '#5b6475', size: 48, values: (u, vals) => vals.map((v) => Math.round(v * 100) + '%') }],
  }, data.share, $('share-chart'));
  state.charts = [volume, share];
  state.chartKey = state.series.labels.join('\n');
  for (const u of state.charts) {
    u.over.addEventListener('click', () => {
      const i = u.cursor.idx;
      if (i !== null && i !== undefined && state.series.windows[i]) selectWindow(state.series.windows[i].start);
    });
  }
}

async function loadSeries(select) {
  const r = range();
  const box = $('chart-message');
  if (r === null) {
    box.textContent = 'No documents yet: the charts appear with the first ones.';
    box.hidden = false;
    return;
  }
  state.series = await getJson('/api/series', { dimension: state.dimension, value: state.value, window: state.windowMs, from: r.from, to: r.to });
  box.hidden = true;
  $('series-name').textContent = seriesName(state.dimension, state.value) + ' · ' + windowName(state.windowMs) + ' windows';
  const data = chartData();
  if (state.charts.length === 2 && state.chartKey === state.series.labels.join('\n')) {
    state.charts[0].setData(data.volume);
    state.charts[1].setData(data.share);
  } else buildCharts();
  const ws = state.series.windows;
  let start = select;
  if (start === undefined && state.selected !== null && ws.some((w) => w.start === state.selected)) start = state.selected;
  if (start === undefined) {
    const alerted = alertsOfSeries().find((a) => a.windowStart >= r.from && a.windowStart < r.to);
    if (alerted) start = Math.floor(alerted.windowStart / state.windowMs) * state.windowMs;
  }
  if (start === undefined) {
    const last = [...ws].reverse().find((w) => w.count > 0);
    start = last ? last.start : null;
  }
  selectWindow(start);
}

// Selected window

function selectWindow(start) {
  if (start !== state.selected) state.labelFilter = state.labelFilter && start !== null ? state.labelFilter : null;
  state.selected = start;
  redrawMarks();
  renderWindowPanel();
}

function renderWindowPanel() {
  const w = state.series && state.selected !== null ? state.series.windows.find((x) => x.start === state.selected) : undefined;
  const panel = $('window-panel');
  if (!w) {
    panel.dataset.start = '';
    $('window-title').textContent = 'Click a window on the chart';
    $('window-sub').textContent = '';
    $('mix-bar').replaceChildren();
    $('mix-table').replaceChildren();
    $('label-filter').replaceChildren();
    $('top-texts').replaceChildren();
    return;
  }
  panel.dataset.start = String(w.start);
  $('window-title').textContent = fmtWindow(w.start, state.windowMs);
  $('window-sub').textContent = seriesName(state.dimension, state.value) + ' · ' + num(w.count) + ' documents' +
    (w.meanSentiment === null ? '' : ' · mean sentiment ' + (w.meanSentiment >= 0 ? '+' : '') + w.meanSentiment.toFixed(2));
  const labels = state.series.labels;
  const bar = labels.filter((l) => (w.labelCounts[l] || 0) > 0).map((l) => {
    const seg = el('span', { class: 'seg', title: l + ': ' + pct(w.share[l]) });
    seg.style.flexGrow = String(w.labelCounts[l]);
    seg.style.background = labelColor(l);
    return seg;
  });
  $('mix-bar').replaceChildren(...bar);
  $('mix-table').replaceChildren(...labels.map((l) => {
    const sw = el('span', { class: 'swatch' });
    sw.style.background = labelColor(l);
    return el('tr', { 'data-label': l, 'data-count': w.labelCounts[l] || 0 },
      el('td', {}, sw, l), el('td', { class: 'num' }, num(w.labelCounts[l] || 0)), el('td', { class: 'num' }, pct(w.share[l])));
  }));
  const filter = (label, text) => {
    const b = el('button', { type: 'button', class: 'chip' + (state.labelFilter === label ? ' active' : ''), 'data-label': label === null ? '' : label }, text);
    b.addEventListener('click', () => { state.labelFilter = label; renderWindowPanel(); });
    return b;
  };
  $('label-filter').replaceChildren(filter(null, 'all labels'), ...labels.map((l) => filter(l, l)));
  loadTopTexts(w);
}

async function loadTopTexts(w) {
  const seq = ++state.textsSeq;
  const list = $('top-texts');
  try {
    const r = await getJson('/api/documents', {
      dimension: state.dimension, value: state.value, from: w.start, to: w.start + state.windowMs, label: state.labelFilter, limit: 8,
    });
    if (seq !== state.textsSeq) return;
    list.dataset.start = String(w.start);
    if (r.documents.length === 0) {
      list.replaceChildren(el('li', { class: 'empty muted' }, 'No documents in this window' + (state.labelFilter ? ' labelled ' + state.labelFilter : '') + '.'));
      return;
    }
    list.replaceChildren(...r.documents.map((d) => {
      const chip = el('span', { class: 'chip label' }, d.label + ' ' + d.score.toFixed(2));
      chip.style.background = labelColor(d.label);
      const ents = d.entities.length > 0 ? ' · ' + d.entities.map((e) => e.text).join(', ') : '';
      return el('li', { class: 'doc', 'data-id': d.id, 'data-label': d.label },
        el('div', { class: 'doc-text' }, d.text),
        el('div', { class: 'meta' }, chip, ' ' + d.source + ' · ' + fmtTime(d.timestamp) + ents));
    }));
  } catch (e) {
    if (seq === state.textsSeq) list.replaceChildren(el('li', { class: 'error' }, 'The texts could not be loaded: ' + e.message));
  }
}

// Live updates

function scheduleRefresh() {
  if (state.refreshTimer !== null) return;
  state.refreshTimer = setTimeout(async () => {
    state.refreshTimer = null;
    try {
      const s = await getJson('/api/summary');
      const first = state.summary.latestTimestamp === null;
      state.summary = s;
      setStatus(s.documentCount, s.latestTimestamp);
      if (first) { state.windowMs = pickWindow(); $('window').value = String(state.windowMs); }
      await loadValues();
      await loadSeries();
      showProblem('');
    } catch (e) {
      showProblem('The dashboard could not refresh: ' + e.message);
    }
  }, 250);
}

function connect() {
  const es = new EventSource('/api/events?afterId=' + state.maxAlertId);
  es.addEventListener('open', () => setLive(true, 'live'));
  es.addEventListener('error', () => setLive(false, es.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting…'));
  es.addEventListener('update', (ev) => {
    const u = JSON.parse(ev.data);
    if (state.summary && u.documentCount === state.summary.documentCount && u.latestTimestamp === state.summary.latestTimestamp) return;
    setStatus(u.documentCount, u.latestTimestamp);
    scheduleRefresh();
  });
  es.addEventListener('alert', (ev) => {
    const a = JSON.parse(ev.data);
    if (state.alerts.some((x) => x.id === a.id)) return;
    state.alerts.unshift(a);
    state.alerts.sort((x, y) => y.id - x.id);
    state.maxAlertId = Math.max(state.maxAlertId, a.id);
    state.freshAlerts.add(a.id);
    renderAlerts();
    redrawMarks();
  });
  es.addEventListener('problem', (ev) => showProblem(JSON.parse(ev.data).message));
}

// Start

async function init() {
  const s = await getJson('/api/summary');
  state.summary = s;
  setStatus(s.documentCount, s.latestTimestamp);
  $('dimension').replaceChildren(...s.dimensions.map((d) => el('option', { value: d }, d === 'all' ? 'all documents' : d)));
  $('window').replaceChildren(...s.windows.map((w) => el('option', { value: String(w.ms) }, w.name)));
  state.windowMs = pickWindow();
  $('window').value = String(state.windowMs);
  await loadValues();
  await loadAlerts();
  await loadSeries();
  connect();
  $('dimension').addEventListener('change', async () => {
    state.dimension = $('dimension').value;
    state.selected = null;
    try { await loadValues(); await loadSeries(); renderAlerts(); } catch (e) { showProblem(e.message); }
  });
  $('value').addEventListener('change', async () => {
    state.value = $('value').value;
    state.selected = null;
    try { await loadSeries(); renderAlerts(); } catch (e) { showProblem(e.message); }
  });
  $('window').addEventListener('change', async () => {
    const old = state.windowMs;
    state.windowMs = Number($('window').value);
    state.selected = state.selected === null ? null : Math.floor(state.selected / state.windowMs) * state.windowMs;
    try { await loadValues(); await loadSeries(); } catch (e) { state.windowMs = old; $('window').value = String(old); showProblem(e.message); }
  });
  new ResizeObserver(() => {
    for (const u of state.charts) if (u.width !== chartWidth()) u.setSize({ width: chartWidth(), height: u.height });
  }).observe($('charts'));
  document.body.dataset.ready = 'true';
}

init().catch((e) => showProblem('The dashboard could not start: ' + e.message));
`;
