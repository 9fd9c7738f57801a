/**
 * The NAB detector benchmark's library (issue 16): load NAB's labelled series, turn opsloop's and
 * the published detectors' output into detection times, and score them with one rule for all.
 *
 *   const series = loadNab();                       // the committed copy (or { dir: '/path/to/NAB' })
 *   const mine = opsloopDetectionTimes(s, defaultNabSettings(nabStepSeconds(s)));
 *   const htm = publishedDetectionTimes('numenta', s);
 *   scoreDetections(s, mine)                         // { windows, windowsHit, falseAlarmEpisodes, detections }
 */
import { detect, type DetectSettings } from '../../core/analyst/detectors.js';
import { regularise } from '../../core/analyst/series.js';
import { detectSettingsFor } from '../../core/analyst/signal-settings.js';
import { SignalSchema, type Signal } from '../../core/schemas/services.js';
import { analystPassDetectionTimes } from './nab-analyst.js';
import { nabPoints, nabStepSeconds, PUBLISHED_DETECTORS, type NabSeries } from './nab-data.js';

export { loadNab, NAB_CATEGORIES, nabPoints, nabStepSeconds, PUBLISHED_DETECTORS, probationRows, type NabSeries, type NabWindow } from './nab-data.js';
export { FALSE_ALARM_MERGE_SECONDS, scoreDetections, sumScores, type NabScore } from './nab-score.js';

/** The NAB result names as a reader knows them. */
export const PUBLISHED_LABELS: Readonly<Record<string, string>> = {
  numenta: 'Numenta HTM', ARTime: 'ARTime', twitterADVec: 'Twitter ADVec', windowedGaussian: 'windowed Gaussian',
};

/** Times of the rows whose anomaly_score reaches `detector`'s standard-profile threshold. */
export function publishedDetectionTimes(detector: string, series: NabSeries): number[] {
  const times = series.published[detector];
  if (!times) throw new Error(`no published results for ${JSON.stringify(detector)} (known: ${PUBLISHED_DETECTORS.join(', ')})`);
  return [...times];
}

/** What a signal configured with only its name and query gets (direction, detectors, baseline). */
export function unconfiguredSignal(): Signal {
  return SignalSchema.parse({ name: 'nab', query: 'nab' });
}

/** The settings a user gets for a signal with nothing configured, at `stepSeconds` (NAB: mostly 300). */
export function defaultNabSettings(stepSeconds = 300): DetectSettings {
  return detectSettingsFor(unconfiguredSignal(), stepSeconds);
}

/** Signal fields a settings file may give; missing ones take the unconfigured signal's values. */
export type SignalDetectFields = Partial<Pick<Signal, 'direction' | 'detectors' | 'baseline'>>;

/** The settings a signal with these fields gets on this series (its baseline in points at the file's step). */
export function signalSettingsForNab(fields: SignalDetectFields, series: Pick<NabSeries, 'times' | 'values'>): DetectSettings {
  const signal = SignalSchema.parse({ name: 'nab', query: 'nab', ...fields });
  return detectSettingsFor(signal, nabStepSeconds(series));
}

/** Which episode time counts as the page: when it fired (default; what the Analyst acts on) or its first point. */
export type PageTime = 'fired_at' | 'start';

/**
 * What opsloop would page on. The series goes on the grid the Analyst queries (the file's
 * inferred step; of duplicate rows the later wins; missing slots are gaps).
 *
 * - `via: 'series'` (default, fast): detect() once over the whole series, one detection per
 *   episode at the time it fired (`at: 'start'`: its first point). detect() is causal — an
 *   episode's start and fired_at depend only on points up to fired_at (test/bench/nab.test.ts
 *   checks this on prefixes) — so this is what a process that kept every point since the start
 *   would page on.
 * - `via: 'analyst'`: the Analyst's passes replayed (bench/lib/nab-analyst.ts): each pass sees only
 *   the last `pointsToQuery` slots, so an episode longer than that window loses its start and
 *   comes back under a new one. Slower (one detect() per slot).
 */
export function opsloopDetectionTimes(
  series: Pick<NabSeries, 'times' | 'values'>, settings: DetectSettings, opts: { at?: PageTime; via?: 'series' | 'analyst' } = {},
): number[] {
  if (opts.via === 'analyst') return analystPassDetectionTimes(series, settings);
  const grid = regularise(nabPoints(series), nabStepSeconds(series));
  const at = opts.at ?? 'fired_at';
  return detect(grid, settings).episodes.map((e) => (at === 'start' ? e.start : e.fired_at)).sort((a, b) => a - b);
}
