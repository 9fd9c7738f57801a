import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { detect, ewmaScores, robustZScores, seasonalResiduals } from '../../core/analyst/detectors.js';
import { episodesFromFlags } from '../../core/analyst/episodes.js';
import { inferStep, median, parseSeriesCsv, parseTimestamp, regularise, type RegularSeries } from '../../core/analyst/series.js';
import { DetectSettingsSchema } from '../../core/schemas/detectors.js';
import { parseServices } from '../../adapters/config/services-loader.js';

/** Deterministic noise (Park–Miller + Box–Muller), σ = 1. */
function noise(seed: number): () => number {
  let s = seed;
  const rand = () => ((s = (s * 16807) % 2147483647) / 2147483647);
  return () => Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand());
}
function series(values: number[], step = 60, start = 1_700_000_000): RegularSeries {
  return { start, step, values };
}
/** 300 noisy points around 100 with `shift` added from index `at` for `len` points. */
function stepSeries(shift: number, at = 200, len = 40, seed = 3): number[] {
  const g = noise(seed);
  return Array.from({ length: 300 }, (_, i) => 100 + g() + (i >= at && i < at + len ? shift : 0));
}
const t = (s: RegularSeries, i: number) => s.start + i * s.step;

describe('robust z-score', () => {
  it('scores a point against the median/MAD of earlier points only', () => {
    const s = series([1, 2, 3, 4, 5, 100]);
    const z = robustZScores(s, { kind: 'robust_z', baseline_points: 5, min_points: 5 });
    // median of 1..5 = 3, MAD = 1 → scale 1.4826
    assert.ok(Math.abs(z[5]! - (100 - 3) / 1.4826) < 1e-9);
    assert.ok(z.slice(0, 5).every(Number.isNaN), 'not enough baseline before');
  });

  it('fires on a 6σ step after `consecutive` points, at the step', () => {
    const s = series(stepSeries(6));
    const d = detect(s, { direction: 'up', detectors: [{ kind: 'robust_z', consecutive: 3 }] });
    assert.equal(d.episodes.length, 1, JSON.stringify(d.episodes));
    const e = d.episodes[0]!;
    assert.equal(e.start, t(s, 200));
    assert.equal(e.fired_at, t(s, 202));
    assert.equal(e.direction, 'up');
    assert.ok(e.peak.value > 104);
    assert.equal(e.open, false);
  });

  it('is quiet on plain noise', () => {
    const g = noise(11);
    const s = series(Array.from({ length: 3000 }, () => 50 + 2 * g()));
    assert.equal(detect(s, { direction: 'both', detectors: [{ kind: 'robust_z' }] }).episodes.length, 0);
  });

  it('min_scale keeps a constant series from firing on tiny changes', () => {
    const values = Array.from({ length: 100 }, (_, i) => (i >= 80 ? 0.001 : 0));
    const loud = detect(series(values), { direction: 'up', detectors: [{ kind: 'robust_z', consecutive: 2 }] });
    assert.equal(loud.episodes.length, 1, 'zero scale: any change is anomalous');
    const calm = detect(series(values), { direction: 'up', detectors: [{ kind: 'robust_z', consecutive: 2, min_scale: 0.01 }] });
    assert.equal(calm.episodes.length, 0);
  });
});

describe('direction', () => {
  const down = series(stepSeries(-8));
  it('up ignores a drop, down and both catch it', () => {
    const run = (direction: 'up' | 'down' | 'both') => detect(down, { direction, detectors: [{ kind: 'robust_z' }] }).episodes;
    assert.equal(run('up').length, 0);
    assert.equal(run('down').length, 1);
    assert.equal(run('down')[0]!.direction, 'down');
    assert.equal(run('both')[0]!.direction, 'down');
  });
});

describe('N consecutive points', () => {
  it('isolated spikes shorter than N never fire; N in a row do', () => {
    const values = stepSeries(0).map((v, i) => ([150, 151, 170, 171, 190, 191].includes(i) ? v + 20 : v));
    const s = series(values);
    assert.equal(detect(s, { direction: 'up', detectors: [{ kind: 'robust_z', consecutive: 3 }] }).episodes.length, 0);
    const two = detect(s, { direction: 'up', detectors: [{ kind: 'robust_z', consecutive: 2 }] }).episodes;
    assert.deepEqual(two.map((e) => (e.start - s.start) / 60), [150, 170, 190]);
  });

  it('episode bookkeeping: clear points end it, an unfinished one is open', () => {
    const s = series(new Array(12).fill(0));
    const L = [0, 2, 1, 2, 0, 2, 2, 2, 0, 0, 2, 2] as const;
    const eps = episodesFromFlags(s, [...L], { consecutive: 3, clear: 2, maxGap: 1, signOf: () => 1, peakOf: (i) => i });
    assert.equal(eps.length, 1, 'the last run is too short');
    assert.equal(eps[0]!.start, t(s, 1));
    assert.equal(eps[0]!.fired_at, t(s, 3));
    assert.equal(eps[0]!.end, t(s, 7), 'the single normal point at 4 did not end it');
    assert.equal(eps[0]!.open, false);
    const open = episodesFromFlags(s, [0, 2, 2, 2, 1, 1, 2, 2, 2, 2, 2, 2], { consecutive: 3, clear: 2, maxGap: 1, signOf: () => 1, peakOf: () => 0 });
    assert.equal(open.length, 1);
    assert.equal(open[0]!.open, true);
    assert.equal(open[0]!.points, 11);
  });

  it('a run must start beyond the threshold (a weak point does not start one)', () => {
    const s = series(new Array(6).fill(0));
    const eps = episodesFromFlags(s, [1, 1, 1, 1, 1, 1], { consecutive: 3, clear: 2, maxGap: 1, signOf: () => 1, peakOf: () => 0 });
    assert.equal(eps.length, 0);
  });
});

describe('gaps', () => {
  it('short gaps are skipped, long gaps break a run', () => {
    const s = series(new Array(10).fill(0));
    const opts = { consecutive: 3, clear: 2, maxGap: 1, signOf: () => 1, peakOf: () => 0 };
    assert.equal(episodesFromFlags(s, [2, null, 2, 2, 0, 0, 0, 0, 0, 0], opts).length, 1);
    assert.equal(episodesFromFlags(s, [2, null, null, 2, 2, 0, 0, 0, 0, 0], opts).length, 0);
  });

  it('a step in a series with 10% missing points is still found', () => {
    const g = noise(5);
    const values = stepSeries(6, 200, 40, 9).map((v, i) => (i % 10 === 3 || i === 201 ? Number.NaN : v + 0 * g()));
    const d = detect(series(values), { direction: 'up', detectors: [{ kind: 'robust_z', consecutive: 3 }, { kind: 'ewma', consecutive: 3 }] });
    for (const name of ['robust_z', 'ewma']) {
      const e = d.episodes.find((x) => x.detector === name);
      assert.ok(e, `${name} found the step`);
      assert.equal(e.start, d.start + 200 * 60);
    }
    assert.ok(d.detectors[0]!.flags[201] === null && Number.isNaN(d.detectors[0]!.scores[201]!));
  });

  it('points given with gaps are regularised onto the inferred step', () => {
    const pts = [0, 60, 120, 300, 360].map((t0) => ({ t: 1000 + t0, v: t0 }));
    const r = regularise(pts);
    assert.equal(r.step, 60);
    assert.equal(r.values.length, 7);
    assert.ok(Number.isNaN(r.values[3]!) && Number.isNaN(r.values[4]!));
    assert.equal(r.values[6], 360);
  });
});

describe('EWMA band', () => {
  it('fires on a step and adapts to a persistent new level', () => {
    const s = series(stepSeries(8, 100, 200));
    const d = detect(s, { direction: 'up', detectors: [{ kind: 'ewma', consecutive: 3 }] });
    assert.ok(d.episodes.length >= 1);
    assert.equal(d.episodes[0]!.start, t(s, 100));
    assert.ok(d.episodes.every((e) => !e.open), 'after a while the new level is normal');
  });

  it('a lone outlier does not drag the mean (update is clipped to the band)', () => {
    const values = stepSeries(0).map((v, i) => (i === 100 ? 1e6 : v));
    const z = ewmaScores(values, { kind: 'ewma', band: 3 });
    assert.ok(z[100]! > 1000);
    assert.ok(Math.abs(z[101]!) < 5, `next point is normal again (z=${z[101]})`);
  });
});

describe('static thresholds', () => {
  it('above/below fire on the value, ignoring the direction', () => {
    const values = [1, 1, 5, 6, 7, 1, 1, -5, -6, -7, 1];
    const d = detect(series(values), { direction: 'up', detectors: [{ kind: 'static', above: 4, below: -4, consecutive: 3, clear: 1 }] });
    assert.deepEqual(d.episodes.map((e) => e.direction), ['up', 'down']);
    assert.equal(d.episodes[0]!.peak.value, 7);
    assert.equal(d.episodes[1]!.peak.value, -7);
  });

  it('needs above or below', () => {
    assert.equal(DetectSettingsSchema.safeParse({ detectors: [{ kind: 'static' }] }).success, false);
  });
});

describe('daily seasonality', () => {
  // 3 days of 5-minute points: a strong daily wave (amplitude 20σ) and a 6σ step on day 3.
  const step = 300;
  const perDay = 86_400 / step;
  const g = noise(21);
  const at = 2 * perDay + 100;
  const values = Array.from({ length: 3 * perDay }, (_, i) =>
    100 + 20 * Math.sin((2 * Math.PI * i) / perDay) + g() + (i >= at && i < at + 12 ? 6 : 0));
  const s = series(values, step);

  it('residuals remove the same-time-of-day level of previous days', () => {
    const r = seasonalResiduals(s, 7, 2);
    assert.ok(r.slice(0, perDay - 2).every(Number.isNaN), 'no history on day one');
    const dayTwo = r.slice(perDay + 10, 2 * perDay).filter(Number.isFinite);
    assert.ok(Math.abs(median(dayTwo)) < 0.5);
  });

  it('the seasonal baseline finds the step; in the fast part of the wave the plain one cannot keep up', () => {
    const seasonal = detect(s, { direction: 'up', detectors: [{ kind: 'robust_z', seasonal: 'daily', baseline_points: 24 }] });
    assert.equal(seasonal.episodes.length, 1, JSON.stringify(seasonal.episodes));
    assert.equal(seasonal.episodes[0]!.start, t(s, at));
    const plain = detect(s, { direction: 'both', detectors: [{ kind: 'robust_z', baseline_points: 24 }] });
    assert.ok(plain.episodes.length !== 1 || plain.episodes[0]!.start !== t(s, at), 'the wave confuses a short plain baseline');
  });
});

describe('series helpers and settings', () => {
  it('infers the step as the median delta, whatever the order', () => {
    assert.equal(inferStep([{ t: 600, v: 1 }, { t: 0, v: 1 }, { t: 300, v: 1 }, { t: 1500, v: 1 }]), 300);
    assert.equal(inferStep([{ t: 1, v: 1 }]), null);
  });

  it('parses the three timestamp formats to the same instant', () => {
    assert.equal(parseTimestamp('1714557600'), 1714557600);
    assert.equal(parseTimestamp('2024-05-01T10:00:00Z'), 1714557600);
    assert.equal(parseTimestamp('2024-05-01T12:00:00+02:00'), 1714557600);
    assert.equal(parseTimestamp('2024-05-01 10:00:00'), 1714557600);
    assert.equal(parseTimestamp('2024-02-31 10:00:00'), null);
    assert.equal(parseTimestamp('yesterday'), null);
  });

  it('CSV: header, gaps, sorting; a bad line is named', () => {
    const ok = parseSeriesCsv('time,value\n120,3\n0,1\n\n60,\n');
    assert.ok(ok.ok);
    assert.deepEqual(ok.points.map((p) => p.t), [0, 60, 120]);
    assert.ok(Number.isNaN(ok.points[1]!.v));
    const bad = parseSeriesCsv('time,value\n0,1\n60,1,2\n');
    assert.deepEqual(bad.ok ? null : bad.line, 3);
  });

  it('services.yml detectors are validated by kind, as written', () => {
    const file = parseServices('services:\n  a:\n    signals:\n      - { name: s, query: up, detectors: [{ kind: robust_z, threshold: 4, consecutive: 3 }] }\n');
    assert.deepEqual(file.services.a?.signals[0]?.detectors[0], { kind: 'robust_z', threshold: 4, consecutive: 3 });
    assert.throws(() => parseServices('services:\n  a:\n    signals:\n      - { name: s, query: up, detectors: [{ kind: robust_z, treshold: 4 }] }\n'), /treshold|Unrecognized/);
    assert.throws(() => parseServices('services:\n  a:\n    signals:\n      - { name: s, query: up, detectors: [{ kind: magic }] }\n'), /detectors/);
  });
});
