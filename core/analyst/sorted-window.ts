/**
 * The robust z-score's trailing window (split out of detectors.ts): a sorted sliding window with
 * O(log n) search and O(n) median absolute deviation (no re-sorting), and the sorted median. Pure.
 */


export class SortedWindow {
  private readonly xs: number[] = [];

  get size(): number {
    return this.xs.length;
  }

  add(x: number): void {
    this.xs.splice(lowerBound(this.xs, x), 0, x);
  }

  remove(x: number): void {
    const i = lowerBound(this.xs, x);
    if (this.xs[i] === x) this.xs.splice(i, 1);
  }

  median(): number {
    return sortedMedian(this.xs);
  }

  /** The q-quantile (nearest rank). */
  quantile(q: number): number {
    return sortedQuantile(this.xs, q);
  }

  /**
   * The shortest interval holding half the values (⌈n / 2⌉ of them; the lowest on ties): [lo, hi].
   * With half the window off at another level (an earlier incident) it still lies in the other half.
   */
  shortestHalf(): { lo: number; hi: number } {
    const xs = this.xs;
    const h = Math.ceil(xs.length / 2);
    if (h === 0) return { lo: Number.NaN, hi: Number.NaN };
    let best = 0;
    for (let j = 1; j + h - 1 < xs.length; j++) if (xs[j + h - 1]! - xs[j]! < xs[best + h - 1]! - xs[best]!) best = j;
    return { lo: xs[best]!, hi: xs[best + h - 1]! };
  }

  /** Median of |x − m| by merging the two sorted sides around m. */
  mad(m: number): number {
    const xs = this.xs;
    const n = xs.length;
    if (n === 0) return Number.NaN;
    let left = lowerBound(xs, m) - 1; // walks down: m − xs[left] grows
    let right = left + 1; // walks up: xs[right] − m grows
    const want = n % 2 ? [(n - 1) / 2] : [n / 2 - 1, n / 2];
    let k = 0;
    let sum = 0;
    let taken = 0;
    while (taken < want.length) {
      const dl = left >= 0 ? m - xs[left]! : Infinity;
      const dr = right < n ? xs[right]! - m : Infinity;
      const d = dl <= dr ? dl : dr;
      if (dl <= dr) left -= 1;
      else right += 1;
      if (k === want[taken]) {
        sum += d;
        taken += 1;
      }
      k += 1;
    }
    return sum / want.length;
  }
}

function lowerBound(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function sortedMedian(xs: readonly number[]): number {
  const n = xs.length;
  if (n === 0) return Number.NaN;
  const mid = n >> 1;
  return n % 2 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
}

/** The q-quantile (0..1, nearest rank) of a sorted array; NaN when empty. */
export function sortedQuantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  return xs[Math.min(xs.length - 1, Math.max(0, Math.round(q * (xs.length - 1))))]!;
}
