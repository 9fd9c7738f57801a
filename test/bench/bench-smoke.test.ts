/*
 * Smoke test of the benchmarks: each runs in a tiny configuration and must produce sane figures
 * and a results file. Not a performance assertion (no thresholds on speed).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runMemoryBench } from '../../bench/memory.js';
import { runOutboxBench } from '../../bench/outbox.js';
import { runTransitionsBench } from '../../bench/transitions.js';
import { pgbenchAvailable } from '../../bench/lib/pgbench-runner.js';
import { percentile, summarize } from '../../bench/lib/stats.js';
import { formatTable } from '../../bench/lib/table.js';
import { POSTGRES_SKIP_REASON, testDatabaseUrl } from '../support/postgres.js';

const serverUrl = testDatabaseUrl();
const quiet = () => undefined;
let resultsDir = '';

async function readResults(file: string): Promise<{ benchmark: string; machine: { cpu_count: number; node: string }; results: unknown }> {
  assert.ok(file.startsWith(resultsDir), `results go to BENCH_RESULTS_DIR, not ${file}`);
  return JSON.parse(await readFile(file, 'utf8'));
}

before(async () => {
  resultsDir = await mkdtemp(join(tmpdir(), 'opsloop-bench-results-'));
  process.env.BENCH_RESULTS_DIR = resultsDir;
  if (serverUrl) process.env.BENCH_DATABASE_URL = serverUrl;
});

after(async () => {
  await rm(resultsDir, { recursive: true, force: true });
});

describe('bench helpers', () => {
  it('percentiles are nearest-rank and summaries cover the samples', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i);
    assert.equal(percentile([...samples].sort((a, b) => a - b), 50), 50);
    const s = summarize(samples);
    assert.deepEqual([s.count, s.p50, s.p99, s.max, s.mean], [100, 50, 99, 100, 50.5]);
    assert.ok(Number.isNaN(summarize([]).p50));
  });

  it('tables align columns and show missing values as -', () => {
    const text = formatTable(['name', 'tps'], [['a', 12.345], ['bb', null]]);
    assert.deepEqual(text.split('\n'), ['name   tps', '----  ----', 'a     12.3', 'bb       -']);
  });
});

describe('bench smoke', { timeout: 900_000 }, () => {
  it('transitions: opsloop on PGlite (and on the server side by side with pgbench when TEST_DATABASE_URL is set)', async (t) => {
    if (!serverUrl) t.diagnostic(POSTGRES_SKIP_REASON + ' (only the PGlite part runs)');
    const { rows, file } = await runTransitionsBench({
      seconds: 1, warmupSeconds: 1, concurrency: [1, 2], casesPerWorker: 2, poolMax: 4, postgres: Boolean(serverUrl), pglite: true, pgbenchModes: ['prepared', 'extended'],
    }, quiet);
    const pglite = rows.filter((r) => r.backend === 'pglite');
    assert.deepEqual(pglite.map((r) => r.concurrency), [1, 2]);
    for (const row of rows) {
      assert.ok(row.opsloop.transactions > 0 && row.opsloop.tps > 0, `${row.backend} c=${row.concurrency} ran transitions`);
      assert.ok(row.opsloop.latency_ms.p50 > 0 && row.opsloop.latency_ms.p99 >= row.opsloop.latency_ms.p50);
    }
    if (serverUrl && pgbenchAvailable()) {
      for (const row of rows.filter((r) => r.backend === 'postgres')) {
        assert.ok(row.pgbench && row.pgbench.transactions > 0 && row.pgbench.failed === 0, `pgbench ran at c=${row.concurrency}`);
        assert.ok(row.ratio !== null && row.ratio > 0);
      }
    }
    const written = await readResults(file);
    assert.equal(written.benchmark, 'transitions');
    assert.ok(written.machine.cpu_count > 0 && written.machine.node.startsWith('v'));
  });

  it('outbox: every message delivered once across 1 and 2 relay processes', { skip: serverUrl ? false : POSTGRES_SKIP_REASON }, async () => {
    const { rows, file } = await runOutboxBench({ rate: 20, seconds: 2, relays: [1, 2], cases: 20, relayPollMs: null, signal: true, drainTimeoutS: 120 }, quiet);
    assert.deepEqual(rows.map((r) => r.relays), [1, 2]);
    for (const row of rows) {
      assert.ok(row.transitions > 0, 'transitions were driven');
      assert.equal(row.errors, 0);
      assert.equal(row.undelivered, 0, 'nothing left in the outbox');
      assert.equal(row.duplicates, 0, 'no message delivered twice');
      assert.equal(row.messages_delivered, row.messages_written);
      assert.equal(row.lag_ms.count, row.transitions, 'one lag per transition event');
      assert.equal(row.per_relay.length, row.relays);
    }
    assert.equal((await readResults(file)).benchmark, 'outbox');
  });

  it('memory: npm start answers on a new and a reopened data dir, RSS is sampled idle and after driving cases, each figure beside its goal', async () => {
    const { result, file } = await runMemoryBench({ cases: 3, parallel: 3, sampleSeconds: 1, settleSeconds: 0, startTimeoutS: 600, stores: ['pglite'] }, quiet);
    assert.deepEqual(result.scenarios.map((s) => [s.name, s.phases.length]), [['PGlite, first start', 1], ['PGlite, later start', 2]]);
    for (const phase of result.scenarios.flatMap((s) => s.phases)) {
      assert.ok(phase.rss.app_mb > 20, `${phase.phase}: app RSS ${phase.rss.app_mb} MB`);
      assert.ok(phase.rss.tree_mb >= phase.rss.app_mb);
      assert.ok(phase.breakdown && phase.breakdown.heap_used_mb > 0 && phase.breakdown.external_mb > 0, 'the app reports its heap and external memory');
    }
    assert.equal(result.scenarios[1]!.drive?.statuses['201'], 3, 'three cases created');
    assert.deepEqual(result.goals.map((g) => g.figure), ['PGlite, first start: idle', 'PGlite, later start: idle', 'PGlite, later start: after 3 cases / idle']);
    assert.equal((await readResults(file)).benchmark, 'memory');
  });
});
