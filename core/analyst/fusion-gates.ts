import { sortedMedian } from './sorted-window.js';

/**
 * Two optional paths of the fusion detector (issue 16, part 1). Pure and causal: the value at
 * index i uses only points ≤ i (the peak bar only points < i).
 *
 * - `stepScores`: fast step detection — a level shift that holds. At i, the smallest |z| of the
 *   last `points` scored residual z-scores (including i) when all are of i's sign (else 0), signed,
 *   in units of `sigma` (1 = the shift held `points` points at `sigma` or more).
 * - `dailyPeakBar`: the signal's usual daily peak — `ratio` × the median, over the previous `days`
 *   periods, of each period's largest score. A burst the signal shows most days stays under it; an
 *   incident on a minority of days does not lift it (unlike a quantile of all recent scores).
 */

/**
 * Per point: the held shift of the last `points` scored z-values (missing ones skipped, looking back
 * at most 2 × `points`) in units of `sigma`; NaN at a missing point or with too few scored ones.
 */
export function stepScores(z: readonly number[], points: number, sigma: number): number[] {
  const out = new Array<number>(z.length).fill(Number.NaN);
  if (points < 1 || !(sigma > 0)) return out;
  for (let i = 0; i < z.length; i++) {
    if (!Number.isFinite(z[i]!)) continue;
    const sign = Math.sign(z[i]!);
    let smallest = Math.abs(z[i]!);
    let seen = 1;
    for (let k = i - 1; k >= 0 && k > i - 2 * points && seen < points; k--) {
      const v = z[k]!;
      if (!Number.isFinite(v)) continue;
      seen++;
      smallest = Math.sign(v) === sign ? Math.min(smallest, Math.abs(v)) : 0;
    }
    if (seen === points) out[i] = smallest === 0 ? 0 : (sign * smallest) / sigma;
  }
  return out;
}

/** Largest finite value over [i − length, i − 1] per i (−∞ when none); O(n). */
export function trailingMax(values: readonly number[], length: number): number[] {
  const out = new Array<number>(values.length).fill(Number.NEGATIVE_INFINITY);
  const queue: number[] = []; // indexes with decreasing values
  let head = 0;
  for (let i = 0; i < values.length; i++) {
    const entering = i - 1;
    if (entering >= 0 && Number.isFinite(values[entering]!)) {
      while (queue.length > head && values[queue[queue.length - 1]!]! <= values[entering]!) queue.pop();
      queue.push(entering);
    }
    while (queue.length > head && queue[head]! < i - length) head++;
    if (queue.length > head) out[i] = values[queue[head]!]!;
  }
  return out;
}

/**
 * Per point: `ratio` × the median of the largest `scores` in each of the previous `days` periods of
 * `period` points ([i − period, i − 1], [i − 2·period, i − period − 1], …); 0 (no bar) until
 * `minDays` whole periods with a score lie behind i, or when `days` is 0.
 */
export function dailyPeakBar(scores: readonly number[], period: number, days: number, ratio: number, minDays = 3): number[] {
  const n = scores.length;
  const out = new Array<number>(n).fill(0);
  if (days < 1 || period < 1) return out;
  const peak = trailingMax(scores, period);
  const maxima: number[] = [];
  for (let i = 0; i < n; i++) {
    maxima.length = 0;
    for (let d = 0; d < days; d++) {
      const at = i - d * period;
      if (at - period < 0) break;
      if (Number.isFinite(peak[at]!)) maxima.push(peak[at]!);
    }
    if (maxima.length >= minDays) out[i] = ratio * sortedMedian(maxima.sort((a, b) => a - b));
  }
  return out;
}
