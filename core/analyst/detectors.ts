import {
  DETECTOR_DEFAULTS,
  DetectSettingsSchema,
  type DetectSettings,
  type DetectorSettings,
  type Direction,
  type EwmaSettings,
  type RobustZSettings,
  type StaticSettings,
} from '../schemas/detectors.js';
import { episodesFromFlags, type Episode, type RawEpisode } from './episodes.js';
import { runFusion, type FusionCandidate } from './fusion.js';
import { regularise, type Point, type RegularSeries } from './series.js';
import { SortedWindow, sortedMedian } from './sorted-window.js';

/**
 * The Analyst's anomaly detectors (issue 7). Pure functions over a regular series (any step;
 * NaN = missing point), hand-written rather than taken from a library, unit-tested in
 * test/analyst/detectors.test.ts and measured by `npm run bench:detect`.
 *
 * - robust z-score: (x − median) / (1.4826 · MAD) over a trailing window of earlier points; with
 *   `seasonal: daily` the same-minute-of-day median of previous days is subtracted first.
 * - EWMA band: exponentially weighted mean and variance; a point outside mean ± band · sd is
 *   anomalous (the update uses the point clipped to the band, so one spike does not drag it).
 * - static thresholds: `above` / `below`.
 * Every detector is causal (a point's score uses only earlier points), so two processes that
 * read the same data agree on where an episode starts. A detector fires after `consecutive`
 * anomalous points in a row (same sign; gaps up to `max_gap` are skipped) and its episode ends
 * after `clear` normal points in a row.
 */

export type { Direction, DetectSettings, DetectorSettings } from '../schemas/detectors.js';
export type { Episode } from './episodes.js';

export interface DetectorOutput {
  name: string;
  kind: DetectorSettings['kind'];
  /** Per point: the score (z for robust_z/ewma, the value for static); NaN when not scored. */
  scores: number[];
  /** Per point: anomalous or not; null when the point is missing or could not be scored. */
  flags: Array<boolean | null>;
  episodes: Episode[];
  /** Fusion only: every candidate episode with its members' scores and verdict (paged, learning, suppressed). */
  candidates?: Array<Omit<FusionCandidate, 'raw' | 'firedIndex' | 'joinedIndex'> & { fired_at: number; joined?: number; start: number; direction: 'up' | 'down' }>;
  /** Fusion only: per member, normalised scores per point (1 = its threshold). */
  members?: Partial<Record<string, number[]>>;
}

export interface Detection {
  start: number;
  step: number;
  values: number[];
  direction: Direction;
  detectors: DetectorOutput[];
  /** Every detector's episodes, ordered by `fired_at` (then detector order). */
  episodes: Episode[];
}

/** A point flagged by at least one detector. */
export interface AnomalousPoint {
  t: number;
  value: number;
  detectors: Array<{ name: string; score: number }>;
}

/** Largest |score| reported (a zero scale would otherwise give infinities). */
const SCORE_CAP = 1e9;

/** Run every configured detector over `input` (points are regularised first, step inferred). */
export function detect(input: RegularSeries | readonly Point[], settings: DetectSettings): Detection {
  const parsed = DetectSettingsSchema.parse(settings);
  const series = Array.isArray(input) ? regularise(input as readonly Point[]) : (input as RegularSeries);
  const names = detectorNames(parsed.detectors);
  const detectors = parsed.detectors.map((d, i) =>
    runDetector(series, d, names[i]!, parsed.direction, parsed.baseline_points));
  const episodes = detectors
    .flatMap((d, order) => d.episodes.map((e) => ({ e, order })))
    .sort((a, b) => a.e.fired_at - b.e.fired_at || a.order - b.order)
    .map(({ e }) => e);
  return { start: series.start, step: series.step, values: series.values, direction: parsed.direction, detectors, episodes };
}

/** Points flagged by any detector, in time order. */
export function anomalousPoints(d: Detection): AnomalousPoint[] {
  const out: AnomalousPoint[] = [];
  for (let i = 0; i < d.values.length; i++) {
    const hits = d.detectors.filter((x) => x.flags[i] === true).map((x) => ({ name: x.name, score: x.scores[i]! }));
    if (hits.length) out.push({ t: d.start + i * d.step, value: d.values[i]!, detectors: hits });
  }
  return out;
}

/** Names in findings: the configured name, else the kind (`robust_z`, `robust_z#2` when repeated). */
export function detectorNames(detectors: readonly DetectorSettings[]): string[] {
  const seen = new Map<string, number>();
  return detectors.map((d) => {
    const base = d.name ?? d.kind;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base}#${n}`;
  });
}

function runDetector(series: RegularSeries, d: DetectorSettings, name: string, direction: Direction, baselinePoints?: number): DetectorOutput {
  if (d.kind === 'fusion') return fusionOutput(series, d, name, direction, baselinePoints);
  let scores: number[];
  let flags: Array<boolean | null>;
  let weak: Array<boolean | null>;
  switch (d.kind) {
    case 'robust_z':
      scores = robustZScores(series, d, baselinePoints);
      flags = flagsFromScores(scores, d.threshold ?? DETECTOR_DEFAULTS.robust_z.threshold, direction);
      weak = flagsFromScores(scores, (d.threshold ?? DETECTOR_DEFAULTS.robust_z.threshold) * (d.continue_ratio ?? DETECTOR_DEFAULTS.continue_ratio), direction);
      break;
    case 'ewma':
      scores = ewmaScores(series.values, d, direction);
      flags = flagsFromScores(scores, d.band ?? DETECTOR_DEFAULTS.ewma.band, direction);
      weak = flagsFromScores(scores, (d.band ?? DETECTOR_DEFAULTS.ewma.band) * (d.continue_ratio ?? DETECTOR_DEFAULTS.continue_ratio), direction);
      break;
    case 'static':
      ({ scores, flags } = staticFlags(series.values, d));
      weak = flags;
      break;
  }
  const staticSettings = d.kind === 'static' ? d : null;
  const signOf = staticSettings ? staticSign(staticSettings, series.values) : (i: number) => (scores[i]! >= 0 ? 1 : -1);
  const peakOf = staticSettings ? staticExcess(staticSettings, series.values) : (i: number) => Math.abs(scores[i]!);
  const levels = flags.map((f, i): 0 | 1 | 2 | null => (f === null ? null : f ? 2 : weak[i] ? 1 : 0));
  const episodes = episodesFromFlags(series, levels, {
    consecutive: d.consecutive ?? DETECTOR_DEFAULTS.consecutive,
    clear: d.clear ?? d.consecutive ?? DETECTOR_DEFAULTS.consecutive,
    maxGap: d.max_gap ?? DETECTOR_DEFAULTS.max_gap,
    signOf,
    peakOf,
  }).map((e) => episodeOf(series, e, name, d.kind, scores));
  return { name, kind: d.kind, scores, flags, episodes };
}

function episodeOf(series: RegularSeries, e: RawEpisode, name: string, kind: DetectorSettings['kind'], scores: readonly number[]): Episode {
  const { peakIndex, ...rest } = e;
  return { detector: name, kind, ...rest, peak: { t: series.start + peakIndex * series.step, value: series.values[peakIndex]!, score: scores[peakIndex]! } };
}

/** The fusion detector's pages as episodes, with its candidates for `--explain`. */
function fusionOutput(series: RegularSeries, d: Extract<DetectorSettings, { kind: 'fusion' }>, name: string, direction: Direction, baselinePoints?: number): DetectorOutput {
  const r = runFusion(series, d, direction, baselinePoints);
  const at = (i: number) => series.start + i * series.step;
  return {
    name, kind: 'fusion', scores: r.scores, flags: r.flags, members: r.members,
    episodes: r.pages.map((e) => episodeOf(series, e, name, 'fusion', r.scores)),
    candidates: r.candidates.map((c) => ({
      verdict: c.verdict, fired_at: at(c.firedIndex), start: c.raw.start, direction: c.raw.direction, members: c.members,
      ...(c.joinedIndex !== undefined ? { joined: at(c.joinedIndex) } : {}),
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// Scores

/** Robust z-scores (NaN where the baseline has fewer than `min_points` valid points). */
export function robustZScores(series: RegularSeries, s: RobustZSettings, defaultBaseline?: number): number[] {
  const baseline = s.baseline_points ?? defaultBaseline ?? DETECTOR_DEFAULTS.robust_z.baseline_points;
  const minPoints = Math.min(s.min_points ?? DETECTOR_DEFAULTS.robust_z.min_points, baseline);
  const minScale = s.min_scale ?? 0;
  const input = (s.seasonal ?? 'none') === 'daily'
    ? seasonalResiduals(series, s.seasonal_days ?? DETECTOR_DEFAULTS.robust_z.seasonal_days, s.seasonal_window ?? DETECTOR_DEFAULTS.robust_z.seasonal_window)
    : series.values;
  const window = new SortedWindow();
  const scores = new Array<number>(input.length).fill(Number.NaN);
  for (let i = 0; i < input.length; i++) {
    if (i >= 1 && Number.isFinite(input[i - 1]!)) window.add(input[i - 1]!);
    const leaving = i - baseline - 1;
    if (leaving >= 0 && Number.isFinite(input[leaving]!)) window.remove(input[leaving]!);
    const x = input[i]!;
    if (!Number.isFinite(x) || window.size < minPoints) continue;
    const m = window.median();
    const scale = Math.max(1.4826 * window.mad(m), minScale);
    scores[i] = zOf(x - m, scale);
  }
  return scores;
}

/**
 * x minus the median of the same slot of the day (± `halfWidth` slots) on the previous `days`
 * days; NaN when fewer than 3 such points exist (e.g. during the first day).
 */
export function seasonalResiduals(series: RegularSeries, days: number, halfWidth: number): number[] {
  const period = Math.round(86_400 / series.step);
  const v = series.values;
  const out = new Array<number>(v.length).fill(Number.NaN);
  const samples: number[] = [];
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i]!)) continue;
    samples.length = 0;
    for (let d = 1; d <= days; d++) {
      const centre = i - d * period;
      if (centre + halfWidth < 0) break;
      for (let j = -halfWidth; j <= halfWidth; j++) {
        const k = centre + j;
        if (k >= 0 && Number.isFinite(v[k]!)) samples.push(v[k]!);
      }
    }
    if (samples.length < 3) continue;
    samples.sort((a, b) => a - b);
    out[i] = v[i]! - sortedMedian(samples);
  }
  return out;
}

/** EWMA band scores: (x − mean) / sd of the state before x; NaN during warm-up and for gaps. */
export function ewmaScores(values: readonly number[], s: EwmaSettings, direction: Direction = 'both'): number[] {
  const alpha = s.alpha ?? DETECTOR_DEFAULTS.ewma.alpha;
  const band = s.band ?? DETECTOR_DEFAULTS.ewma.band;
  const warmup = s.warmup ?? DETECTOR_DEFAULTS.ewma.warmup;
  const minScale = s.min_scale ?? 0;
  const scores = new Array<number>(values.length).fill(Number.NaN);
  const first: number[] = [];
  let mean = Number.NaN;
  let variance = Number.NaN;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (!Number.isFinite(x)) continue;
    if (first.length < warmup) {
      first.push(x);
      if (first.length === warmup) {
        const sorted = [...first].sort((a, b) => a - b);
        mean = sortedMedian(sorted);
        const sd = 1.4826 * sortedMedian(sorted.map((y) => Math.abs(y - mean)).sort((a, b) => a - b));
        variance = sd * sd;
      }
      continue;
    }
    const sd = Math.max(Math.sqrt(variance), minScale);
    const z = zOf(x - mean, sd);
    scores[i] = z;
    // Clip to the band on the anomalous side(s) before updating, so outliers do not teach the band.
    const lo = direction === 'up' ? -Infinity : mean - band * sd;
    const hi = direction === 'down' ? Infinity : mean + band * sd;
    const clipped = sd > 0 ? Math.min(Math.max(x, lo), hi) : x;
    const diff = clipped - mean;
    mean += alpha * diff;
    variance = (1 - alpha) * (variance + alpha * diff * diff);
  }
  return scores;
}

function staticFlags(values: readonly number[], s: StaticSettings): { scores: number[]; flags: Array<boolean | null> } {
  const scores = values.map((x) => (Number.isFinite(x) ? x : Number.NaN));
  const flags = values.map((x) => {
    if (!Number.isFinite(x)) return null;
    return (s.above !== undefined && x > s.above) || (s.below !== undefined && x < s.below);
  });
  return { scores, flags };
}

function staticSign(s: StaticSettings, values: readonly number[]): (i: number) => 1 | -1 {
  return (i) => (s.above !== undefined && values[i]! > s.above ? 1 : -1);
}

function staticExcess(s: StaticSettings, values: readonly number[]): (i: number) => number {
  return (i) => {
    const x = values[i]!;
    return Math.max(s.above !== undefined ? x - s.above : -Infinity, s.below !== undefined ? s.below - x : -Infinity);
  };
}

function zOf(diff: number, scale: number): number {
  if (scale > 0) return Math.max(-SCORE_CAP, Math.min(SCORE_CAP, diff / scale));
  if (diff === 0) return 0;
  return diff > 0 ? SCORE_CAP : -SCORE_CAP;
}

/** Anomalous per direction: up = score > threshold, down = score < −threshold, both = |score| > threshold. */
export function flagsFromScores(scores: readonly number[], threshold: number, direction: Direction): Array<boolean | null> {
  return scores.map((z) => {
    if (!Number.isFinite(z)) return null;
    if (direction === 'up') return z > threshold;
    if (direction === 'down') return z < -threshold;
    return Math.abs(z) > threshold;
  });
}
