/*
 * Smoke test of the chat benchmarks (clicks, storm, loop) in tiny configurations on embedded
 * PGlite: each must run, produce sane figures and write its results file. No speed thresholds;
 * the correctness figures (one transition, one thread post, every case CLOSED) are asserted.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runClicksBench } from '../../bench/clicks.js';
import { runLoopBench } from '../../bench/loop.js';
import { runStormBench } from '../../bench/storm.js';
import { prometheusBinary, prometheusSkipReason } from '../support/prometheus.js';

const quiet = () => undefined;
let resultsDir = '';
let savedStore: string | undefined;

async function readResults(file: string): Promise<{ benchmark: string; results: unknown }> {
  assert.ok(file.startsWith(resultsDir), `results go to BENCH_RESULTS_DIR, not ${file}`);
  return JSON.parse(await readFile(file, 'utf8'));
}

before(async () => {
  resultsDir = await mkdtemp(join(tmpdir(), 'opsloop-chat-bench-results-'));
  process.env.BENCH_RESULTS_DIR = resultsDir;
  savedStore = process.env.BENCH_STORE;
  process.env.BENCH_STORE = 'pglite';
});

after(async () => {
  if (savedStore === undefined) delete process.env.BENCH_STORE;
  else process.env.BENCH_STORE = savedStore;
  await rm(resultsDir, { recursive: true, force: true });
});

describe('chat bench smoke', { timeout: 600_000 }, () => {
  it('clicks: opsloop and bare Bolt both ack every click; every opsloop click approved its case', async () => {
    const { rows, file } = await runClicksBench({ concurrency: [1, 3], rounds: 2, warmupRounds: 1 }, quiet);
    assert.deepEqual(rows.map((r) => r.concurrency), [1, 3]);
    for (const r of rows) {
      assert.equal(r.requests, r.concurrency * 2);
      assert.deepEqual(r.errors, { opsloop: 0, bolt: 0 });
      assert.equal(r.unexpected_answers, 0);
      assert.equal(r.lost_answers, 0);
      assert.ok(r.opsloop_ms.p50 > 0 && r.bolt_ms.p50 > 0 && r.ratio_p99 > 0);
    }
    assert.equal((await readResults(file)).benchmark, 'clicks');
  });

  it('storm: 40 identical clicks → one transition, one thread post, 39 "already approved"', async () => {
    const { result, file } = await runStormBench({ clicks: 40, settleTimeoutS: 120 }, quiet);
    assert.equal(result.transitions, 1);
    assert.equal(result.thread_posts, 1);
    assert.equal(result.approved_answers, 1);
    assert.equal(result.already_answers, 39);
    assert.equal(result.errors, 0);
    assert.equal(result.final_status, 'EXECUTING');
    assert.equal((await readResults(file)).benchmark, 'storm');
  });

  it('loop: cases opened from Slack reach CLOSED, the script ran once per case', { skip: prometheusBinary() ? false : prometheusSkipReason() }, async () => {
    const out = await runLoopBench({ sequential: 1, parallel: 3, timeoutS: 180 }, quiet);
    assert.ok(out, 'Prometheus was available');
    const [seq, par] = out.phases;
    assert.deepEqual([seq?.cases, seq?.closed, seq?.script_runs], [1, 1, 1], JSON.stringify(seq));
    assert.deepEqual([par?.cases, par?.closed, par?.script_runs, par?.not_closed.length], [3, 3, 3, 0], JSON.stringify(par));
    assert.ok(par!.case_ms.p50 > 0 && par!.total_ms >= par!.case_ms.max);
    assert.equal((await readResults(out.file)).benchmark, 'loop');
  });
});
