import type { DetectSettings } from '../schemas/detectors.js';
import type { Signal } from '../schemas/services.js';
import { durationSeconds } from './series.js';

/**
 * How a configured signal (config/services.yml) is detected (pure): its direction and detectors,
 * the baseline window in points for `stepSeconds`, and how many recent points may open a case.
 */

/** Baseline when a signal names none. */
export const DEFAULT_BASELINE_SECONDS = 2 * 3600;
/** Step when a signal names none. */
export const DEFAULT_STEP_SECONDS = 60;
/** Episodes that fired within this many recent points open or attach (a pass every minute has slack). */
export const DEFAULT_LOOKBACK_POINTS = 15;

/** Seconds between points of a signal's series. */
export function signalStepSeconds(signal: Pick<Signal, 'step'>): number {
  return durationSeconds(signal.step) ?? DEFAULT_STEP_SECONDS;
}

/** The signal's baseline length in points at `stepSeconds` (at least 3). */
export function baselinePoints(signal: Pick<Signal, 'baseline'>, stepSeconds: number): number {
  const seconds = (signal.baseline ? durationSeconds(signal.baseline) : null) ?? DEFAULT_BASELINE_SECONDS;
  return Math.max(3, Math.round(seconds / stepSeconds));
}

/** What a signal without detectors gets: the fusion detector with its defaults (issue 16). */
export const DEFAULT_DETECTORS: DetectSettings['detectors'] = [{ kind: 'fusion' }];

/** `detect` settings for a signal; a signal without detectors gets `DEFAULT_DETECTORS`. */
export function detectSettingsFor(signal: Pick<Signal, 'direction' | 'detectors' | 'baseline'>, stepSeconds: number): DetectSettings {
  return {
    direction: signal.direction,
    detectors: signal.detectors.length ? signal.detectors : DEFAULT_DETECTORS,
    baseline_points: baselinePoints(signal, stepSeconds),
  };
}

/**
 * Points a pass should read: the baseline, plus the lookback whose points may open a case, plus
 * the longest seasonal history a detector asks for.
 */
export function pointsToQuery(signal: Pick<Signal, 'direction' | 'detectors' | 'baseline'> & { lookback_points?: number | undefined }, stepSeconds: number): number {
  const settings = detectSettingsFor(signal, stepSeconds);
  const lookback = signal.lookback_points ?? DEFAULT_LOOKBACK_POINTS;
  let longest = settings.baseline_points ?? 0;
  for (const d of settings.detectors) {
    if (d.kind === 'robust_z') {
      let need = d.baseline_points ?? longest;
      if (d.seasonal === 'daily') need += Math.round((86_400 * (d.seasonal_days ?? 7)) / stepSeconds) + (d.seasonal_window ?? 2);
      longest = Math.max(longest, need);
    }
    if (d.kind === 'ewma') longest = Math.max(longest, (d.warmup ?? 30) + Math.ceil(3 / (d.alpha ?? 0.05)));
  }
  return longest + lookback;
}
