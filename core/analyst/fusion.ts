import { DETECTOR_DEFAULTS, type Direction, type FusionMember, type FusionSettings } from '../schemas/detectors.js';
import { episodesFromFlags, type RawEpisode } from './episodes.js';
import { dailyPeakBar, stepScores } from './fusion-gates.js';
import { cappedZ, cusum, driftScores, flooredScale, scoreSurprise, seasonalExpectation, trailingStats, type TrailingStats } from './ops-detectors.js';
import type { RegularSeries } from './series.js';
import { SortedWindow } from './sorted-window.js';

/**
 * The fusion detector (issue 16; the default for a signal with no detectors configured). Pure
 * and causal. Steps:
 * 1. residual: the value, or with seasonality the value minus the same-time median of previous
 *    days (`auto` picks the seasonal one where its trailing scale is clearly smaller);
 * 2. z: the residual minus its trailing median, over its trailing robust scale, floored by
 *    `min_scale` and `min_scale_ratio` × the level (so a flat series does not page on noise);
 * 3. members, each normalised by its threshold (1 = votes): spike = z, shift = CUSUM of z,
 *    drift = recent median against the long-run reference;
 * 4. a point is anomalous when `votes` members vote the same way, or one is beyond `alone`, or
 *    (step path) its z and the previous `step_points` − 1 all lie beyond `step_sigma` on one side;
 *    runs of `consecutive` such points are candidate episodes (a held step opens one at once);
 *    with the peak bar, only while the strongest score reaches the usual daily peak
 *    (fusion-gates.ts dailyPeakBar);
 *    with `likelihood_points`, only while the recent strongest scores are unusually high for the
 *    signal (anomaly likelihood, ops-detectors.ts scoreSurprise);
 * 5. a candidate pages unless it fired during the learning period (`learning_points` valid
 *    points of history) or started within `quiet_points` of the last page's end (it then joins
 *    that page: one page per incident).
 */

export type CandidateVerdict = 'paged' | 'learning' | 'suppressed';

/** One candidate episode of a fusion detector and why it paged or not (for `detect --explain`). */
export interface FusionCandidate {
  verdict: CandidateVerdict;
  /** Index of the point where the candidate fired. */
  firedIndex: number;
  /** Each member's normalised score at that point (1 = its threshold) and whether it voted. */
  members: Array<{ member: FusionMember; score: number; vote: boolean }>;
  /** For `suppressed`: the index where the page it joined fired. */
  joinedIndex?: number;
  raw: RawEpisode;
}

export interface FusionResult {
  /** Per point: the fused score (the deciding member's normalised score, signed). */
  scores: number[];
  flags: Array<boolean | null>;
  /** Per member: normalised scores per point. */
  members: Partial<Record<FusionMember, number[]>>;
  /** Per point: whether the seasonal residual was used. */
  seasonal: boolean[];
  /** Episodes that paged (suppressed candidates merged into them). */
  pages: RawEpisode[];
  candidates: FusionCandidate[];
}

/** The effective settings: the configured values, else the defaults (baseline from the signal). */
export function fusionParameters(s: FusionSettings, defaultBaseline?: number) {
  const D = DETECTOR_DEFAULTS.fusion;
  const baseline = s.baseline_points ?? Math.max(defaultBaseline ?? 0, D.baseline_points);
  return {
    members: s.members ?? [...D.members],
    transform: s.transform ?? D.transform,
    seasonal: s.seasonal ?? D.seasonal,
    seasonalDays: s.seasonal_days ?? D.seasonal_days,
    seasonalWindow: s.seasonal_window ?? D.seasonal_window,
    baseline,
    minScale: s.min_scale ?? 0,
    minScaleRatio: s.min_scale_ratio ?? D.min_scale_ratio,
    threshold: s.threshold ?? D.threshold,
    cusumSlack: s.cusum_slack ?? D.cusum_slack,
    cusumThreshold: s.cusum_threshold ?? D.cusum_threshold,
    driftPoints: s.drift_points ?? D.drift_points,
    driftReference: s.drift_reference_points ?? D.drift_reference_points,
    driftThreshold: s.drift_threshold ?? D.drift_threshold,
    votes: s.votes ?? D.votes,
    alone: s.alone ?? D.alone,
    learning: s.learning_points ?? D.learning_points,
    quiet: s.quiet_points ?? D.quiet_points,
    noveltyPoints: s.novelty_points ?? D.novelty_points,
    noveltyQuantile: s.novelty_quantile ?? D.novelty_quantile,
    likelihoodPoints: s.likelihood_points ?? D.likelihood_points,
    likelihoodRecent: s.likelihood_recent_points ?? D.likelihood_recent_points,
    likelihoodSigma: s.likelihood_sigma ?? D.likelihood_sigma,
    scale: s.scale ?? D.scale,
    stepPoints: s.step_points ?? D.step_points,
    stepSigma: s.step_sigma ?? D.step_sigma,
    stepScale: s.step_scale ?? D.step_scale,
    peakDays: s.peak_days ?? D.peak_days,
    peakRatio: s.peak_ratio ?? D.peak_ratio,
    consecutive: s.consecutive ?? D.consecutive,
    clear: s.clear ?? s.consecutive ?? D.consecutive,
    maxGap: s.max_gap ?? DETECTOR_DEFAULTS.max_gap,
    continueRatio: s.continue_ratio ?? DETECTOR_DEFAULTS.continue_ratio,
  };
}
export type FusionParameters = ReturnType<typeof fusionParameters>;

/** Points in one seasonal period at `step` seconds (0 when the mode has none). */
export function seasonalPeriod(mode: FusionParameters['seasonal'], step: number): number {
  if (mode === 'none') return 0;
  const day = Math.round(86_400 / step);
  return mode === 'weekly' ? 7 * day : day;
}

/** The residual z the step path reads: the members' own, or one on the step path's baseline scale. */
export function stepZ(series: RegularSeries, p: FusionParameters, z: number[]): number[] {
  return p.stepScale === p.scale ? z : fusionZ(series, { ...p, scale: p.stepScale }).z;
}

/** Residual z-scores with a per-point choice of the seasonal residual (step 1–2 above). */
export function fusionZ(series: RegularSeries, p: FusionParameters): { z: number[]; seasonal: boolean[]; deseasoned: number[] | null } {
  const x = transformed(series.values, p.transform);
  const minPoints = Math.max(5, Math.floor(p.baseline / 4));
  const plain = trailingStats(x, p.baseline, 1, minPoints, true, p.scale);
  const period = seasonalPeriod(p.seasonal === 'auto' ? 'daily' : p.seasonal, series.step);
  const expected = period >= 4 ? seasonalExpectation(x, period, p.seasonalDays, p.seasonalWindow) : null;
  const deseasoned = expected ? x.map((v, i) => v - expected[i]!) : null;
  const seasonalStats = deseasoned ? trailingStats(deseasoned, p.baseline, 1, minPoints, true, p.scale) : null;
  // auto: the seasonal residual where its typical one-step error over the last period is smaller.
  const choice = p.seasonal === 'auto' && seasonalStats ? preferSeasonal(x, plain, deseasoned!, seasonalStats, p.baseline) : null;
  const z = new Array<number>(x.length).fill(Number.NaN);
  const seasonal = new Array<boolean>(x.length).fill(false);
  for (let i = 0; i < x.length; i++) {
    const level = plain.median[i]!;
    const floor = (scale: number) => flooredScale(scale, level, p.minScale, p.minScaleRatio);
    const useSeasonal = seasonalStats !== null && Number.isFinite(deseasoned![i]!) && Number.isFinite(seasonalStats.scale[i]!)
      && (choice === null || choice[i]!);
    if (useSeasonal) {
      seasonal[i] = true;
      z[i] = cappedZ(deseasoned![i]! - seasonalStats.median[i]!, floor(seasonalStats.scale[i]!));
    } else if (p.seasonal === 'auto' || p.seasonal === 'none') {
      z[i] = cappedZ(x[i]! - level, floor(plain.scale[i]!));
    }
  }
  return { z, seasonal, deseasoned };
}

/** Per point: the seasonal residual's median absolute error over the previous `length` points is below the plain one's. */
function preferSeasonal(x: readonly number[], plain: TrailingStats, deseasoned: readonly number[], seasonal: TrailingStats, length: number): boolean[] {
  const plainError = x.map((v, i) => Math.abs(v - plain.median[i]!));
  const seasonalError = deseasoned.map((v, i) => Math.abs(v - seasonal.median[i]!));
  const minPoints = Math.ceil(length / 2);
  const p = trailingStats(plainError, length, 1, minPoints, false).median;
  const s = trailingStats(seasonalError, length, 1, minPoints, false).median;
  return x.map((_, i) => s[i]! < p[i]!);
}

/** `log`: log(1 + x) for x ≥ 0 (multiplicative bursts become additive); negative values stay missing. */
export function transformed(values: readonly number[], transform: FusionParameters['transform']): number[] {
  if (transform === 'none') return [...values];
  return values.map((v) => (v >= 0 ? Math.log1p(v) : Number.NaN));
}

/** Drift of the value (or of the seasonal residual where that is used), floored like z. */
function fusionDrift(series: RegularSeries, p: FusionParameters, seasonal: readonly boolean[], deseasoned: number[] | null): number[] {
  const level = trailingStats(transformed(series.values, p.transform), p.driftReference, p.driftPoints, 5, false).median;
  const floor = (i: number) => flooredScale(0, level[i]!, p.minScale, p.minScaleRatio);
  const plain = driftScores(transformed(series.values, p.transform), p.driftPoints, p.driftReference, floor);
  const seasonalDrift = deseasoned ? driftScores(deseasoned, p.driftPoints, p.driftReference, floor) : null;
  return plain.map((v, i) => (seasonal[i] && seasonalDrift ? seasonalDrift[i]! : v));
}

/** Run the fusion over a series. */
export function runFusion(series: RegularSeries, s: FusionSettings, direction: Direction, defaultBaseline?: number): FusionResult {
  const p = fusionParameters(s, defaultBaseline);
  const { z, seasonal, deseasoned } = fusionZ(series, p);
  const members: Partial<Record<FusionMember, number[]>> = {};
  for (const m of p.members) {
    if (m === 'spike') members.spike = z.map((v) => v / p.threshold);
    if (m === 'shift') members.shift = cusum(z, p.cusumSlack, Math.max(p.threshold, 2 * p.cusumSlack), (p.alone + 0.5) * p.cusumThreshold).map((v) => v / p.cusumThreshold);
    if (m === 'drift') members.drift = fusionDrift(series, p, seasonal, deseasoned).map((v) => v / p.driftThreshold);
  }
  const lists = p.members.map((m) => members[m]!);
  const bad = (v: number) => (direction === 'up' ? v : direction === 'down' ? -v : Math.abs(v));
  const strongest = strongestScores(lists, bad);
  const novelty = noveltyBar(strongest, p.noveltyPoints, p.noveltyQuantile);
  const surprise = p.likelihoodPoints > 0 ? scoreSurprise(strongest, p.likelihoodRecent, p.likelihoodPoints) : null;
  const step = p.stepPoints > 0 ? stepScores(stepZ(series, p, z), p.stepPoints, p.stepSigma) : null;
  const peakBar = dailyPeakBar(strongest, seasonalPeriod('daily', series.step), p.peakDays, p.peakRatio);
  const scores = new Array<number>(z.length).fill(Number.NaN);
  const levels = new Array<0 | 1 | 2 | null>(z.length).fill(null);
  for (let i = 0; i < z.length; i++) {
    if (!Number.isFinite(z[i]!)) continue;
    let best = 0;
    let upVotes = 0;
    let downVotes = 0;
    for (const list of lists) {
      const v = list[i]!;
      if (!Number.isFinite(v)) continue;
      if (bad(v) > bad(best)) best = v;
      if (v >= 1) upVotes++;
      if (v <= -1) downVotes++;
    }
    const votes = direction === 'up' ? upVotes : direction === 'down' ? downVotes : Math.max(upVotes, downVotes);
    scores[i] = best;
    const novel = !(bad(best) < novelty[i]!) && !(bad(best) < peakBar[i]!) && (surprise === null || surprise[i]! >= p.likelihoodSigma);
    const held = step !== null && bad(step[i]!) >= 1;
    levels[i] = novel && (votes >= p.votes || bad(best) >= p.alone || held) ? 2 : bad(best) >= p.continueRatio ? 1 : 0;
  }
  const raw = episodesFromFlags(series, levels, {
    consecutive: p.consecutive, clear: p.clear, maxGap: p.maxGap,
    signOf: (i) => (scores[i]! >= 0 ? 1 : -1), peakOf: (i) => Math.abs(scores[i]!),
    // A held step already lasted step_points points: it opens at once (when its sign is the score's).
    ...(step ? { opensAt: (i: number) => bad(step[i]!) >= 1 && Math.sign(step[i]!) === (scores[i]! >= 0 ? 1 : -1) } : {}),
  }).map((e) => withExcursionStart(series, e, levels, scores));
  const { pages, candidates } = pagesOf(series, raw, p, (i) => p.members.map((m) => {
    const v = members[m]![i]!;
    return { member: m, score: v, vote: Number.isFinite(v) && bad(v) >= 1 };
  }));
  // Anomalous: beyond the vote, or still deviating inside a candidate episode.
  const flags = levels.map((l) => (l === null ? null : l === 2));
  for (const e of raw) {
    const from = Math.round((e.start - series.start) / series.step);
    const to = Math.round((e.end - series.start) / series.step);
    for (let i = from; i <= to; i++) if (levels[i] === 1) flags[i] = true;
  }
  return { scores, flags, members, seasonal, pages, candidates };
}

/**
 * An episode starts where its excursion began: the level-1 points of the same sign just before
 * the run that fired (a step's first point often votes once, the CUSUM a point later).
 */
function withExcursionStart(series: RegularSeries, e: RawEpisode, levels: ReadonlyArray<0 | 1 | 2 | null>, scores: readonly number[]): RawEpisode {
  let i = Math.round((e.start - series.start) / series.step);
  const sign = e.direction === 'up' ? 1 : -1;
  while (i > 0 && levels[i - 1] === 1 && Math.sign(scores[i - 1]!) === sign) i--;
  return { ...e, start: series.start + i * series.step };
}

/**
 * Novelty bar per point: the `quantile` of the strongest member's score over the previous
 * `length` points — a deviation the signal shows every day does not page.
 */
function noveltyBar(strongest: readonly number[], length: number, quantile: number): number[] {
  const n = strongest.length;
  if (length === 0) return new Array<number>(n).fill(0);
  const window = new SortedWindow();
  const out = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    if (i >= 1 && Number.isFinite(strongest[i - 1]!)) window.add(strongest[i - 1]!);
    const leaving = i - length - 1;
    if (leaving >= 0 && Number.isFinite(strongest[leaving]!)) window.remove(strongest[leaving]!);
    if (window.size) out[i] = window.quantile(quantile);
  }
  return out;
}

/** Per point: the strongest member score the configured direction counts (NaN when none is scored). */
function strongestScores(lists: ReadonlyArray<readonly number[]>, bad: (v: number) => number): number[] {
  const n = lists[0]?.length ?? 0;
  const strongest = new Array<number>(n).fill(Number.NaN);
  for (let i = 0; i < n; i++) {
    let best = Number.NaN;
    for (const list of lists) if (Number.isFinite(list[i]!) && !(bad(list[i]!) <= best)) best = bad(list[i]!);
    strongest[i] = best;
  }
  return strongest;
}

/** Learning period and re-alert suppression (step 5): which candidates page. */
function pagesOf(
  series: RegularSeries, raw: RawEpisode[], p: FusionParameters, membersAt: (i: number) => FusionCandidate['members'],
): { pages: RawEpisode[]; candidates: FusionCandidate[] } {
  const indexOf = (t: number) => Math.round((t - series.start) / series.step);
  const learnedAt = learnedIndex(series.values, p.learning);
  const pages: RawEpisode[] = [];
  const candidates: FusionCandidate[] = [];
  let last: { page: RawEpisode; firedIndex: number } | null = null;
  for (const e of raw) {
    const firedIndex = indexOf(e.fired_at);
    const members = membersAt(firedIndex);
    if (firedIndex < learnedAt) {
      candidates.push({ verdict: 'learning', firedIndex, members, raw: e });
      continue;
    }
    if (last && indexOf(e.start) - indexOf(last.page.end) <= p.quiet) {
      last.page.end = Math.max(last.page.end, e.end);
      last.page.points += e.points;
      last.page.open = e.open;
      candidates.push({ verdict: 'suppressed', firedIndex, members, joinedIndex: last.firedIndex, raw: e });
      continue;
    }
    const page = { ...e };
    pages.push(page);
    last = { page, firedIndex };
    candidates.push({ verdict: 'paged', firedIndex, members, raw: e });
  }
  return { pages, candidates };
}

/** First index after `learning` valid points (values.length when never). */
export function learnedIndex(values: readonly number[], learning: number): number {
  let seen = 0;
  for (let i = 0; i < values.length; i++) {
    if (seen >= learning) return i;
    if (Number.isFinite(values[i]!)) seen++;
  }
  return seen >= learning ? values.length : values.length;
}
