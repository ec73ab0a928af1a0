/** The learning curve as a self-contained SVG: training loss and evaluation loss by step, and evaluation metrics on a second panel. */

/** One series of (step, value) points. */
interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly [number, number][];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Round tick values covering [lo, hi]: about `count` ticks, spaced 1, 2 or 5 times a power of ten,
 * the first at or below `lo` and the last at or above `hi`.
 */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) {
    const pad = lo === 0 ? 0.5 : Math.abs(lo) * 0.1;
    return niceTicks(lo - pad, hi + pad, count);
  }
  const raw = (hi - lo) / Math.max(1, count - 1);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * power >= raw * 0.999) ?? 10) * power;
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const ticks: number[] = [];
  for (let k = first; k <= last; k++) ticks.push(Number((k * step).toPrecision(12)));
  return ticks;
}

/** A tick label: as many decimals as the tick spacing needs, no more. */
function tickLabel(v: number, step: number): string {
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return v.toFixed(Math.min(decimals, 6));
}

const LEGEND_WIDTH = 190;

function panel(series: readonly Series[], x0: number, y0: number, w: number, h: number, title: string, maxStep: number, range?: [number, number]): string {
  const all = series.flatMap((s) => s.points).filter(([, v]) => Number.isFinite(v));
  if (all.length === 0) return '';
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const [, v] of all) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (range) {
    lo = Math.max(range[0], lo);
    hi = Math.min(range[1], hi);
  }
  let yTicks = niceTicks(lo, hi, 5);
  if (range) yTicks = yTicks.filter((t) => t >= range[0] - 1e-9 && t <= range[1] + 1e-9);
  if (yTicks.length < 2) yTicks = niceTicks(lo, hi, 5);
  const yLo = yTicks[0]!;
  const yHi = yTicks.at(-1)!;
  const yStep = yTicks.length > 1 ? yTicks[1]! - yTicks[0]! : 1;
  const xHi = Math.max(1, maxStep);
  const xTicks = niceTicks(0, xHi, 6).filter((t) => Number.isInteger(t) && t <= xHi);
  const px = (step: number) => x0 + (step / xHi) * w;
  const py = (v: number) => y0 + h - ((v - yLo) / (yHi - yLo)) * h;
  const parts: string[] = [];
  parts.push(`<text x="${x0}" y="${y0 - 8}" font-size="13" font-weight="bold">${escapeXml(title)}</text>`);
  for (const v of yTicks) {
    const y = py(v).toFixed(1);
    parts.push(`<line x1="${x0}" y1="${y}" x2="${x0 + w}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<text x="${x0 - 6}" y="${(Number(y) + 4).toFixed(1)}" font-size="10" text-anchor="end">${tickLabel(v, yStep)}</text>`);
  }
  const xStep = xTicks.length > 1 ? xTicks[1]! - xTicks[0]! : 1;
  for (const step of xTicks) {
    const x = px(step).toFixed(1);
    parts.push(`<line x1="${x}" y1="${y0 + h}" x2="${x}" y2="${y0 + h + 4}" stroke="#999"/>`);
    parts.push(`<text x="${x}" y="${y0 + h + 16}" font-size="10" text-anchor="middle">${tickLabel(step, xStep)}</text>`);
  }
  parts.push(`<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#999"/>`);
  series.forEach((s, i) => {
    const pts = s.points.filter(([, v]) => Number.isFinite(v));
    if (pts.length === 0) return;
    const d = pts.map(([x, v]) => `${px(x).toFixed(1)},${py(v).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${d}" fill="none" stroke="${s.color}" stroke-width="1.6"/>`);
    if (pts.length < 40) for (const [x, v] of pts) parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(v).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
    // The legend sits to the right of the plot area, never over the lines.
    const lx = x0 + w + 16;
    const ly = y0 + 10 + i * 16;
    parts.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 18}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"/>`);
    parts.push(`<text x="${lx + 24}" y="${ly}" font-size="11">${escapeXml(s.name)}</text>`);
  });
  return parts.join('\n');
}

/** Whether two series have the same points (a loss logged under two names, e.g. eval_loss and eval_mlm_loss without NSP). */
function samePoints(a: readonly [number, number][], b: readonly [number, number][]): boolean {
  return a.length === b.length && a.every(([x, v], i) => x === b[i]![0] && Math.abs(v - b[i]![1]) <= 1e-9 * Math.max(1, Math.abs(v)));
}

/** Metrics that are counts or sizes, not rates: never drawn on the 0-1 axis. */
const COUNT_METRIC = /(^|_)(masked_tokens|tokens|examples|samples|count|steps?)$/;

/**
 * Renders log records (as written to metrics.jsonl: `step` plus `loss`, or `eval_*` metrics) as an
 * SVG with two panels: the losses (each once: a loss logged under two names with the same values
 * is drawn once), and the evaluation metrics that are rates in [0, 1] (accuracy, F1, ...; counts
 * such as `eval_masked_tokens`, timings and throughput are left out). Legends sit beside the plot
 * areas; ticks fall on round values (1, 2 or 5 times a power of ten).
 */
export function learningCurveSvg(history: readonly Readonly<Record<string, number>>[]): string {
  const series = new Map<string, [number, number][]>();
  for (const r of history) {
    const step = r.step ?? 0;
    for (const [k, v] of Object.entries(r)) {
      if (k !== 'loss' && !k.startsWith('eval_')) continue;
      if (/runtime|per_second/.test(k)) continue;
      if (!series.has(k)) series.set(k, []);
      series.get(k)!.push([step, v]);
    }
  }
  const maxStep = history.reduce((m, r) => Math.max(m, r.step ?? 0), 1);
  const lossSeries: [string, [number, number][]][] = [];
  const rateSeries: [string, [number, number][]][] = [];
  for (const [name, points] of series) {
    if (/loss$/.test(name)) {
      if (!lossSeries.some(([, p]) => samePoints(p, points))) lossSeries.push([name, points]);
    } else if (!COUNT_METRIC.test(name) && points.every(([, v]) => !Number.isFinite(v) || (v >= 0 && v <= 1))) {
      rateSeries.push([name, points]);
    }
  }
  const named = (list: [string, [number, number][]][], offset: number): Series[] =>
    list.map(([name, points], i) => ({ name: name === 'loss' ? 'train loss' : name, color: COLORS[(i + offset) % COLORS.length]!, points }));
  const losses = named(lossSeries, 0);
  const metrics = named(rateSeries, lossSeries.length);
  const plotW = 560;
  const W = 60 + plotW + 16 + LEGEND_WIDTH;
  const panelH = 220;
  const height = metrics.length ? 2 * panelH + 130 : panelH + 80;
  const body = [
    panel(losses, 60, 30, plotW, panelH, 'loss', maxStep),
    metrics.length ? panel(metrics, 60, panelH + 90, plotW, panelH, 'evaluation metrics', maxStep, [0, 1]) : '',
    `<text x="${60 + plotW / 2}" y="${height - 8}" font-size="11" text-anchor="middle">optimizer step</text>`,
  ].join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${body}\n</svg>\n`;
}
