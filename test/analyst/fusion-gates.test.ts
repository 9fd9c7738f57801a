import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { detect } from '../../core/analyst/detectors.js';
import { dailyPeakBar, stepScores, trailingMax } from '../../core/analyst/fusion-gates.js';
import { trailingStats } from '../../core/analyst/ops-detectors.js';
import type { RegularSeries } from '../../core/analyst/series.js';
import { SortedWindow } from '../../core/analyst/sorted-window.js';
import type { FusionSettings } from '../../core/schemas/detectors.js';

/** Deterministic noise (Park–Miller + Box–Muller), σ = 1. */
function noise(seed: number): () => number {
  let s = seed;
  const rand = () => ((s = (s * 16807) % 2147483647) / 2147483647);
  return () => Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand());
}
const noisy = (n: number, seed = 7, level = 100) => {
  const g = noise(seed);
  return Array.from({ length: n }, () => level + g());
};
const series = (values: number[], step = 60): RegularSeries => ({ start: 1_700_000_000, step, values });
const fusion = (s: RegularSeries, settings: Partial<FusionSettings> = {}) =>
  detect(s, { direction: 'up', detectors: [{ kind: 'fusion', ...settings }] });

describe('stepScores: a level shift that holds', () => {
  it('is the smallest |z| of the last points, signed, in units of sigma; 0 when the sign changes', () => {
    const z = [0.5, 4, 5, 6, -4, -5, 3];
    const s = stepScores(z, 3, 2);
    assert.ok(Number.isNaN(s[0]!) && Number.isNaN(s[1]!), 'too few points');
    assert.equal(s[2], 0.25); // 0.5, 4, 5: smallest 0.5, / 2
    assert.equal(stepScores([0.5, 4, 5], 3, 2)[2], 0.25);
    assert.equal(s[3], 2); // 4, 5, 6 → 4 / 2
    assert.equal(s[4], 0); // 5, 6, −4: mixed signs
    assert.equal(s[6], 0);
    assert.equal(stepScores([-4, -5, -6], 3, 2)[2], -2);
  });

  it('skips missing points (up to twice the points back) and is NaN at a missing point', () => {
    const s = stepScores([5, Number.NaN, 6, 7], 3, 1);
    assert.ok(Number.isNaN(s[1]!));
    assert.equal(s[3], 5);
    assert.ok(Number.isNaN(stepScores([5, Number.NaN, Number.NaN, Number.NaN, Number.NaN, 6, 7], 3, 1)[6]!), 'too far back');
  });
});

describe('trailingMax and dailyPeakBar', () => {
  it('trailingMax is the largest of the previous `length` finite values', () => {
    assert.deepEqual(trailingMax([3, 1, Number.NaN, 2, 0, 0], 2), [Number.NEGATIVE_INFINITY, 3, 3, 1, 2, 2]);
  });

  it('is the median of the previous days\' peaks (× ratio), 0 before 3 whole days', () => {
    const period = 10;
    const scores = new Array<number>(60).fill(0.1);
    scores[5] = 1; scores[15] = 2; scores[25] = 3; scores[35] = 4; scores[45] = 5;
    const bar = dailyPeakBar(scores, period, 7, 1);
    assert.equal(bar[29], 0, 'under 3 whole days behind');
    assert.equal(bar[30], 2); // days [20,29], [10,19], [0,9]: peaks 3, 2, 1
    assert.equal(bar[50], 3); // peaks 5, 4, 3, 2, 1
    assert.equal(dailyPeakBar(scores, period, 7, 1.5)[50], 4.5);
    assert.equal(dailyPeakBar(scores, period, 0, 1)[50], 0, 'off');
  });

  it('an incident on 3 of the previous 7 days does not lift the bar; one every day does', () => {
    const period = 24;
    const scores = new Array<number>(8 * period).fill(0.5);
    for (const day of [1, 3, 5]) scores[day * period + 12] = 10;
    assert.equal(dailyPeakBar(scores, period, 7, 1)[7 * period], 0.5);
    for (let day = 0; day < 7; day++) scores[day * period + 12] = 10;
    assert.equal(dailyPeakBar(scores, period, 7, 1)[7 * period], 10);
  });
});

describe('shorth baseline scale', () => {
  it('the shortest half of a window lies in the majority, whatever the rest is', () => {
    const w = new SortedWindow();
    for (const x of [1, 2, 3, 4, 50, 60, 70]) w.add(x);
    assert.deepEqual(w.shortestHalf(), { lo: 1, hi: 4 });
  });

  it('an earlier step in the baseline inflates the IQR scale but not the shorth one', () => {
    const values = noisy(400);
    for (let i = 150; i < 250; i++) values[i]! += 8; // 100 of the 288 baseline points shifted
    const iqr = trailingStats(values, 288, 1, 72).scale[399]!;
    const shorth = trailingStats(values, 288, 1, 72, true, 'shorth').scale[399]!;
    assert.ok(iqr > 3, `iqr ${iqr}`);
    assert.ok(shorth > 0.6 && shorth < 2, `shorth ${shorth}`);
  });
});

describe('fusion: step path and peak bar', () => {
  it('a 4σ step pages within 3 points on the step path, later without it', () => {
    const values = noisy(900, 11);
    for (let i = 650; i < 760; i++) values[i]! += 4;
    const s = series(values);
    const firedAt = (settings: Partial<FusionSettings>) => fusion(s, { peak_days: 0, ...settings }).episodes.find((e) => e.start >= s.start + 640 * 60)?.fired_at;
    assert.equal(firedAt({ step_points: 0 }), s.start + 657 * 60);
    assert.equal(firedAt({ step_points: 3, step_sigma: 3, step_scale: 'shorth' }), s.start + 652 * 60, 'a held step opens its episode at once');
  });

  it('after an earlier incident in the baseline, the step path on the shorth scale still finds a 4σ step at once', () => {
    const values = noisy(900, 13);
    for (let i = 400; i < 430; i++) values[i]! += 8;
    for (let i = 650; i < 760; i++) values[i]! += 4;
    const s = series(values);
    const firedAt = (settings: Partial<FusionSettings>) => fusion(s, { peak_days: 0, ...settings }).episodes.find((e) => e.start >= s.start + 640 * 60)?.fired_at;
    assert.equal(firedAt({ step_points: 3, step_sigma: 3.5 }), s.start + 659 * 60);
    assert.equal(firedAt({ step_points: 3, step_sigma: 3, step_scale: 'shorth' }), s.start + 652 * 60);
  });

  it('the peak bar pages on about half the days of a burst the signal shows every day, and on a bigger one', () => {
    const period = 288; // 5-minute points
    const values = noisy(10 * period, 3);
    for (let day = 0; day < 10; day++) for (let k = 0; k < 2; k++) values[day * period + 100 + k]! += 7; // the daily burst
    for (let k = 0; k < 3; k++) values[8 * period + 200 + k]! += 40; // an incident
    const s = series(values, 300);
    const pointOf = (t: number) => (t - s.start) / 300;
    const burstPages = (settings: Partial<FusionSettings>) => fusion(s, { step_points: 0, ...settings }).episodes
      .filter((e) => pointOf(e.start) >= 4 * period && pointOf(e.start) % period >= 95 && pointOf(e.start) % period <= 105).length;
    const incident = (settings: Partial<FusionSettings>) => fusion(s, { step_points: 0, ...settings }).episodes
      .some((e) => pointOf(e.start) >= 8 * period + 195 && pointOf(e.start) <= 8 * period + 203);
    assert.ok(burstPages({ peak_days: 0 }) >= 5, 'without the bar the daily burst pages (nearly) every day');
    assert.ok(burstPages({ peak_days: 7, peak_ratio: 1 }) <= 3, String(burstPages({ peak_days: 7, peak_ratio: 1 })));
    assert.ok(incident({ peak_days: 7, peak_ratio: 1 }));
  });
});
