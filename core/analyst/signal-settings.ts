import type { DetectSettings, FusionSettings } from '../schemas/detectors.js';
import { fusionParameters, seasonalPeriod } from './fusion.js';
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
    if (d.kind === 'fusion') longest = Math.max(longest, fusionHistoryPoints(d, stepSeconds, settings.baseline_points));
  }
  return Math.min(MAX_POINTS_PER_QUERY, longest + lookback);
}

/** Prometheus refuses a range query of more than 11,000 points per series. */
export const MAX_POINTS_PER_QUERY = 11_000;

/**
 * History a fusion detector needs before its verdict on the newest point is the one a run over
 * all history would give: the learning period, or the seasonal days (plus the baseline of the
 * seasonal residual and the baseline over which the residuals are compared, or the drift's window
 * of seasonal residuals when that is longer), or the drift reference,
 * or the novelty window (or the peak bar's days) plus the baseline its scores stand on — whichever is longest — plus the
 * re-alert quiet period (so the page an episode would join is still in view).
 */
export function fusionHistoryPoints(d: FusionSettings, stepSeconds: number, defaultBaseline?: number): number {
  const p = fusionParameters(d, defaultBaseline);
  const period = seasonalPeriod(p.seasonal === 'auto' ? 'daily' : p.seasonal, stepSeconds);
  const drift = p.members.includes('drift') ? p.driftPoints + p.driftReference : 0;
  // The seasonal residual's z compares two baselines of residuals; its drift, a drift window of them.
  const seasonal = period >= 4 ? p.seasonalDays * period + p.seasonalWindow + Math.max(2 * p.baseline, drift) : 0;
  const members = Math.max(drift, p.baseline);
  const novelty = p.noveltyPoints > 0 ? p.noveltyPoints + p.baseline : 0;
  const peak = p.peakDays > 0 ? p.peakDays * seasonalPeriod('daily', stepSeconds) + p.baseline : 0;
  const likelihood = p.likelihoodPoints > 0 ? p.likelihoodPoints + p.likelihoodRecent + p.baseline : 0;
  return Math.max(p.learning, p.baseline, seasonal, members, novelty, peak, likelihood) + p.quiet;
}
