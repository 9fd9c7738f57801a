import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runScenario } from '../../eval/harness.js';
import { loadScenarios } from '../../eval/scenarios.js';
import { startScriptedModel } from '../../eval/scripted-model.js';
import { prometheusBinary, prometheusSkipReason } from '../support/prometheus.js';
import { assertRanCleanly } from './harness-support.js';

/*
 * `npm run test:eval`: every scenario through the harness in `none` mode, and one in `scripted`
 * mode (the scripted model must be asked). Too slow for `npm test` (~30–50 s a scenario).
 */
const scenarios = await loadScenarios();

for (const scenario of scenarios) {
  test(`eval harness, mode none: ${scenario.id}`, { timeout: 240_000 }, async (t) => {
    if (!prometheusBinary()) return t.skip(prometheusSkipReason());
    const result = await runScenario(scenario, { mode: 'none', settleS: 4, timeoutMs: 150_000 });
    assertRanCleanly(result);
  });
}

test('eval harness, mode scripted: the scripted model answers the loop (plumbing check)', { timeout: 240_000 }, async (t) => {
  if (!prometheusBinary()) return t.skip(prometheusSkipReason());
  const scenario = scenarios.find((s) => s.id === 'bad-deploy-checkout')!;
  const model = await startScriptedModel(scenario, { settleS: 4 });
  try {
    const result = await runScenario(scenario, { mode: 'scripted', settleS: 4, timeoutMs: 150_000, model: model.env });
    assertRanCleanly(result);
    assert.doesNotMatch(model.summary(), /^0 investigation request\(s\) \(0 tool call\(s\) replayed\), 0 planning/, model.summary());
    assert.equal(result.score!.action_chosen, 'k8s.rollout.undo');
  } finally {
    await model.close();
  }
});
