/**
 * A series with its detections and labelled windows as one SVG document (pure string building;
 * `svgToPng` in ./png.ts rasterises it). Drawn for an on-call reader: the series as a line
 * (breaking at gaps), each detection episode as a red band with a ▼ where it paged, labelled
 * windows as green bands behind everything, an optional grey band (e.g. a learning period), UTC
 * time ticks, value ticks, a title, a subtitle and a legend.
 */
import { shortTime, timeTicks, valueTicks } from './plot-axes.js';

/** A time span in Unix seconds, both ends inclusive. */
export interface PlotSpan { start: number; end: number }

export interface SeriesPlotInput {
  title: string;
  /** A second line under the title (e.g. the scores). */
  subtitle?: string;
  /** Unix seconds, ascending; NaN values are gaps. */
  times: readonly number[];
  values: readonly number[];
  /** Detection episodes (drawn as red bands). */
  detections: readonly PlotSpan[];
  /** When the detections paged (▼ on the top edge); default: each episode's start. */
  pages?: readonly number[];
  /** Labelled windows (green bands). */
  windows?: readonly PlotSpan[];
  /** A grey span with its label, e.g. NAB's probationary period. */
  muted?: PlotSpan & { label: string };
  /** A time gap longer than this breaks the line (default 5 × the median spacing). */
  maxGapSeconds?: number;
  width?: number;
  height?: number;
}

export const PLOT_COLOURS = { line: '#1f4e79', detection: '#d62728', window: '#2ca02c', muted: '#9e9e9e', grid: '#e6e6e6', text: '#333333' } as const;
const FONT = "font-family=\"DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif\"";
const MARGIN = { left: 64, right: 20, top: 62, bottom: 44 };

/** The SVG document. */
export function seriesPlotSvg(p: SeriesPlotInput): string {
  const width = p.width ?? 1200;
  const height = p.height ?? 420;
  const plot = { x: MARGIN.left, y: MARGIN.top, w: width - MARGIN.left - MARGIN.right, h: height - MARGIN.top - MARGIN.bottom };
  const finite = p.values.filter(Number.isFinite);
  const t0 = p.times[0] ?? 0;
  const t1 = Math.max(p.times[p.times.length - 1] ?? 1, t0 + 1);
  let lo = finite.length ? Math.min(...finiteSample(finite, 'min')) : 0;
  let hi = finite.length ? Math.max(...finiteSample(finite, 'max')) : 1;
  if (hi === lo) { hi += Math.abs(hi) * 0.1 || 1; lo -= Math.abs(lo) * 0.1 || 1; }
  const pad = (hi - lo) * 0.05;
  lo -= pad;
  hi += pad;
  const x = (t: number) => plot.x + ((t - t0) / (t1 - t0)) * plot.w;
  const y = (v: number) => plot.y + plot.h - ((v - lo) / (hi - lo)) * plot.h;
  const clampX = (t: number) => Math.min(plot.x + plot.w, Math.max(plot.x, x(t)));
  const band = (s: PlotSpan, cls: string, fill: string, opacity: number) => {
    const left = clampX(s.start);
    const w = Math.max(2, clampX(s.end) - left);
    return `<rect class="${cls}" x="${f(left)}" y="${plot.y}" width="${f(w)}" height="${plot.h}" fill="${fill}" fill-opacity="${opacity}"/>`;
  };
  const visible = (s: PlotSpan) => s.end >= t0 && s.start <= t1;

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`);
  parts.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  parts.push(`<text x="${MARGIN.left}" y="24" font-size="17" font-weight="bold" fill="${PLOT_COLOURS.text}">${esc(p.title)}</text>`);
  if (p.subtitle) parts.push(`<text x="${MARGIN.left}" y="44" font-size="12.5" fill="#555555">${esc(p.subtitle)}</text>`);

  // Grid and value axis.
  for (const tick of valueTicks(lo, hi)) {
    const ty = y(tick.at);
    if (ty < plot.y - 0.5 || ty > plot.y + plot.h + 0.5) continue;
    parts.push(`<line x1="${plot.x}" x2="${plot.x + plot.w}" y1="${f(ty)}" y2="${f(ty)}" stroke="${PLOT_COLOURS.grid}"/>`);
    parts.push(`<text x="${plot.x - 6}" y="${f(ty + 4)}" font-size="11" text-anchor="end" fill="${PLOT_COLOURS.text}">${esc(tick.label)}</text>`);
  }
  // Bands behind the line: muted, labelled windows, then detections.
  if (p.muted && visible(p.muted)) {
    parts.push(band(p.muted, 'muted', PLOT_COLOURS.muted, 0.18));
    parts.push(`<text x="${f(clampX(p.muted.start) + 4)}" y="${plot.y + plot.h - 6}" font-size="10.5" fill="#666666">${esc(p.muted.label)}</text>`);
  }
  for (const w of (p.windows ?? []).filter(visible)) {
    // Outlined, so a window stays visible where a detection band covers it.
    parts.push(band(w, 'window', PLOT_COLOURS.window, 0.22).replace('/>', ` stroke="${PLOT_COLOURS.window}" stroke-width="1.5"/>`));
  }
  for (const d of p.detections.filter(visible)) parts.push(band(d, 'detection', PLOT_COLOURS.detection, 0.28));

  parts.push(`<path class="series" d="${linePath(p, x, y)}" fill="none" stroke="${PLOT_COLOURS.line}" stroke-width="1.1" stroke-linejoin="round"/>`);

  // Pages: ▼ on the top edge.
  const pages = (p.pages ?? p.detections.map((d) => d.start)).filter((t) => t >= t0 && t <= t1);
  for (const t of pages) {
    const px = x(t);
    parts.push(`<path class="page" d="M${f(px - 5)},${plot.y - 9}L${f(px + 5)},${plot.y - 9}L${f(px)},${plot.y - 1}Z" fill="${PLOT_COLOURS.detection}"/>`);
  }
  // Frame and time axis.
  parts.push(`<rect x="${plot.x}" y="${plot.y}" width="${plot.w}" height="${plot.h}" fill="none" stroke="#999999"/>`);
  for (const tick of timeTicks(t0, t1, Math.max(3, Math.floor(plot.w / 130)))) {
    const tx = x(tick.at);
    parts.push(`<line x1="${f(tx)}" x2="${f(tx)}" y1="${plot.y + plot.h}" y2="${plot.y + plot.h + 5}" stroke="#999999"/>`);
    parts.push(`<text x="${f(tx)}" y="${plot.y + plot.h + 18}" font-size="11" text-anchor="middle" fill="${PLOT_COLOURS.text}">${esc(tick.label)}</text>`);
  }
  parts.push(`<text x="${plot.x + plot.w}" y="${height - 6}" font-size="10.5" text-anchor="end" fill="#666666">UTC · ${esc(shortTime(t0))} → ${esc(shortTime(t1))}</text>`);
  parts.push(legend(width - MARGIN.right, 24, Boolean(p.windows?.length)));
  parts.push('</svg>');
  return parts.join('\n');
}

function legend(right: number, top: number, withWindows: boolean): string {
  const items: Array<{ label: string; swatch: (x: number, y: number) => string }> = [
    { label: 'series', swatch: (x, y) => `<line x1="${x}" x2="${x + 18}" y1="${y}" y2="${y}" stroke="${PLOT_COLOURS.line}" stroke-width="2"/>` },
    { label: 'detection episode', swatch: (x, y) => `<rect x="${x}" y="${y - 6}" width="18" height="12" fill="${PLOT_COLOURS.detection}" fill-opacity="0.28"/>` },
    { label: 'page', swatch: (x, y) => `<path d="M${x + 4},${y - 5}L${x + 14},${y - 5}L${x + 9},${y + 4}Z" fill="${PLOT_COLOURS.detection}"/>` },
  ];
  if (withWindows) items.push({ label: 'labelled window', swatch: (x, y) => `<rect x="${x}" y="${y - 6}" width="18" height="12" fill="${PLOT_COLOURS.window}" fill-opacity="0.22" stroke="${PLOT_COLOURS.window}" stroke-width="1.5"/>` });
  const widths = items.map((i) => 26 + i.label.length * 6.6 + 14);
  let x = right - widths.reduce((a, b) => a + b, 0);
  const out = ['<g class="legend">'];
  items.forEach((item, i) => {
    out.push(item.swatch(x, top - 4));
    out.push(`<text x="${f(x + 24)}" y="${top}" font-size="11.5" fill="${PLOT_COLOURS.text}">${esc(item.label)}</text>`);
    x += widths[i]!;
  });
  out.push('</g>');
  return out.join('');
}

/**
 * The line's path: one subpath per run without gaps; with more points than ~2 per pixel, each
 * pixel column keeps its first, lowest, highest and last point (so spikes survive).
 */
function linePath(p: SeriesPlotInput, x: (t: number) => number, y: (v: number) => number): string {
  const maxGap = p.maxGapSeconds ?? 5 * medianSpacing(p.times);
  const out: string[] = [];
  let column = Number.NaN;
  let bucket: Array<[number, number]> = [];
  let lastT = Number.NaN;
  let penDown = false;
  const flush = () => {
    if (!bucket.length) return;
    const first = bucket[0]!;
    const last = bucket[bucket.length - 1]!;
    let low = first;
    let high = first;
    for (const pt of bucket) {
      if (pt[1] < low[1]) low = pt;
      if (pt[1] > high[1]) high = pt;
    }
    const keep = bucket.length <= 4 ? bucket : [first, ...(low[0] <= high[0] ? [low, high] : [high, low]), last];
    for (const [t, v] of keep) {
      out.push(`${penDown ? 'L' : 'M'}${f(x(t))},${f(y(v))}`);
      penDown = true;
    }
    bucket = [];
  };
  for (let i = 0; i < p.times.length; i++) {
    const t = p.times[i]!;
    const v = p.values[i]!;
    if (!Number.isFinite(v) || (Number.isFinite(lastT) && t - lastT > maxGap)) {
      flush();
      penDown = false;
      if (!Number.isFinite(v)) { lastT = Number.NaN; continue; }
    }
    const col = Math.floor(x(t));
    if (col !== column) { flush(); column = col; }
    bucket.push([t, v]);
    lastT = t;
  }
  flush();
  return out.join('');
}

function medianSpacing(times: readonly number[]): number {
  const d: number[] = [];
  for (let i = 1; i < times.length; i++) if (times[i]! > times[i - 1]!) d.push(times[i]! - times[i - 1]!);
  if (!d.length) return Infinity;
  d.sort((a, b) => a - b);
  return d[d.length >> 1]!;
}

/** Math.min/max over many numbers without spreading 100k arguments. */
function finiteSample(xs: readonly number[], which: 'min' | 'max'): number[] {
  let best = xs[0]!;
  for (const v of xs) if (which === 'min' ? v < best : v > best) best = v;
  return [best];
}

const f = (n: number) => (Math.round(n * 10) / 10).toString();

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
