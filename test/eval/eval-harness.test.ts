import { test } from 'node:test';
import { runScenario } from '../../eval/harness.js';
import { loadScenarios } from '../../eval/scenarios.js';
import { prometheusBinary, prometheusSkipReason } from '../support/prometheus.js';
import { assertRanCleanly } from './harness-support.js';

/*
 * Three representative scenarios through the whole loop in `none` mode (real Prometheus
 * backfilled by promtool, the Kubernetes and GitHub stand-ins, opsloop on PGlite): a bad deploy
 * whose undo heals the world, a false alarm, and a remedy that makes things worse. Every scenario:
 * `npm run test:eval` (test/eval/all-scenarios.slow.ts).
 */
const REPRESENTATIVE = ['bad-deploy-checkout', 'false-alarm-checkout', 'fix-makes-worse-restart-catalog'];

for (const id of REPRESENTATIVE) {
  test(`eval harness, mode none: ${id} runs through the loop and is scored`, { timeout: 240_000 }, async (t) => {
    if (!prometheusBinary()) return t.skip(prometheusSkipReason());
    const [scenario] = await loadScenarios(undefined, id);
    const result = await runScenario(scenario!, { mode: 'none', settleS: 4, timeoutMs: 150_000 });
    t.diagnostic(JSON.stringify({ final: result.score?.final_state, action: result.score?.action_chosen, changes: result.score?.world_changes }));
    assertRanCleanly(result);
  });
}
