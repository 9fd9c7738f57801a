import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spearman, stageBreakdown, stormOrder } from '../../bench/lib/loop-profile.js';

test('spearman: 1 for the same order, -1 reversed, ties share their rank, NaN without spread', () => {
  assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1);
  assert.equal(spearman([1, 2, 3, 4], [40, 30, 20, 10]), -1);
  assert.ok(Math.abs(spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) - 0.8) < 1e-9);
  assert.ok(Math.abs(spearman([1, 2, 3], [5, 5, 9]) - Math.sqrt(3) / 2) < 1e-9, 'tied ranks averaged');
  assert.ok(Number.isNaN(spearman([1, 2, 3], [7, 7, 7])));
  assert.throws(() => spearman([1], [1, 2]), RangeError);
});

test('storm order: the first k opened, the rate over the storm, and a case that never closed', () => {
  const closed = new Map([['a', 1_500], ['b', 2_000], ['c', 4_000], ['d', 3_000]]);
  const order = stormOrder(['a', 'b', 'c', 'd', 'e'], closed, 1_000, 2);
  assert.equal(order.first_k_closed_ms, 1_000, 'a and b closed by 2 s, 1 s after the storm was sent');
  assert.equal(order.cases_per_s, 4 / 3, '4 closed in the 3 s up to the last close');
  assert.ok(Math.abs(order.spearman - 0.8) < 1e-9);
  assert.ok(Number.isNaN(stormOrder(['e', 'a'], closed, 1_000, 2).first_k_closed_ms), 'e never closed');
});

test('stage breakdown: medians since the command and since the previous entry, repeats numbered', () => {
  const at = (ms: number) => new Date(ms);
  const trace = (sentAt: number, steps: number[]) => ({
    sentAt,
    entries: [
      { kind: 'created', event: 'case_created', created_at: at(sentAt + steps[0]!) },
      { kind: 'note', event: 'step_result', created_at: at(sentAt + steps[1]!) },
      { kind: 'note', event: 'step_result', created_at: at(sentAt + steps[2]!) },
    ],
  });
  const rows = stageBreakdown([trace(0, [10, 30, 70]), trace(1000, [20, 50, 60]), trace(5000, [30, 40, 100])]);
  assert.deepEqual(rows, [
    { stage: 'created case_created', cases: 3, at_ms: 20, gap_ms: 20 },
    { stage: 'note step_result', cases: 3, at_ms: 40, gap_ms: 20 },
    { stage: 'note step_result #2', cases: 3, at_ms: 70, gap_ms: 40 },
  ]);
});
