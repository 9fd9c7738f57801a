import type { Direction, FusionSettings } from '../schemas/detectors.js';
import { fusionParameters, fusionZ, runFusion, seasonalPeriod, stepZ, transformed, type FusionParameters } from './fusion.js';
import { stepScores } from './fusion-gates.js';
import { cusum, seasonalScan } from './ops-detectors.js';
import type { RegularSeries } from './series.js';

/**
 * Which of the Analyst's passes a fusion detector can page on, from one run over the whole series
 * (pure; for replaying the passes fast, bench/lib/nab-analyst.ts). A pass runs the fusion over a
 * window [from, end] and pages only on an episode that fired in its lookback. An episode fires on
 * the `consecutive`-th point of a run that began with a point where some member's normalised score
 * is ≥ 1 (a vote, or beyond `alone`, or a held step): no such point near the lookback, no page.
 * The gates (novelty, peak bar, likelihood) only take pages away, so they are left out here.
 *
 * The window run's member scores at point i equal the whole run's when the window reaches back far
 * enough (i's statistics read the same points): `spikeNeed[i]` / `driftNeed[i]` are the latest
 * window starts for which they do (seasonal scans that skipped missing days reach further). The
 * CUSUM carries state from the window's start; every step is monotone in it, so a CUSUM started at
 * its cap a few dozen points before the lookback (on exact z from there) bounds the window's.
 * Whatever cannot be bounded this way answers "may page", so the caller runs the pass itself.
 */

export interface FusionPassBounds {
  p: FusionParameters;
  /** Whole-run residual z per point. */
  z: number[];
  /** Whole-run residual z of the step path (z itself unless `step_scale` differs from `scale`). */
  stepZ: number[];
  /** Whole-run drift member (normalised) per point; empty without the drift member. */
  drift: number[];
  /** Latest window start for which z at i (hence spike, and the shift's input) is the whole run's. */
  spikeNeed: number[];
  /** The same for the drift member. */
  driftNeed: number[];
}

/** Points of exact z the CUSUM bound runs over before the first point checked (its cap drains at ≥ slack per quiet point). */
const CUSUM_BOUND_POINTS = 96;

/** The whole-run quantities the pass check needs. */
export function fusionPassBounds(series: RegularSeries, s: FusionSettings, direction: Direction, defaultBaseline?: number): FusionPassBounds {
  const p = fusionParameters(s, defaultBaseline);
  const { z } = fusionZ(series, p);
  const drift = p.members.includes('drift') ? runFusion(series, s, direction, defaultBaseline).members.drift! : [];
  const n = z.length;
  const x = transformed(series.values, p.transform);
  const period = seasonalPeriod(p.seasonal === 'auto' ? 'daily' : p.seasonal, series.step);
  const seasonal = period >= 4;
  const seasonalReach = seasonal ? seasonalScan(x, period, p.seasonalDays, p.seasonalWindow).reach : x.map((_, i) => i);
  const L = p.baseline;
  const index = (i: number) => i;
  // Trailing stats of L points before k read [k − L, k − 1]; of the deseasoned values also their scans.
  const seasonalStatsNeed = min2(x.map((_, k) => k - L), trailingMin(seasonalReach, L, 1));
  const statsNeed = seasonal ? seasonalStatsNeed : x.map((_, k) => k - L);
  // auto's choice compares the errors of both residuals over the L points before i.
  const errorNeed = min2(statsNeed, seasonalReach);
  const choiceNeed = p.seasonal === 'auto' && seasonal ? min2(x.map((_, i) => i - L), trailingMin(errorNeed, L, 1)) : x.map(index);
  const spikeNeed = min2(min2(statsNeed, seasonalReach), choiceNeed);
  const span = p.driftPoints + p.driftReference;
  const driftNeed = min2(min2(x.map((_, i) => i - span + 1), trailingMin(seasonalReach, span, 0)), spikeNeed);
  // A window from index 0 is the whole run's prefix (the fusion is causal): exact at every point.
  const atLeastZero = (need: number[]) => need.slice(0, n).map((v) => Math.max(0, v));
  const zStep = p.stepPoints > 0 ? stepZ(series, p, z) : z;
  return { p, z, stepZ: zStep, drift, spikeNeed: atLeastZero(spikeNeed), driftNeed: atLeastZero(driftNeed) };
}

/**
 * Could the pass over [from, end] page (an episode firing at or after `since`)? false only when
 * provably not: every point that could start a firing run is exact (the shift bounded) and has
 * neither `votes` members at their threshold nor one beyond `alone`.
 */
export function fusionPassMayPage(b: FusionPassBounds, from: number, since: number, end: number): boolean {
  const { p } = b;
  const first = Math.max(from, since - (p.consecutive - 1) * (p.maxGap + 1));
  // The step path reads the z of up to 2 × step_points − 1 points back (the point itself included).
  const stepFrom = p.stepPoints > 0 ? Math.max(from, first - 2 * p.stepPoints + 1) : first;
  const hasShift = p.members.includes('shift');
  const hasSpike = p.members.includes('spike');
  const hasDrift = p.members.includes('drift');
  const cusumFrom = Math.max(from, first - CUSUM_BOUND_POINTS);
  for (let i = Math.min(hasShift ? cusumFrom : first, stepFrom); i <= end; i++) if (b.spikeNeed[i]! < from) return true;
  if (hasDrift) for (let i = first; i <= end; i++) if (b.driftNeed[i]! < from) return true;
  const cap = (p.alone + 0.5) * p.cusumThreshold;
  const shift = hasShift ? cusum(b.z.slice(cusumFrom, end + 1), p.cusumSlack, Math.max(p.threshold, 2 * p.cusumSlack), cap, { up: cap, down: cap }) : [];
  const step = p.stepPoints > 0 ? stepScores(b.stepZ.slice(stepFrom, end + 1), p.stepPoints, p.stepSigma) : [];
  for (let i = first; i <= end; i++) {
    if (p.stepPoints > 0 && Math.abs(step[i - stepFrom]!) >= 1) return true;
    // Normalised scores (1 = the member's threshold): exact for spike and drift, an upper bound for shift.
    const scores = [
      hasSpike ? Math.abs(b.z[i]!) / p.threshold : 0,
      hasDrift ? Math.abs(b.drift[i]!) : 0,
      hasShift ? Math.abs(shift[i - cusumFrom]!) / p.cusumThreshold : 0,
    ];
    const votes = scores.filter((v) => v >= 1).length;
    if (votes >= p.votes || scores.some((v) => v >= p.alone)) return true;
  }
  return false;
}

/** Minimum of values over [i − lag − length + 1, i − lag] per i (+∞ when empty); O(n). */
export function trailingMin(values: readonly number[], length: number, lag: number): number[] {
  const out = new Array<number>(values.length).fill(Number.POSITIVE_INFINITY);
  const queue: number[] = []; // indexes with increasing values
  let head = 0;
  for (let i = 0; i < values.length; i++) {
    const entering = i - lag;
    if (entering >= 0) {
      while (queue.length > head && values[queue[queue.length - 1]!]! >= values[entering]!) queue.pop();
      queue.push(entering);
    }
    while (queue.length > head && queue[head]! < i - lag - length + 1) head++;
    if (queue.length > head) out[i] = values[queue[head]!]!;
  }
  return out;
}

function min2(a: readonly number[], b: readonly number[]): number[] {
  return a.map((v, i) => Math.min(v, b[i]!));
}
