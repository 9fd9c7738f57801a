/**
 * The Analyst's passes replayed over a NAB series (`opsloopDetectionTimes(…, { via: 'analyst' })`).
 * Each pass sees what adapters/agents/analyst.ts reads: the last `pointsToQuery` slots up to the
 * pass, runs detect() on them, and acts on the first episode that fired within the lookback; an
 * episode start it has not acted on before is a page, at the pass's time. test/bench/nab-analyst.test.ts
 * checks the replay against runAnalystPass itself.
 *
 * One detect() per slot is slow (about 2,300 points per slot with the fusion's seasonal history),
 * so passes that cannot page are skipped when that is provable, detector by detector:
 * - robust_z and static: a lookback point's score uses history the window holds in full, so it is
 *   the same as in one whole-series run; an episode fires on a point beyond threshold ×
 *   continue_ratio, so a pass whose lookback has no such point in the whole-series run fires nothing;
 * - fusion: core/analyst/fusion-reach.ts (member scores that are provably the window run's, and
 *   a CUSUM bound) says whether the pass may page;
 * - any other kind (EWMA, whose state reaches back past the window): every pass is replayed.
 * `everyPass: true` replays every pass (test/bench/nab-analyst.test.ts checks both agree).
 */
import { detect, flagsFromScores, type DetectSettings } from '../../core/analyst/detectors.js';
import { fusionPassBounds, fusionPassMayPage } from '../../core/analyst/fusion-reach.js';
import { regularise, type RegularSeries } from '../../core/analyst/series.js';
import { DEFAULT_LOOKBACK_POINTS, pointsToQuery } from '../../core/analyst/signal-settings.js';
import { DETECTOR_DEFAULTS, DetectSettingsSchema } from '../../core/schemas/detectors.js';
import { nabPoints, nabStepSeconds, type NabSeries } from './nab-data.js';

/** Page times of the Analyst's passes over the series (one pass per slot of the file's step). */
export function analystPassDetectionTimes(
  series: Pick<NabSeries, 'times' | 'values'>, settings: DetectSettings, opts: { lookbackPoints?: number; everyPass?: boolean; stats?: (s: { slots: number; replayed: number }) => void } = {},
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
  const mayPage = opts.everyPass ? null : passMayPage(grid, settings, lookback);
  const acted = new Set<number>();
  const pages: number[] = [];
  let replayed = 0;
  for (let end = 0; end < grid.values.length; end++) {
    const from = Math.max(0, end - length + 1);
    if (mayPage && !mayPage(from, end)) continue;
    replayed += 1;
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
  opts.stats?.({ slots: grid.values.length, replayed });
  return pages;
}

/**
 * Per pass (window [from, end]): may it page? false only when every detector provably fires
 * nothing in the lookback; null when a detector's kind allows no shortcut (replay every pass).
 */
function passMayPage(grid: RegularSeries, settings: DetectSettings, lookback: number): ((from: number, end: number) => boolean) | null {
  const parsed = DetectSettingsSchema.parse(settings);
  if (parsed.detectors.some((d) => d.kind === 'ewma')) return null;
  const candidates = firingCandidates(grid, settings);
  const lastCandidate: number[] = [];
  let last = -Infinity;
  for (let i = 0; i < grid.values.length; i++) {
    if (candidates[i]) last = i;
    lastCandidate.push(last);
  }
  const fusions = parsed.detectors.flatMap((d) => (d.kind === 'fusion' ? [fusionPassBounds(grid, d, parsed.direction, parsed.baseline_points)] : []));
  return (from, end) => {
    const since = end - lookback + 1;
    if (lastCandidate[end]! >= since) return true;
    return fusions.some((b) => fusionPassMayPage(b, from, since, end));
  };
}

/**
 * Per slot: could a robust_z or static episode fire here (beyond threshold × continue_ratio in
 * the whole-series run, or flagged by a static detector)?
 */
function firingCandidates(grid: RegularSeries, settings: DetectSettings): boolean[] {
  const parsed = DetectSettingsSchema.parse(settings);
  const out = new Array<boolean>(grid.values.length).fill(false);
  if (!parsed.detectors.some((d) => d.kind === 'robust_z' || d.kind === 'static')) return out;
  const whole = detect(grid, settings);
  parsed.detectors.forEach((d, j) => {
    if (d.kind !== 'robust_z' && d.kind !== 'static') return;
    const output = whole.detectors[j]!;
    const flags = d.kind === 'robust_z'
      ? flagsFromScores(output.scores, (d.threshold ?? DETECTOR_DEFAULTS.robust_z.threshold) * (d.continue_ratio ?? DETECTOR_DEFAULTS.continue_ratio), parsed.direction)
      : output.flags;
    flags.forEach((f, i) => { if (f) out[i] = true; });
  });
  return out;
}
