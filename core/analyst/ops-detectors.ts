import { SortedWindow, sortedMedian } from './sorted-window.js';

/**
 * The small detectors the fusion detector combines (issue 16). Pure functions over a series of
 * values on a regular grid (NaN = missing); every output at index i uses only points ≤ i (the
 * baseline statistics only points < i), so detection stays causal.
 *
 * - `seasonalExpectation`: the same-time median over previous periods, skipping periods with no
 *   data at that time (a missing day) and robust to one odd period (a holiday) by the median.
 * - `trailingStats`: median and robust scale of a trailing window.
 * - `robustZ`: the residual standardised by the trailing median and a floored scale (spike).
 * - `cusum`: two-sided CUSUM of the clipped z (level shift / change point).
 * - `driftScores`: recent median against a long-run reference before it (slow drift).
 */

/** (P75 − P25) / 1.349 estimates σ for normal noise (O(1) on a sorted window, unlike the MAD); (P90 − P10) / 2.563 likewise. */
const IQR_TO_SIGMA = 1 / 1.349;
const IDR_TO_SIGMA = 1 / 2.563;

/**
 * Expected value of each point from the same time on previous periods: for up to `periods`
 * previous periods that have data within ± `halfWidth` points of the same time (looking back at
 * most 2 × `periods`, so missing days are skipped), the median of each period's points; the
 * expectation is the median of those (NaN with fewer than 3 periods).
 */
export function seasonalExpectation(values: readonly number[], period: number, periods: number, halfWidth: number): number[] {
  return seasonalScan(values, period, periods, halfWidth).expected;
}

/**
 * seasonalExpectation's values and, per point, the earliest index its scan read (`reach`): a run
 * over values from index f on gives the same expectation at i exactly when f ≤ reach[i].
 */
export function seasonalScan(values: readonly number[], period: number, periods: number, halfWidth: number): { expected: number[]; reach: number[] } {
  const expected = new Array<number>(values.length).fill(Number.NaN);
  const reach = values.map((_, i) => i);
  if (period < 2) return { expected, reach };
  const perPeriod: number[] = [];
  const slot: number[] = [];
  for (let i = 0; i < values.length; i++) {
    perPeriod.length = 0;
    for (let p = 1; p <= 2 * periods && perPeriod.length < periods; p++) {
      const centre = i - p * period;
      if (centre + halfWidth < 0) break;
      reach[i] = Math.max(0, centre - halfWidth);
      slot.length = 0;
      for (let k = Math.max(0, centre - halfWidth); k <= centre + halfWidth; k++) if (Number.isFinite(values[k]!)) slot.push(values[k]!);
      if (slot.length) perPeriod.push(sortedMedian(slot.sort((a, b) => a - b)));
    }
    if (perPeriod.length >= 3) expected[i] = sortedMedian(perPeriod.sort((a, b) => a - b));
  }
  return { expected, reach };
}

export interface TrailingStats {
  median: number[];
  /** Robust σ: from the interquartile range, or the inter-decile range when that is 0; NaN when too few points. */
  scale: number[];
}

/**
 * `iqr` (default): median and interquartile scale; `shorth`: the midpoint and length of the shortest
 * half (the same for symmetric noise; with up to half the window at another level it describes the
 * other half, so an earlier incident in the baseline does not blunt the next).
 * Median and robust scale of the valid points among indices [i − lag − length + 1, i − lag] for
 * each i (lag 1 = the `length` points before i). NaN with fewer than `minPoints` valid points;
 * `withScale: false` leaves the scale NaN.
 */
export function trailingStats(values: readonly number[], length: number, lag: number, minPoints: number, withScale = true, estimator: 'iqr' | 'shorth' = 'iqr'): TrailingStats {
  const n = values.length;
  const median = new Array<number>(n).fill(Number.NaN);
  const scale = new Array<number>(n).fill(Number.NaN);
  const window = new SortedWindow();
  for (let i = 0; i < n; i++) {
    const entering = i - lag;
    if (entering >= 0 && Number.isFinite(values[entering]!)) window.add(values[entering]!);
    const leaving = i - lag - length;
    if (leaving >= 0 && Number.isFinite(values[leaving]!)) window.remove(values[leaving]!);
    if (window.size < minPoints) continue;
    if (estimator === 'shorth') {
      // The shortest half: its midpoint and its length (1.349 σ for normal noise), robust to half the window elsewhere.
      const { lo, hi } = window.shortestHalf();
      median[i] = (lo + hi) / 2;
      if (withScale) scale[i] = hi - lo > 0 ? (hi - lo) * IQR_TO_SIGMA : (window.quantile(0.9) - window.quantile(0.1)) * IDR_TO_SIGMA;
      continue;
    }
    const m = window.median();
    median[i] = m;
    if (!withScale) continue;
    let s = (window.quantile(0.75) - window.quantile(0.25)) * IQR_TO_SIGMA;
    if (s === 0) s = (window.quantile(0.9) - window.quantile(0.1)) * IDR_TO_SIGMA;
    scale[i] = s;
  }
  return { median, scale };
}

/** The larger of the scale and its floors (absolute, and relative to the level). */
export function flooredScale(scale: number, level: number, minScale: number, minRatio: number): number {
  return Math.max(scale, minScale, minRatio * Math.abs(level));
}

/** (x − median) / scale, capped; 0 / 0 is 0 and x / 0 is ± the cap. */
export function cappedZ(diff: number, scale: number, cap = 1e9): number {
  if (!Number.isFinite(diff) || !Number.isFinite(scale)) return Number.NaN;
  if (scale > 0) return Math.max(-cap, Math.min(cap, diff / scale));
  if (diff === 0) return 0;
  return diff > 0 ? cap : -cap;
}

/**
 * Two-sided CUSUM of z clipped to ± `clip`: up = max(0, up + z − slack), down likewise, each
 * capped at `cap` so it drains within cap / slack points once z is normal again. The score is
 * +up or −down, whichever is larger; missing z holds the sums. `start`: the sums before z[0]
 * (each step is monotone in them, so starting at the cap bounds any other start from above).
 */
export function cusum(z: readonly number[], slack: number, clip: number, cap: number, start: { up: number; down: number } = { up: 0, down: 0 }): number[] {
  const out = new Array<number>(z.length).fill(Number.NaN);
  let up = start.up;
  let down = start.down;
  for (let i = 0; i < z.length; i++) {
    const x = z[i]!;
    if (!Number.isFinite(x)) continue;
    const c = Math.max(-clip, Math.min(clip, x));
    up = Math.min(cap, Math.max(0, up + c - slack));
    down = Math.min(cap, Math.max(0, down - c - slack));
    out[i] = up >= down ? up : -down;
  }
  return out;
}

/**
 * Slow drift: the median of the last `recent` points (including i) against the median of the
 * `reference` points before them, in units of the reference's floored scale.
 */
export function driftScores(values: readonly number[], recent: number, reference: number, floor: (i: number) => number): number[] {
  const now = trailingStats(values, recent, 0, Math.max(2, Math.ceil(recent / 2)), false);
  const before = trailingStats(values, reference, recent, Math.max(5, Math.ceil(reference / 4)));
  return values.map((x, i) => (Number.isFinite(x)
    ? cappedZ(now.median[i]! - before.median[i]!, Math.max(before.scale[i]!, floor(i)))
    : Number.NaN));
}

/** Smallest long-run σ of the scores `scoreSurprise` divides by (scores are in units of a member's threshold). */
const SURPRISE_MIN_SIGMA = 0.05;

/**
 * Anomaly likelihood, after Numenta's: how many long-run σ the mean of the last `recent` scores
 * (including i) lies above the mean of the `length` scores before them (σ floored at 0.05); a
 * burst the signal shows every week scores low. NaN while either window has under half its points.
 */
export function scoreSurprise(scores: readonly number[], recent: number, length: number): number[] {
  const out = new Array<number>(scores.length).fill(Number.NaN);
  let recentSum = 0;
  let recentCount = 0;
  let longSum = 0;
  let longSquares = 0;
  let longCount = 0;
  const valid = (k: number) => k >= 0 && Number.isFinite(scores[k]!);
  for (let i = 0; i < scores.length; i++) {
    if (valid(i)) { recentSum += scores[i]!; recentCount++; }
    const moved = i - recent; // leaves the recent window, enters the long one
    if (valid(moved)) {
      const v = scores[moved]!;
      recentSum -= v; recentCount--;
      longSum += v; longSquares += v * v; longCount++;
    }
    const leaving = i - recent - length;
    if (valid(leaving)) {
      const v = scores[leaving]!;
      longSum -= v; longSquares -= v * v; longCount--;
    }
    if (recentCount < recent / 2 || longCount < length / 2) continue;
    const mean = longSum / longCount;
    const sigma = Math.sqrt(Math.max(0, longSquares / longCount - mean * mean));
    out[i] = (recentSum / recentCount - mean) / Math.max(sigma, SURPRISE_MIN_SIGMA);
  }
  return out;
}
