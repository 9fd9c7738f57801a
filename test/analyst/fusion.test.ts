import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { detect, type DetectorOutput } from '../../core/analyst/detectors.js';
import { runFusion } from '../../core/analyst/fusion.js';
import { cusum, driftScores, seasonalExpectation, trailingStats } from '../../core/analyst/ops-detectors.js';
import type { RegularSeries } from '../../core/analyst/series.js';
import { DEFAULT_DETECTORS, MAX_POINTS_PER_QUERY, detectSettingsFor, pointsToQuery } from '../../core/analyst/signal-settings.js';
import type { FusionSettings } from '../../core/schemas/detectors.js';

/** Deterministic noise (Park–Miller + Box–Muller), σ = 1. */
function noise(seed: number): () => number {
  let s = seed;
  const rand = () => ((s = (s * 16807) % 2147483647) / 2147483647);
  return () => Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand());
}
const series = (values: number[], step = 60, start = 1_700_000_000): RegularSeries => ({ start, step, values });
const noisy = (n: number, seed = 5, level = 100) => {
  const g = noise(seed);
  return Array.from({ length: n }, () => level + g());
};
const at = (s: RegularSeries, i: number) => s.start + i * s.step;
const fusion = (s: RegularSeries, settings: Partial<FusionSettings> = {}, direction: 'up' | 'down' | 'both' = 'both') =>
  detect(s, { direction, detectors: [{ kind: 'fusion', ...settings }] });
const only = (d: { detectors: DetectorOutput[] }) => d.detectors[0]!;

describe('fusion detector: ops shapes', () => {
  it('a level step pages once, at the step, with spike and shift voting', () => {
    const values = noisy(600);
    for (let i = 400; i < 600; i++) values[i]! += 8;
    const s = series(values);
    const d = fusion(s);
    assert.equal(d.episodes.length, 1, JSON.stringify(d.episodes));
    assert.equal(d.episodes[0]!.start, at(s, 400));
    assert.ok(d.episodes[0]!.fired_at <= at(s, 403), 'fires within a few points');
    assert.equal(d.episodes[0]!.direction, 'up');
    const votes = only(d).candidates![0]!.members.filter((m) => m.vote).map((m) => m.member);
    assert.ok(votes.includes('spike') && votes.includes('shift'), JSON.stringify(votes));
  });

  it('a slow drift away from a stable long-run level (0.05σ per point) votes in the drift member and pages', () => {
    const values = noisy(1500, 9);
    for (let i = 1300; i < 1500; i++) values[i]! += 0.05 * (i - 1300);
    const s = series(values);
    const d = fusion(s, {}, 'up');
    assert.equal(d.episodes.length, 1, JSON.stringify(d.episodes));
    const fired = (d.episodes[0]!.fired_at - s.start) / 60;
    assert.ok(fired > 1300 && fired < 1500, `fired at ${fired}`);
    const drift = only(d).members!.drift!;
    assert.ok(drift[1499]! >= 1, `drift votes at the end: ${drift[1499]}`);
    assert.ok(drift.slice(800, 1300).every((v) => !(Math.abs(v) >= 1)), 'no drift vote before the ramp');
    assert.equal(fusion(series(noisy(1500, 9)), {}, 'up').episodes.length, 0, 'the same noise without the ramp is quiet');
  });

  it('a short spike burst on a noisy baseline pages; plain noise and a constant series with tiny wiggles do not', () => {
    const values = noisy(800, 21);
    for (const i of [500, 501, 502]) values[i]! += 15;
    const d = fusion(series(values), {}, 'up');
    assert.equal(d.episodes.length, 1, JSON.stringify(d.episodes));
    assert.equal((d.episodes[0]!.start - 1_700_000_000) / 60, 500);
    assert.equal(fusion(series(noisy(5000, 22))).episodes.length, 0, 'no page on 5000 points of noise');
    // A near-constant series: MAD is 0; the floor (1 % of the level) keeps 0.1 % wiggles quiet.
    const flat = Array.from({ length: 600 }, (_, i) => (i % 50 === 0 ? 1000.5 : 1000));
    assert.equal(fusion(series(flat)).episodes.length, 0);
  });

  it('a change point of 2σ (below the spike threshold) is found by the CUSUM', () => {
    const z = [...Array(50).fill(0), ...Array(20).fill(2)];
    const c = cusum(z, 1, 5, 100);
    assert.equal(c[49], 0);
    assert.equal(c[69], 20, 'accumulates z − slack per point');
    assert.equal(cusum([5, -5, -5], 1, 3, 100)[2], -4, 'clipped to ±3, two-sided');
    const values = noisy(700, 33);
    for (let i = 400; i < 700; i++) values[i]! += 2.5;
    const d = fusion(series(values), {}, 'up');
    assert.equal(d.episodes.length, 1, JSON.stringify(d.episodes));
    const fired = (d.episodes[0]!.fired_at - 1_700_000_000) / 60;
    assert.ok(fired >= 400 && fired < 430, `fired at ${fired}`);
  });
});

describe('seasonality robust to a missing day and a holiday', () => {
  const period = 96; // 15-minute points
  const daily = (i: number) => 100 + 50 * Math.sin((2 * Math.PI * i) / period);
  function week(): number[] {
    const g = noise(77);
    return Array.from({ length: 9 * period }, (_, i) => daily(i) + g());
  }

  it('the same-time median skips a missing day and ignores a holiday', () => {
    const v = week();
    for (let i = 2 * period; i < 3 * period; i++) v[i] = Number.NaN; // day 3 missing
    for (let i = 4 * period; i < 5 * period; i++) v[i] = v[i]! * 0.3; // day 5 a holiday
    const e = seasonalExpectation(v, period, 5, 1);
    const i = 7 * period + 30;
    assert.ok(Math.abs(e[i]! - daily(i)) < 2, `expectation ${e[i]} vs ${daily(i)}`);
    assert.ok(Number.isNaN(e[2 * period + 10]!), 'fewer than 3 previous days: no expectation');
  });

  it('the fusion pages on a real anomaly on day 8, not on the daily swing, the missing day or the holiday', () => {
    const v = week();
    for (let i = 2 * period; i < 3 * period; i++) v[i] = Number.NaN;
    for (let i = 4 * period; i < 5 * period; i++) v[i] = v[i]! * 0.3;
    const anomaly = 7 * period + 40;
    for (let i = anomaly; i < anomaly + 8; i++) v[i]! += 25;
    const s = series(v, 900);
    const d = fusion(s, { seasonal: 'daily', learning_points: 0 }, 'up');
    const afterHoliday = d.episodes.filter((e) => e.fired_at >= at(s, 6 * period));
    assert.equal(afterHoliday.length, 1, JSON.stringify(d.episodes.map((e) => (e.start - s.start) / 900)));
    assert.equal((afterHoliday[0]!.start - s.start) / 900, anomaly);
    // `auto` chooses the seasonal residual once it predicts better than the trailing median.
    const auto = runFusion(s, { kind: 'fusion' }, 'up');
    assert.ok(auto.seasonal[anomaly], 'auto uses the seasonal residual on day 8');
  });
});

describe('fusion vote, learning period and re-alert suppression', () => {
  it('one member alone does not page unless it is beyond `alone`; two agreeing members do', () => {
    const values = noisy(600, 41);
    for (let i = 400; i < 403; i++) values[i]! += 7; // spike z ≈ 7 votes (threshold 5); the CUSUM reaches 12 < 20
    const s = series(values);
    const base = { members: ['spike', 'shift'] as const, consecutive: 2, cusum_threshold: 20, step_points: 0 }; // 3 points at 7σ hold: no step path here
    const spikeOnly = fusion(s, { ...base, members: [...base.members], alone: 3 }, 'up');
    assert.equal(spikeOnly.episodes.length, 0, 'spike 1.4 × threshold alone, shift below: no page');
    const oneVote = fusion(s, { ...base, members: [...base.members], votes: 1, alone: 3 }, 'up');
    assert.equal(oneVote.episodes.length, 1, 'votes: 1 lets one member page');
    const alone = fusion(s, { ...base, members: [...base.members], alone: 1.2 }, 'up');
    assert.equal(alone.episodes.length, 1, 'beyond alone × threshold one member suffices');
  });

  it('no page during the learning period: the candidate is kept with verdict learning', () => {
    const values = noisy(400, 43);
    for (let i = 150; i < 170; i++) values[i]! += 12;
    const s = series(values);
    const learning = fusion(s, { learning_points: 200 });
    assert.equal(learning.episodes.length, 0);
    assert.deepEqual(only(learning).candidates!.map((c) => c.verdict), ['learning']);
    const learned = fusion(s, { learning_points: 100 });
    assert.equal(learned.episodes.length, 1);
    // Missing points do not count as history.
    const gappy = values.map((v, i) => (i < 120 && i % 2 ? Number.NaN : v));
    assert.equal(fusion(series(gappy), { learning_points: 100 }).episodes.length, 0, 'only ~90 valid points before the burst');
  });

  it('one page per incident: a burst within the quiet period joins the page; after it, a new page', () => {
    const values = noisy(900, 47);
    for (const from of [300, 340, 600]) for (let i = from; i < from + 10; i++) values[i]! += 12;
    const s = series(values);
    const d = fusion(s, { quiet_points: 60 }, 'up');
    assert.deepEqual(d.episodes.map((e) => (e.start - s.start) / 60), [300, 600]);
    const c = only(d).candidates!;
    assert.deepEqual(c.map((x) => x.verdict), ['paged', 'suppressed', 'paged']);
    assert.equal(c[1]!.joined, d.episodes[0]!.fired_at);
    assert.ok(d.episodes[0]!.end >= at(s, 349), 'the page covers the suppressed burst');
    const noQuiet = fusion(s, { quiet_points: 0 }, 'up');
    assert.equal(noQuiet.episodes.length, 3);
  });

  it('is causal: verdicts on a prefix equal those of the full run up to that point', () => {
    const values = noisy(900, 51);
    for (let i = 500; i < 560; i++) values[i]! += 6;
    for (let i = 700; i < 703; i++) values[i]! -= 20;
    const full = only(fusion(series(values)));
    for (const n of [520, 702, 750]) {
      const part = only(fusion(series(values.slice(0, n))));
      assert.deepEqual(part.scores, full.scores.slice(0, n), `scores on ${n} points`);
      assert.deepEqual(part.candidates!.map((c) => c.fired_at), full.candidates!.filter((c) => c.fired_at < at(series(values), n)).map((c) => c.fired_at));
    }
  });
});

describe('defaults and query length', () => {
  it('a signal without detectors gets the fusion; configured detectors are kept', () => {
    assert.deepEqual(detectSettingsFor({ direction: 'up', detectors: [] }, 60).detectors, DEFAULT_DETECTORS);
    assert.deepEqual(DEFAULT_DETECTORS, [{ kind: 'fusion' }]);
    assert.deepEqual(detectSettingsFor({ direction: 'up', detectors: [{ kind: 'ewma' }] }, 60).detectors, [{ kind: 'ewma' }]);
  });

  it('pointsToQuery covers the seasonal days, drift reference, learning and quiet period, capped for Prometheus', () => {
    // 1m: the peak bar's 7 days × 1440 + the baseline 288 (longer than the seasonal history) + quiet 60 + lookback 15
    assert.equal(pointsToQuery({ direction: 'both', detectors: [] }, 60), 7 * 1440 + 288 + 60 + 15);
    assert.equal(pointsToQuery({ direction: 'both', detectors: [] }, 300), 7 * 288 + 288 + 60 + 15);
    // Without it: 5 days × 1440 + window 1 + the drift window of seasonal residuals (30 + 720; longer than the 2 baselines of 288 the residual choice needs) + quiet 60 + lookback 15
    assert.equal(pointsToQuery({ direction: 'both', detectors: [{ kind: 'fusion', peak_days: 0 }] }, 60), 5 * 1440 + 1 + (30 + 720) + 60 + 15);
    assert.equal(pointsToQuery({ direction: 'both', detectors: [{ kind: 'fusion', seasonal: 'none', peak_days: 0 }] }, 60), 30 + 720 + 60 + 15);
    assert.equal(pointsToQuery({ direction: 'both', detectors: [{ kind: 'fusion', seasonal: 'none', peak_days: 0, novelty_points: 2016 }] }, 60), 2016 + 288 + 60 + 15, 'the novelty window and the baseline its scores stand on');
    assert.equal(pointsToQuery({ direction: 'both', detectors: [{ kind: 'fusion', seasonal: 'weekly' }] }, 60), MAX_POINTS_PER_QUERY);
    assert.equal(pointsToQuery({ direction: 'both', detectors: [{ kind: 'fusion', seasonal: 'none', peak_days: 0, learning_points: 3000 }] }, 60), 3000 + 60 + 15);
    assert.equal(pointsToQuery({ direction: 'both', detectors: [{ kind: 'fusion', seasonal: 'none', peak_days: 0, novelty_points: 0, likelihood_points: 2016 }] }, 60), 2016 + 10 + 288 + 60 + 15);
  });

  it('trailing stats and drift use only the window they name', () => {
    const st = trailingStats([1, 2, 3, 4, 5, 100], 5, 1, 5);
    assert.equal(st.median[5], 3);
    assert.ok(Math.abs(st.scale[5]! - 2 / 1.349) < 1e-9, `IQR 4 − 2 over 1.349: ${st.scale[5]}`);
    assert.ok(Number.isNaN(st.median[4]!));
    const flat = [...Array(40).fill(10), ...Array(10).fill(20)];
    const d = driftScores(flat, 5, 20, () => 1);
    assert.equal(d[41], 0, 'recent median still 10 with 2 of 5 recent points at 20');
    assert.equal(d[44], 10, 'recent median 20 against reference 10 (scale 0, floor 1)');
  });
});
