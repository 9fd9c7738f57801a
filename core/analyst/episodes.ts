import type { DetectorSettings } from '../schemas/detectors.js';
import type { RegularSeries } from './series.js';

/**
 * Runs and episodes (split out of detectors.ts): how the detectors' per-point flags become
 * anomaly episodes, with hysteresis, `consecutive`, `clear` and `max_gap`. Pure.
 */

/** One anomaly episode of one detector. Times are Unix seconds of grid points. */
export interface Episode {
  detector: string;
  kind: DetectorSettings['kind'];
  direction: 'up' | 'down';
  /** First anomalous point of the run that fired. */
  start: number;
  /** Last anomalous point seen (so far, when `open`). */
  end: number;
  /** The point at which the run reached `consecutive` (when a case would open). */
  fired_at: number;
  /** Anomalous points in the episode. */
  points: number;
  /** The most extreme point (largest |score|; for static, furthest past the threshold). */
  peak: { t: number; value: number; score: number };
  /** Still anomalous at the end of the series (no `clear` normal points since). */
  open: boolean;
}

/** How runs of flagged points open and close an episode. */
export interface RunOptions {
  consecutive: number;
  clear: number;
  maxGap: number;
  /** Which way point i deviates (+1 up, −1 down). */
  signOf: (i: number) => number;
  /** How extreme point i is (for the peak). */
  peakOf: (i: number) => number;
  /** Optional: point i opens an episode at once, without `consecutive` (it already held, e.g. a step). */
  opensAt?: (i: number) => boolean;
}

export type RawEpisode = Omit<Episode, 'detector' | 'kind' | 'peak'> & { peakIndex: number };

/**
 * Turn per-point levels into episodes. Level 2 = beyond the threshold, 1 = beyond the continue
 * threshold only (hysteresis), 0 = normal, null = missing or unscored. A run starts on a level-2
 * point and `consecutive` points of level ≥ 1 and one sign in a row open an episode (at the
 * run's first point); inside an episode level ≥ 1 keeps it going, and `clear` normal points or a
 * gap longer than `maxGap` close it. Missing points neither count nor break a run unless the
 * gap is too long.
 */
export function episodesFromFlags(series: RegularSeries, levels: ReadonlyArray<0 | 1 | 2 | null>, o: RunOptions): RawEpisode[] {
  const at = (i: number) => series.start + i * series.step;
  const episodes: RawEpisode[] = [];
  let runStart = -1;
  let runCount = 0;
  let runSign = 0;
  let gap = 0;
  let normals = 0;
  let current: RawEpisode | null = null;
  let lastFlagged = -1;

  const close = () => {
    if (current) {
      current.end = at(lastFlagged);
      current.open = false;
      episodes.push(current);
    }
    current = null;
    runCount = 0;
    runStart = -1;
    normals = 0;
  };

  for (let i = 0; i < levels.length; i++) {
    const level = levels[i];
    if (level === null || level === undefined) {
      gap += 1;
      if (gap > o.maxGap) {
        if (current) close();
        runCount = 0;
        runStart = -1;
      }
      continue;
    }
    gap = 0;
    if (level === 0 || (level === 1 && !current && runCount === 0)) {
      runCount = 0;
      runStart = -1;
      if (current) {
        normals += 1;
        if (normals >= o.clear) close();
      }
      continue;
    }
    const sign = o.signOf(i);
    lastFlagged = i;
    if (current) {
      const ep: RawEpisode = current;
      normals = 0;
      ep.points += 1;
      ep.end = at(i);
      if (o.peakOf(i) > o.peakOf(ep.peakIndex)) ep.peakIndex = i;
      continue;
    }
    if (runCount > 0 && sign !== runSign) {
      runCount = 0;
      runStart = -1;
      if (level < 2) continue;
    }
    if (runCount === 0) {
      runStart = i;
      runSign = sign;
    }
    runCount += 1;
    if (runCount >= o.consecutive || (level === 2 && o.opensAt?.(i) === true)) {
      let peakIndex = runStart;
      for (let k = runStart; k <= i; k++) if ((levels[k] ?? 0) > 0 && o.peakOf(k) > o.peakOf(peakIndex)) peakIndex = k;
      current = {
        direction: runSign > 0 ? 'up' : 'down',
        start: at(runStart), end: at(i), fired_at: at(i), points: runCount, peakIndex, open: true,
      };
      normals = 0;
    }
  }
  if (current) {
    const ep: RawEpisode = current;
    ep.end = at(lastFlagged);
    episodes.push(ep);
  }
  return episodes;
}
