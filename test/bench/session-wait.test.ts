import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PGlite } from '@electric-sql/pglite';
import { pgliteSession } from '../../adapters/store/pglite/pglite-session.js';
import { installSessionWaitMeter, summarizeWaits } from '../../bench/lib/session-wait.js';

test('summarizeWaits counts the turns that found the session taken and adds up waiting and holding', () => {
  const s = summarizeWaits([
    { ahead: 0, waitMs: 0.1, heldMs: 2 },
    { ahead: 3, waitMs: 6.4, heldMs: 1 },
    { ahead: 1, waitMs: 2, heldMs: 1.6 },
  ]);
  assert.deepEqual(s, { turns: 3, waited: 2, ahead_p99: 3, wait_ms: 9, held_ms: 5 });
  assert.deepEqual(summarizeWaits([]), { turns: 0, waited: 0, ahead_p99: 0, wait_ms: 0, held_ms: 0 });
});

test('the meter sees the turns of a PGlite session: one free, two served behind others', async () => {
  const meter = installSessionWaitMeter();
  try {
    const session = pgliteSession({} as PGlite); // run() and hold() never touch the instance
    const release = await session.hold();
    const first = session.run(async () => 1);
    const second = session.run(async () => 2);
    release();
    assert.deepEqual(await Promise.all([first, second]), [1, 2]);
    const s = meter.summary();
    assert.equal(s.turns, 3);
    assert.equal(s.waited, 2);
    assert.equal(s.ahead_p99, 2, 'the second waiter had the holder and the first waiter served ahead of it');
    meter.reset();
    assert.equal(meter.summary().turns, 0);
  } finally {
    meter.uninstall();
  }
});
