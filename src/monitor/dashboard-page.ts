/**
 * The monitor's dashboard at `/`: one HTML document with its style and script inline (allowed by
 * hash in the Content-Security-Policy) and uPlot from the service's own `/assets/`; nothing from
 * elsewhere. It shows a series' volume and label shares per window with the alerts marked, the
 * alert list, and the label mix and top texts of the window clicked, updated live from
 * `/api/events`.
 */
import { createHash } from 'node:crypto';
import { DASHBOARD_SCRIPT } from './dashboard-client.js';

const STYLE = `
:root { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 14px; color: #1d2330; background: #f3f5f8; }
body { margin: 0; }
header { display: flex; align-items: baseline; justify-content: space-between; gap: 1rem; padding: .75rem 1.5rem; background: #fff; border-bottom: 1px solid #e2e6ed; }
h1 { font-size: 1.2rem; margin: 0; }
#status { color: #5b6475; }
#status strong { color: #1d2330; }
.live { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: .8rem; margin-left: .4rem; }
.live.on { background: #e3f4ea; color: #1e7a45; }
.live.on::before { content: "● "; }
.live.off { background: #f1f2f5; color: #5b6475; }
.controls { display: flex; flex-wrap: wrap; gap: 1.2rem; align-items: center; padding: .7rem 1.5rem; }
.controls label { color: #5b6475; display: flex; gap: .4rem; align-items: center; }
select { font: inherit; color: #1d2330; padding: .3rem .4rem; border: 1px solid #c8cdd6; border-radius: 6px; background: #fff; max-width: 18rem; }
.hint { color: #5b6475; font-size: .85rem; margin-left: auto; }
#problem { margin: 0 1.5rem .7rem; padding: .5rem .8rem; border-radius: 6px; background: #fdecea; color: #8c1d18; }
main { display: grid; grid-template-columns: minmax(0, 1fr) 370px; gap: 1rem; padding: 0 1.5rem 1.5rem; }
.card { background: #fff; border-radius: 8px; box-shadow: 0 1px 3px #0000001f; padding: .8rem 1rem; min-width: 0; }
.card h2 { font-size: .95rem; margin: 0 0 .3rem; display: flex; gap: .5rem; align-items: baseline; }
.card h2 .muted { font-weight: normal; }
.chart { margin-bottom: .6rem; }
#chart-message { padding: 2rem 0; }
.u-legend { font-size: .8rem; }
.u-over { cursor: pointer; }
.alert-marker { position: absolute; top: 0; bottom: 0; pointer-events: none; border-left: 2px solid; border-right: 2px solid; }
.alert-marker.sev-high { background: #d32f2f24; border-color: #d32f2f; }
.alert-marker.sev-medium { background: #ef8a0024; border-color: #ef8a00; }
.alert-marker.sev-low { background: #d9b30024; border-color: #d9b300; }
.selected-window { position: absolute; top: 0; bottom: 0; pointer-events: none; background: #1d233014; outline: 1px dashed #1d233080; }
aside.alerts { display: flex; flex-direction: column; contain: size; min-height: 20rem; }
#alert-list { list-style: none; margin: 0; padding: 0; overflow-y: auto; flex: 1 1 0; min-height: 0; }
.alert { display: flex; gap: .6rem; padding: .55rem .3rem; border-bottom: 1px solid #eef0f4; cursor: pointer; }
.alert:hover, .alert:focus { background: #f6f8fb; outline: none; }
.alert.current { background: #f3f6fd; }
.alert.fresh { animation: flash 2s ease-out; }
@keyframes flash { from { background: #fff3c4; } to { background: transparent; } }
.alert-what { margin-bottom: .1rem; }
.sev { flex: none; align-self: flex-start; width: 4.2rem; text-align: center; font-size: .75rem; font-weight: 600; text-transform: uppercase; padding: .1rem 0; border-radius: 4px; color: #fff; }
.sev-high { background: #d32f2f; }
.sev-medium { background: #ef8a00; }
.sev-low { background: #d9b300; color: #3a3000; }
#window-panel { grid-column: 1 / -1; display: grid; grid-template-columns: 330px minmax(0, 1fr); gap: 1.5rem; }
#window-sub { color: #5b6475; margin: 0 0 .7rem; }
#mix-bar { display: flex; height: 18px; border-radius: 4px; overflow: hidden; background: #eef0f4; margin-bottom: .6rem; }
#mix-bar .seg { display: block; min-width: 2px; }
table { border-collapse: collapse; width: 100%; }
td { padding: .25rem .3rem; border-bottom: 1px solid #eef0f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.swatch { display: inline-block; width: .7rem; height: .7rem; border-radius: 2px; margin-right: .45rem; vertical-align: -1px; }
#label-filter { display: flex; flex-wrap: wrap; gap: .35rem; margin-bottom: .5rem; }
button.chip { font: inherit; font-size: .8rem; padding: .15rem .6rem; border: 1px solid #c8cdd6; border-radius: 999px; background: #fff; color: #1d2330; cursor: pointer; }
button.chip.active { background: #1d2330; border-color: #1d2330; color: #fff; }
#top-texts { list-style: none; margin: 0; padding: 0; }
.doc { padding: .5rem 0; border-bottom: 1px solid #eef0f4; }
.doc-text { display: -webkit-box; -webkit-line-clamp: 3; -webkit-box-orient: vertical; overflow: hidden; line-height: 1.35; }
.meta { font-size: .8rem; color: #5b6475; margin-top: .2rem; }
.chip.label { display: inline-block; color: #fff; font-size: .75rem; padding: 0 .4rem; border-radius: 4px; }
.muted { color: #5b6475; }
.empty { padding: .6rem 0; }
.error { color: #b3261e; }
@media (max-width: 1000px) { main { grid-template-columns: minmax(0, 1fr); } aside.alerts { contain: none; max-height: 24rem; } #window-panel { grid-template-columns: minmax(0, 1fr); } }
`;

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The dashboard page and the Content-Security-Policy that allows exactly its inline style and script and the service's own assets. */
export function dashboardPageHtml(opts: { title: string }): { html: string; csp: string } {
  const title = escapeHtml(opts.title);
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/uplot.css">
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>${title}</h1>
  <div id="status"><strong id="doc-count">…</strong> documents · latest <span id="latest">…</span><span id="live" class="live off">connecting…</span></div>
</header>
<div class="controls">
  <label>Dimension <select id="dimension" aria-label="Dimension"></select></label>
  <label>Series <select id="value" aria-label="Series"></select></label>
  <label>Window <select id="window" aria-label="Window length"></select></label>
  <span class="hint">Click a window on a chart for its label mix and top texts; click an alert to open it.</span>
</div>
<div id="problem" role="alert" hidden></div>
<main>
  <section class="card" id="charts">
    <h2>Volume <span class="muted" id="series-name"></span></h2>
    <div id="chart-message" class="muted" hidden></div>
    <div id="volume-chart" class="chart"></div>
    <h2>Label shares</h2>
    <div id="share-chart" class="chart"></div>
  </section>
  <aside class="card alerts">
    <h2>Alerts <span class="muted" id="alert-count"></span></h2>
    <ol id="alert-list" aria-live="polite"></ol>
  </aside>
  <section class="card" id="window-panel">
    <div>
      <h2 id="window-title">Click a window on the chart</h2>
      <p id="window-sub"></p>
      <div id="mix-bar" aria-hidden="true"></div>
      <table><tbody id="mix-table"></tbody></table>
    </div>
    <div>
      <h2>Top texts <span class="muted">most confident first</span></h2>
      <div id="label-filter"></div>
      <ol id="top-texts"></ol>
    </div>
  </section>
</main>
<script src="/assets/uplot.js"></script>
<script>${DASHBOARD_SCRIPT}</script>
</body>
</html>
`;
  const csp = [
    "default-src 'none'",
    "connect-src 'self'",
    "img-src 'self' data:",
    `style-src 'self' 'sha256-${sha256(STYLE)}'`,
    `script-src 'self' 'sha256-${sha256(DASHBOARD_SCRIPT)}'`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, csp };
}
