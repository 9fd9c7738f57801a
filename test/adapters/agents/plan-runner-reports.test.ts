import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPlanRunner, unwrittenNote } from '../../../adapters/agents/plan-runner.js';
import { executorRegistry } from '../../../adapters/executors/step-runner.js';
import type { StepReport } from '../../../core/agents/agent-contracts.js';
import type { StepExecutor } from '../../../core/ports/step-executor.js';
import { ChangePlanSchema, type ChangePlan } from '../../../core/schemas/plan.js';
import type { CaseRecord } from '../../../core/schemas/case.js';

/**
 * A step report that cannot be written (the store is busy, the job lost its lock) must not stop the
 * run half-way: the change is made, so the undo or rollback still runs, and the final summary says
 * how many reports were not written.
 */

/** An adapter that records what it ran and fails the params that ask it to. */
function recordingExecutor(ran: string[]): StepExecutor<{ message: string; fail?: boolean }> {
  return {
    action: 'noop',
    validate: (p) => ({ ok: true, params: p as { message: string; fail?: boolean } }),
    run: async (p) => {
      ran.push(p.message);
      return p.fail ? { ok: false, summary: `${p.message} failed` } : { ok: true, summary: `${p.message} done` };
    },
  };
}

const aCase = { id: 'case-1', service: 'checkout', env: 'prod' } as CaseRecord;

function plan(steps: unknown[], rollback: unknown[] = []): ChangePlan {
  return ChangePlanSchema.parse({
    title: 'test plan', steps, rollback: { steps: rollback },
    verify: { settle_s: 0, checks: [{ name: 'x', query: 'up', op: '>', threshold: 0 }] },
  });
}

test('a failed step report does not stop the rollback; the summary counts the unwritten reports', async () => {
  const ran: string[] = [];
  const runner = createPlanRunner({ executors: executorRegistry([recordingExecutor(ran) as StepExecutor]) });
  const reports: StepReport[] = [];
  const result = await runner.run({
    plan: plan(
      [{ action: 'noop', params: { message: 'change', fail: true }, timeout_s: 10, retry: 0 }],
      [{ action: 'noop', params: { message: 'put it back' }, timeout_s: 10, retry: 0 }],
    ),
    case: aCase,
    touch: async () => {},
    onStep: async (r) => {
      if (!r.rollback && r.status === 'failed') throw new Error('step result: OPS_STORE_BUSY the store is busy');
      reports.push(r);
    },
  });
  assert.deepEqual(ran, ['change', 'put it back'], 'the rollback ran after the report of the failure threw');
  assert.equal(result.ok, false);
  assert.equal(result.rolledBack, true);
  assert.match(result.summary, /rollback succeeded \(1 step report\(s\) could not be written, the first: step result: OPS_STORE_BUSY/);
  assert.deepEqual(result.results.map((r) => [r.rollback, r.status]), [[false, 'failed'], [true, 'ok']], 'every result is in the final report');
  assert.ok(reports.some((r) => r.rollback && r.status === 'ok'), 'later reports are still written');
});

test('a lost job lock (touch throws) does not stop the plan either', async () => {
  const ran: string[] = [];
  const runner = createPlanRunner({ executors: executorRegistry([recordingExecutor(ran) as StepExecutor]) });
  const result = await runner.run({
    plan: plan([
      { action: 'noop', params: { message: 'one' }, timeout_s: 10, retry: 0 },
      { action: 'noop', params: { message: 'two' }, timeout_s: 10, retry: 0 },
    ]),
    case: aCase,
    touch: async () => { throw new Error('job lock lost'); },
    onStep: async () => {},
  });
  assert.deepEqual(ran, ['one', 'two']);
  assert.equal(result.ok, true);
  assert.match(result.summary, /^all 2 step\(s\) succeeded \(4 step report\(s\) could not be written, the first: job lock lost;/);
});

test('unwrittenNote is empty when every report was written', () => {
  assert.equal(unwrittenNote([]), '');
  assert.match(unwrittenNote(['a', 'b']), /^ \(2 step report\(s\) could not be written, the first: a;/);
});
