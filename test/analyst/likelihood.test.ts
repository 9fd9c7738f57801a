import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runFusion } from '../../core/analyst/fusion.js';
import { scoreSurprise } from '../../core/analyst/ops-detectors.js';
import type { RegularSeries } from '../../core/analyst/series.js';

describe('anomaly likelihood (scoreSurprise) and its gate in the fusion', () => {
  it('the recent mean against the long-run mean and σ before it', () => {
    const scores = [0, 1, 0, 1, 0, 1, 0, 1, 5, 5];
    const s = scoreSurprise(scores, 2, 8);
    // At 9: recent [5, 5] = 5; long run [0,1,…,0,1] = mean 0.5, σ 0.5 → (5 − 0.5) / 0.5 = 9.
    assert.equal(s[9], 9);
    assert.ok(Number.isNaN(s[3]!), 'too little long-run history');
    assert.equal(scoreSurprise([0, 0, 0, 0, 1], 1, 4)[4], 1 / 0.05, 'a flat history: σ floored at 0.05');
  });

  it('a burst the series shows every day pages without the gate and not with it; a new kind of burst pages with it', () => {
    const values: number[] = [];
    for (let i = 0; i < 288 * 8; i++) values.push(100 + Math.sin(i) + (i % 200 === 150 ? 40 : 0) + (i === 288 * 7 + 20 ? 400 : 0));
    for (let i = 288 * 7 + 20; i < 288 * 7 + 25; i++) values[i] = 400;
    const series: RegularSeries = { start: 0, step: 300, values };
    const late = (pages: Array<{ start: number }>) => pages.filter((e) => e.start >= 288 * 4 * 300);
    const plain = runFusion(series, { kind: 'fusion', novelty_points: 0, seasonal: 'none' }, 'both', 24).pages;
    const gated = runFusion(series, { kind: 'fusion', novelty_points: 0, seasonal: 'none', likelihood_points: 576, likelihood_recent_points: 3, likelihood_sigma: 2 }, 'both', 24).pages;
    assert.ok(late(plain).length > late(gated).length, `the repeated bursts page less (${late(plain).length} → ${late(gated).length})`);
    assert.ok(late(gated).some((e) => e.start >= (288 * 7 + 19) * 300 && e.start <= (288 * 7 + 25) * 300), 'the new burst still pages');
  });
});
