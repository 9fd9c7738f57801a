import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fusionPassBounds, fusionPassMayPage, trailingMin } from '../../core/analyst/fusion-reach.js';
import { runFusion } from '../../core/analyst/fusion.js';
import { seasonalScan } from '../../core/analyst/ops-detectors.js';
import type { RegularSeries } from '../../core/analyst/series.js';

function noisy(n: number, seed = 7): number[] {
  let s = seed;
  const rand = () => ((s = (s * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
  return Array.from({ length: n }, (_, i) => 100 + 10 * Math.sin((2 * Math.PI * i) / 288) + 3 * (rand() - 0.5));
}

describe('fusion reach (which Analyst passes can page)', () => {
  it('trailingMin is the minimum of the window it names', () => {
    const v = [5, 3, 8, 1, 9, 2, 7];
    assert.deepEqual(trailingMin(v, 3, 0), [5, 3, 3, 1, 1, 1, 2]);
    assert.deepEqual(trailingMin(v, 2, 1), [Infinity, 5, 3, 3, 1, 1, 2]);
  });

  it('seasonalScan reaches back past missing days and matches a run from its reach, not from later', () => {
    const v = noisy(288 * 8);
    const i = 288 * 7;
    for (let k = i - 10; k < i + 10; k++) v[k - 288] = Number.NaN; // yesterday's slot missing
    const whole = seasonalScan(v, 288, 5, 1);
    const reach = whole.reach[i]!;
    assert.equal(reach, i - 6 * 288 - 1, 'the missing day is skipped: six days back');
    assert.equal(seasonalScan(v.slice(reach), 288, 5, 1).expected[i - reach], whole.expected[i]);
    assert.notEqual(seasonalScan(v.slice(reach + 5), 288, 5, 1).expected[i - reach - 5], whole.expected[i], 'four days instead of five');
  });

  it('a quiet pass cannot page; a pass over a step can; a window too short to be exact may', () => {
    const values = noisy(288 * 9);
    for (let i = 288 * 8 + 100; i < values.length; i++) values[i]! += 60;
    const series: RegularSeries = { start: 0, step: 300, values };
    const b = fusionPassBounds(series, { kind: 'fusion' }, 'both', 24);
    const length = 2266;
    const pass = (end: number, len = length) => fusionPassMayPage(b, Math.max(0, end - len + 1), end - 14, end);
    assert.equal(pass(288 * 8 + 50), false, 'quiet');
    assert.equal(pass(288 * 8 + 105), true, 'the step');
    assert.equal(pass(288 * 8 + 50, 500), true, 'a 500-point window is not exact');
    // And the whole run agrees the step pages.
    const pages = runFusion(series, { kind: 'fusion' }, 'both', 24).pages;
    assert.ok(pages.some((e) => e.start >= (288 * 8 + 100) * 300), 'the whole run pages on the step');
  });

  it('a pass whose only way to page is the step path is not skipped', () => {
    const values = noisy(288 * 9);
    for (let i = 288 * 8 + 100; i < values.length; i++) values[i]! += 60;
    const series: RegularSeries = { start: 0, step: 300, values };
    // Two members and votes 3, alone 100: only the step path can page near the step.
    const settings = (step_points: number) => ({ kind: 'fusion' as const, members: ['spike' as const, 'shift' as const], votes: 3, alone: 100, step_points });
    const end = 288 * 8 + 105;
    const mayPage = (step_points: number) => fusionPassMayPage(fusionPassBounds(series, settings(step_points), 'both', 24), end - 2266 + 1, end - 14, end);
    const pagesNear = (step_points: number) => runFusion(series, settings(step_points), 'both', 24).pages.filter((e) => e.fired_at >= (end - 14) * 300 && e.fired_at <= end * 300).length;
    assert.equal(pagesNear(3), 1);
    assert.equal(mayPage(3), true);
    assert.equal(pagesNear(0), 0);
    assert.equal(mayPage(0), false);
  });
});
