/**
 * The Analyst's passes replayed over a NAB series (a check on `opsloopDetectionTimes`, which runs
 * detect() once over the whole series). Each pass sees what adapters/agents/analyst.ts reads: the
 * last `pointsToQuery` slots up to the pass, runs detect() on them, and acts on the first episode
 * that fired within the lookback; an episode start it has not acted on before is a page, at the
 * pass's time. Slower (one detect() per slot), so the benchmark runs it only when asked.
 */
import { detect, type DetectSettings } from '../../core/analyst/detectors.js';
import { regularise } from '../../core/analyst/series.js';
import { DEFAULT_LOOKBACK_POINTS, pointsToQuery } from '../../core/analyst/signal-settings.js';
import { nabPoints, nabStepSeconds, type NabSeries } from './nab-data.js';

/** Page times of the Analyst's passes over the series (one pass per slot of the file's step). */
export function analystPassDetectionTimes(series: Pick<NabSeries, 'times' | 'values'>, settings: DetectSettings, lookbackPoints = DEFAULT_LOOKBACK_POINTS): number[] {
  const step = nabStepSeconds(series);
  const grid = regularise(nabPoints(series), step);
  const signal = {
    direction: settings.direction ?? 'both',
    detectors: settings.detectors,
    ...(settings.baseline_points ? { baseline: `${settings.baseline_points * step}s` } : {}),
    lookback_points: lookbackPoints,
  };
  const length = pointsToQuery(signal, step);
  const acted = new Set<number>();
  const pages: number[] = [];
  for (let end = 0; end < grid.values.length; end++) {
    const from = Math.max(0, end - length + 1);
    const window = { start: grid.start + from * step, step, values: grid.values.slice(from, end + 1) };
    const endTime = grid.start + end * step;
    const since = endTime - (lookbackPoints - 1) * step;
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
