import assert from 'node:assert/strict';
import { test } from 'node:test';
import { goalRows, MEMORY_GOALS, type MemoryScenario } from '../../bench/memory.js';
import type { MemoryPhase } from '../../bench/lib/app-process.js';

/* bench:memory holds each figure against its goal (issue 17); with a check factor (CI) it flags only gross regressions. */

function phase(name: string, tree_mb: number): MemoryPhase {
  return { phase: name, rss: { app_mb: tree_mb, app_peak_mb: tree_mb, tree_mb, npm_mb: 50 }, app_max_mb: tree_mb, samples: 1, breakdown: null };
}

function scenario(name: string, idle: number, after?: number): MemoryScenario {
  return { name, store: name.startsWith('PGlite') ? 'pglite' : 'postgres', start_seconds: 1, phases: [phase('idle after start', idle), ...(after === undefined ? [] : [phase('after 300 cases', after)])], drive: null };
}

test('each idle figure is held against its own goal, and the figure after the cases against 1.2× the same process idle', () => {
  const rows = goalRows([scenario('PGlite, first start', 390), scenario('PGlite, later start', 310, 300), scenario('PostgreSQL server', 140, 190)]);
  assert.deepEqual(rows.map((r) => [r.figure, r.measured, r.goal, r.met]), [
    ['PGlite, first start: idle', 390, MEMORY_GOALS.pgliteFirstIdle, true],
    ['PGlite, later start: idle', 310, MEMORY_GOALS.pgliteLaterIdle, false],
    ['PGlite, later start: after 300 cases / idle', 0.97, MEMORY_GOALS.afterCasesRatio, true],
    ['PostgreSQL server: idle', 140, MEMORY_GOALS.postgresIdle, true],
    ['PostgreSQL server: after 300 cases / idle', 1.36, MEMORY_GOALS.afterCasesRatio, false],
  ]);
  assert.ok(rows.every((r) => r.within_check), 'without a check factor nothing fails the run');
});

test('with a check factor of 1.5 only a figure beyond 1.5× its goal fails', () => {
  const rows = goalRows([scenario('PGlite, later start', 449, 449 * 1.8), scenario('PostgreSQL server', 226, 226 * 1.81)], 1.5);
  assert.deepEqual(rows.map((r) => [r.figure, r.met, r.within_check]), [
    ['PGlite, later start: idle', false, true],
    ['PGlite, later start: after 300 cases / idle', false, true],
    ['PostgreSQL server: idle', false, false],
    ['PostgreSQL server: after 300 cases / idle', false, false],
  ]);
});
