import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareDelivery, jobDueAt, LANE_SPACING_MS, type DeliveryRank } from '../../core/outbox/delivery-order.js';
import { deliveryRank } from '../../core/outbox/priority.js';
import { groupByCase } from '../../core/outbox/delivery-chains.js';
import type { OutboxRecord } from '../../core/schemas/outbox.js';

const T0 = Date.parse('2026-12-05T12:00:00Z');

test('delivery order: lane first, then the older case, then outbox order', () => {
  const ranks: Array<DeliveryRank & { name: string }> = [
    { name: 'new case, early message', lane: 0, openedAt: T0 + 5_000, seq: 1 },
    { name: 'old case, late message', lane: 0, openedAt: T0, seq: 9 },
    { name: 'old case, earlier message', lane: 0, openedAt: T0, seq: 4 },
    { name: 'no case', lane: 0, seq: 2 },
    { name: 'severe, newest', lane: 1, openedAt: T0 + 60_000, seq: 20 },
    { name: 'person, newest', lane: 2, openedAt: T0 + 90_000, seq: 30 },
  ];
  assert.deepEqual([...ranks].sort(compareDelivery).map((r) => r.name), [
    'person, newest', 'severe, newest', 'old case, earlier message', 'old case, late message', 'new case, early message', 'no case',
  ]);
});

test('one case\'s messages keep outbox order whatever the other cases are', () => {
  const ranks: DeliveryRank[] = [];
  for (let seq = 1; seq <= 40; seq++) ranks.push({ lane: seq % 3 === 0 ? 1 : 0, openedAt: T0 + (seq % 4) * 1000, seq });
  const sorted = [...ranks].sort(compareDelivery);
  // Messages sharing lane and opening time (one case) come out in seq order.
  const key = (r: DeliveryRank) => `${r.lane}/${r.openedAt}`;
  for (const k of new Set(ranks.map(key))) {
    const seqs = sorted.filter((r) => key(r) === k).map((r) => r.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `case ${k}`);
  }
});

test('job due time: never after now; a higher lane before any lower one; older case first within a lane', () => {
  const now = new Date(T0 + 3_600_000);
  const due = (lane: number, openedMs?: number) => jobDueAt({ lane, now, ...(openedMs !== undefined ? { openedAt: new Date(openedMs) } : {}) }).getTime();
  assert.equal(due(0), now.getTime(), 'no case: due now');
  assert.equal(due(0, T0), T0);
  assert.ok(due(0, T0) < due(0, T0 + 1), 'older case first');
  assert.equal(due(0, now.getTime() + 60_000), now.getTime(), 'a case opened "in the future" (clock step) counts as now');
  assert.equal(due(2, T0), T0 - 2 * LANE_SPACING_MS);
  assert.ok(due(1, now.getTime()) < due(0, T0 - 30 * 24 * 3_600_000), 'a new severe job before a month-old normal one');
  assert.ok(due(2, now.getTime()) < due(1, T0 - 30 * 24 * 3_600_000), 'a new person job before a month-old severe one');
  assert.equal(due(-1, T0), due(0, T0), 'an invalid lane counts as normal');
});

function record(seq: number, caseId: string, opts: { lane?: number; openedAt?: number; group?: 'loop' | 'side' } = {}): OutboxRecord {
  return {
    seq, group: opts.group ?? 'loop', attempts: 1,
    envelope: { id: `m${seq}`, topic: 'cmd.analyze', occurred_at: new Date(T0).toISOString(), case_id: caseId, version: 1, trace_id: null, correlation_id: null, data: {}, ...(opts.lane !== undefined ? { priority: opts.lane } : {}) },
    ...(opts.openedAt !== undefined ? { caseOpenedAt: opts.openedAt } : {}),
  };
}

test('the relay starts a batch\'s chains in delivery order and keeps each chain in outbox order', () => {
  const batch = [
    record(5, 'new', { openedAt: T0 + 10 }),
    record(1, 'new', { openedAt: T0 + 10 }),
    record(7, 'old', { openedAt: T0 }),
    record(3, 'old', { openedAt: T0 }),
    record(9, 'person', { lane: 2, openedAt: T0 + 20 }),
    record(2, 'unknown'),
    record(4, 'old', { openedAt: T0, group: 'side' }),
  ];
  const chains = groupByCase(batch).map((chain) => chain.map((r) => `${r.envelope.case_id}/${r.group}#${r.seq}`));
  assert.deepEqual(chains, [
    ['person/loop#9'],
    ['old/loop#3', 'old/loop#7'],
    ['old/side#4'],
    ['new/loop#1', 'new/loop#5'],
    ['unknown/loop#2'],
  ]);
  assert.deepEqual(deliveryRank(record(3, 'x', { lane: 7, openedAt: T0 })), { lane: 0, openedAt: T0, seq: 3 }, 'an out-of-range lane is stored as normal');
});
