import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { transitionsGoalLine, type TransitionsRow } from '../../bench/transitions.js';

const latency = { count: 1, mean: 1, p50: 1, p99: 1, max: 1 } as TransitionsRow['opsloop']['latency_ms'];
const measured = (tps: number) => ({ tps, client_cpu_ms_per_tx: 0.1, transactions: 10, latency_ms: latency });

/** A server row whose first pgbench mode is `mode`, at `ratio` of it. */
function row(concurrency: number, ratio: number, mode: 'prepared' | 'extended' = 'prepared'): TransitionsRow {
  const other = mode === 'prepared' ? 'extended' : 'prepared';
  return {
    backend: 'postgres', concurrency, opsloop: measured(100 * ratio), ratio,
    pgbench: { ...measured(100), failed: 0, mode },
    other_modes: [{ ...measured(50), failed: 0, mode: other, ratio: 2 * ratio }],
  };
}

describe('bench:transitions goal line', () => {
  it('prints each ratio beside the goal with its gap, and "not met" while one misses', () => {
    const line = transitionsGoalLine([row(1, 0.72), row(8, 0.8), row(32, 0.364)]);
    assert.equal(line, 'goal: opsloop ≥ 80 % of pgbench -M prepared at 1, 8, 32 clients on the server — 1: 72 % (gap 8 pts), 8: 80 % (met), 32: 36 % (gap 44 pts) → not met');
  });

  it('is met only when every goal client count reaches 80 % of -M prepared, whichever mode ran first', () => {
    assert.match(transitionsGoalLine([row(1, 0.9), row(8, 0.81), row(32, 1.2)]), /→ met$/);
    // -M extended first: the prepared ratio comes from the other modes (here half the extended one).
    assert.match(transitionsGoalLine([row(1, 0.5, 'extended'), row(8, 0.5, 'extended'), row(32, 0.5, 'extended')]), /1: 100 % \(met\).*→ met$/);
  });

  it('a goal client count that was not measured is not met', () => {
    const line = transitionsGoalLine([row(1, 0.9), row(8, 0.9)]);
    assert.match(line, /32: not measured → not met$/);
    assert.match(transitionsGoalLine([{ ...row(1, 0.9), backend: 'pglite' }, row(8, 0.9), row(32, 0.9)]), /1: not measured/);
  });
});
