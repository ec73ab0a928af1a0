/** The learning curve as a self-contained SVG: training loss and evaluation loss by step, and evaluation metrics on a second panel. */

/** One series of (step, value) points. */
interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly [number, number][];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function niceNumber(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1000 || a < 0.01 ? v.toExponential(1) : String(Number(v.toPrecision(3)));
}

function panel(series: readonly Series[], x0: number, y0: number, w: number, h: number, title: string, maxStep: number): string {
  const all = series.flatMap((s) => s.points).filter(([, v]) => Number.isFinite(v));
  if (all.length === 0) return '';
  let lo = Math.min(...all.map(([, v]) => v));
  let hi = Math.max(...all.map(([, v]) => v));
  if (hi === lo) {
    hi += 0.5;
    lo -= 0.5;
  }
  const px = (step: number) => x0 + (maxStep > 0 ? (step / maxStep) * w : 0);
  const py = (v: number) => y0 + h - ((v - lo) / (hi - lo)) * h;
  const parts: string[] = [];
  parts.push(`<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#999"/>`);
  parts.push(`<text x="${x0}" y="${y0 - 8}" font-size="13" font-weight="bold">${escapeXml(title)}</text>`);
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    const y = py(v);
    parts.push(`<line x1="${x0}" y1="${y.toFixed(1)}" x2="${x0 + w}" y2="${y.toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${x0 - 6}" y="${(y + 4).toFixed(1)}" font-size="10" text-anchor="end">${niceNumber(v)}</text>`);
  }
  for (let i = 0; i <= 4; i++) {
    const step = Math.round((maxStep * i) / 4);
    parts.push(`<text x="${px(step).toFixed(1)}" y="${y0 + h + 14}" font-size="10" text-anchor="middle">${step}</text>`);
  }
  series.forEach((s, i) => {
    const pts = s.points.filter(([, v]) => Number.isFinite(v));
    if (pts.length === 0) return;
    const d = pts.map(([x, v]) => `${px(x).toFixed(1)},${py(v).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${d}" fill="none" stroke="${s.color}" stroke-width="1.6"/>`);
    if (pts.length < 40) for (const [x, v] of pts) parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(v).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
    const ly = y0 + 14 + i * 14;
    parts.push(`<line x1="${x0 + w - 140}" y1="${ly - 4}" x2="${x0 + w - 122}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"/>`);
    parts.push(`<text x="${x0 + w - 116}" y="${ly}" font-size="11">${escapeXml(s.name)}</text>`);
  });
  return parts.join('\n');
}

/**
 * Renders log records (as written to metrics.jsonl: `step` plus `loss`, or `eval_*` metrics) as an
 * SVG with two panels: losses, and evaluation metrics other than loss and timings.
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
  const maxStep = Math.max(1, ...history.map((r) => r.step ?? 0));
  const named = [...series].map(([name, points], i) => ({ name: name === 'loss' ? 'train loss' : name, color: COLORS[i % COLORS.length]!, points }));
  const losses = named.filter((s) => /loss$/.test(s.name));
  const metrics = named.filter((s) => !/loss$/.test(s.name));
  const W = 720;
  const panelH = 220;
  const height = metrics.length ? 2 * panelH + 120 : panelH + 70;
  const body = [
    panel(losses, 60, 30, W - 90, panelH, 'loss', maxStep),
    metrics.length ? panel(metrics, 60, panelH + 90, W - 90, panelH, 'evaluation metrics', maxStep) : '',
    `<text x="${W / 2}" y="${height - 6}" font-size="11" text-anchor="middle">optimizer step</text>`,
  ].join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${body}\n</svg>\n`;
}
