/**
 * The Analyst's passes replayed over a NAB series (`opsloopDetectionTimes(…, { via: 'analyst' })`).
 * Each pass sees what adapters/agents/analyst.ts reads: the last `pointsToQuery` slots up to the
 * pass, runs detect() on them, and acts on the first episode that fired within the lookback; an
 * episode start it has not acted on before is a page, at the pass's time. test/bench/nab-analyst.test.ts
 * checks the replay against runAnalystPass itself.
 *
 * One detect() per slot is slow for long windows (a daily-seasonal baseline is a week of points),
 * so passes that cannot page are skipped when that is provable: with only robust_z and static
 * detectors, a lookback point's score uses history the window holds in full, so it is the same as
 * in one whole-series run; an episode fires on a point beyond threshold × continue_ratio, so a pass
 * whose lookback has no such point in the whole-series run fires nothing. Other detector kinds
 * (whose state may reach back past the window, like EWMA) replay every pass.
 */
import { detect, flagsFromScores, type DetectSettings } from '../../core/analyst/detectors.js';
import { regularise, type RegularSeries } from '../../core/analyst/series.js';
import { DEFAULT_LOOKBACK_POINTS, pointsToQuery } from '../../core/analyst/signal-settings.js';
import { DETECTOR_DEFAULTS, DetectSettingsSchema } from '../../core/schemas/detectors.js';
import { nabPoints, nabStepSeconds, type NabSeries } from './nab-data.js';

/** Page times of the Analyst's passes over the series (one pass per slot of the file's step). */
export function analystPassDetectionTimes(
  series: Pick<NabSeries, 'times' | 'values'>, settings: DetectSettings, opts: { lookbackPoints?: number; everyPass?: boolean } = {},
): number[] {
  const lookback = opts.lookbackPoints ?? DEFAULT_LOOKBACK_POINTS;
  const step = nabStepSeconds(series);
  const grid = regularise(nabPoints(series), step);
  const signal = {
    direction: settings.direction ?? 'both',
    detectors: settings.detectors,
    ...(settings.baseline_points ? { baseline: `${settings.baseline_points * step}s` } : {}),
    lookback_points: lookback,
  };
  const length = pointsToQuery(signal, step);
  const canFire = opts.everyPass ? null : firingCandidates(grid, settings);
  const acted = new Set<number>();
  const pages: number[] = [];
  let lastCandidate = -Infinity;
  for (let end = 0; end < grid.values.length; end++) {
    if (canFire) {
      if (canFire[end]) lastCandidate = end;
      if (end - lastCandidate >= lookback) continue;
    }
    const from = Math.max(0, end - length + 1);
    const window = { start: grid.start + from * step, step, values: grid.values.slice(from, end + 1) };
    const endTime = grid.start + end * step;
    const since = endTime - (lookback - 1) * step;
    const first = detect(window, settings).episodes
      .filter((e) => e.fired_at >= since)
      .sort((a, b) => a.fired_at - b.fired_at || a.start - b.start)[0];
    if (first && !acted.has(first.start)) {
      acted.add(first.start);
      pages.push(endTime);
    }
  }
  return pages;
}

/**
 * Per slot: could an episode fire here (beyond threshold × continue_ratio in the whole-series
 * run, or flagged by a static detector)? null when a detector's kind does not allow the shortcut.
 */
function firingCandidates(grid: RegularSeries, settings: DetectSettings): boolean[] | null {
  const parsed = DetectSettingsSchema.parse(settings);
  if (!parsed.detectors.every((d) => d.kind === 'robust_z' || d.kind === 'static')) return null;
  const whole = detect(grid, settings);
  const out = new Array<boolean>(grid.values.length).fill(false);
  parsed.detectors.forEach((d, j) => {
    const output = whole.detectors[j]!;
    const flags = d.kind === 'robust_z'
      ? flagsFromScores(output.scores, (d.threshold ?? DETECTOR_DEFAULTS.robust_z.threshold) * (d.continue_ratio ?? DETECTOR_DEFAULTS.continue_ratio), parsed.direction)
      : output.flags;
    flags.forEach((f, i) => { if (f) out[i] = true; });
  });
  return out;
}
