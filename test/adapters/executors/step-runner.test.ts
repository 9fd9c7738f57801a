import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile, copyFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createNoopExecutor } from '../../../adapters/executors/noop-executor.js';
import { createScriptExecutor } from '../../../adapters/executors/script-executor.js';
import { loadScriptRegistry } from '../../../adapters/executors/script-manifest.js';
import { executorRegistry, runPlan, runPlanSteps, type ExecutorRegistry, type StepResult } from '../../../adapters/executors/step-runner.js';
import type { StepExecutor } from '../../../core/ports/step-executor.js';
import type { ChangePlan, PlanStep } from '../../../core/schemas/plan.js';
import { ChangePlanSchema } from '../../../core/schemas/plan.js';

const step = (over: Partial<PlanStep> & Pick<PlanStep, 'action'>): PlanStep => ({ params: {}, timeout_s: 30, retry: 0, ...over });

describe('runPlanSteps / runPlan with real adapters', () => {
  let runbook: string;
  let state: string;
  let executors: ExecutorRegistry;
  const restarts = async () => (existsSync(path.join(state, 'restarts.log')) ? (await readFile(path.join(state, 'restarts.log'), 'utf8')).trim().split('\n') : []);

  before(async () => {
    // The shipped runbook folder plus one test-only script that fails on its first attempt.
    runbook = await mkdtemp(path.join(tmpdir(), 'opsloop-runner-runbook-'));
    state = await mkdtemp(path.join(tmpdir(), 'opsloop-runner-state-'));
    for (const f of await readdir('runbooks/scripts')) await copyFile(path.join('runbooks/scripts', f), path.join(runbook, f));
    for (const f of await readdir(runbook)) if (f.endsWith('.sh')) await chmod(path.join(runbook, f), 0o755);
    await writeFile(path.join(runbook, 'flaky.sh'), '#!/bin/sh\nif [ "$OPSLOOP_ATTEMPT" = 1 ]; then echo "first try fails" >&2; exit 1; fi\necho "ok on attempt $OPSLOOP_ATTEMPT"\n');
    await chmod(path.join(runbook, 'flaky.sh'), 0o755);
    const manifest = await readFile(path.join(runbook, 'scripts.yml'), 'utf8');
    await writeFile(path.join(runbook, 'scripts.yml'), `${manifest}\n  - { name: flaky, file: flaky.sh, description: fails on attempt 1 }\n`);
    const registry = await loadScriptRegistry(runbook);
    executors = executorRegistry([
      createScriptExecutor({ registry, env: { OPSLOOP_SCRIPT_STATE_DIR: state }, killGraceMs: 500 }),
      createNoopExecutor(),
    ]);
  });
  after(async () => {
    await rm(runbook, { recursive: true, force: true });
    await rm(state, { recursive: true, force: true });
  });

  const fast = { backoffMs: () => 10 };

  test('all steps succeed in order; every attempt is reported as running then final', async () => {
    const events: StepResult[] = [];
    const observed: Array<[string, string]> = [];
    const run = await runPlanSteps(
      [step({ action: 'script.exec', params: { script: 'echo-ok' } }), step({ action: 'noop', name: 'observe', params: { message: 'done' } })],
      executors,
      { caseId: 'c1', ...fast, onStepResult: (r) => void events.push(r), observeStep: (a, o, s) => (assert.ok(s >= 0), void observed.push([a, o])) },
    );
    assert.equal(run.ok, true);
    assert.deepEqual(events.map((e) => [e.index, e.status]), [[0, 'running'], [0, 'ok'], [1, 'running'], [1, 'ok']]);
    assert.equal(run.results[0]?.output?.trim(), 'ok');
    assert.equal(run.results[1]?.name, 'observe');
    assert.deepEqual(observed, [['script.exec', 'ok'], ['noop', 'ok']]);
  });

  test('a failing step is retried `retry` times, then the run stops there', async () => {
    const events: StepResult[] = [];
    const run = await runPlanSteps(
      [step({ action: 'script.exec', params: { script: 'fail', args: { code: 4 } }, retry: 2 }), step({ action: 'script.exec', params: { script: 'restart-service', args: { service: 'never' } } })],
      executors,
      { caseId: 'c2', ...fast, onStepResult: (r) => void events.push(r) },
    );
    assert.equal(run.ok, false);
    assert.equal(run.failedIndex, 0);
    assert.deepEqual(run.results.map((r) => [r.attempt, r.status, r.max_attempts]), [[1, 'failed', 3], [2, 'failed', 3], [3, 'failed', 3]]);
    assert.equal(events.filter((e) => e.status === 'running').length, 3);
    assert.ok(!(await restarts()).some((l) => l.includes('never')), 'the step after the failure did not run');
  });

  test('a step that fails once and then succeeds uses its retry', async () => {
    const run = await runPlanSteps([step({ action: 'script.exec', params: { script: 'flaky' }, retry: 1 })], executors, { caseId: 'c3', ...fast });
    assert.equal(run.ok, true);
    assert.deepEqual(run.results.map((r) => r.status), ['failed', 'ok']);
    assert.match(run.results[1]?.output ?? '', /ok on attempt 2/);
  });

  test('a step that times out runs the rollback, and the result says rolled back', async () => {
    const plan: ChangePlan = ChangePlanSchema.parse({
      title: 'restart checkout',
      steps: [
        step({ action: 'script.exec', name: 'hang', params: { script: 'sleep', args: { seconds: 120 } }, timeout_s: 10, retry: 1 }),
        step({ action: 'noop', params: { message: 'not reached' } }),
      ],
      rollback: { steps: [step({ action: 'script.exec', name: 'undo', params: { script: 'restart-service', args: { service: 'checkout' } } })] },
      verify: {},
    });
    const events: StepResult[] = [];
    const started = Date.now();
    const run = await runPlan(plan, executors, {
      caseId: 'case-rb',
      ...fast,
      stepTimeoutMs: (s) => s.timeout_s * 100, // 10 s → 1 s
      onStepResult: (r) => void events.push(r),
    });
    assert.ok(Date.now() - started < 60_000);
    assert.equal(run.ok, false);
    assert.equal(run.failedIndex, 0);
    assert.equal(run.rolledBack, true);
    assert.equal(run.rollbackAttempted, true);
    assert.deepEqual(
      run.results.map((r) => [r.index, r.status, r.rollback]),
      [[0, 'timeout', false], [0, 'timeout', false], [0, 'ok', true]],
    );
    assert.match(run.results[0]?.summary ?? '', /step timed out \(timeout_s=10\)/);
    assert.equal(events.find((e) => e.rollback)?.status, 'running');
    const lines = await restarts();
    assert.equal(lines.filter((l) => l.startsWith('restart checkout case=case-rb')).length, 1, 'the rollback script ran exactly once');
  });

  test('refused params never run: no running event, no side effect, no retry', async () => {
    const events: StepResult[] = [];
    const before = (await restarts()).length;
    const run = await runPlan(
      {
        steps: [step({ action: 'script.exec', params: { script: 'restart-service', args: { service: 'x; rm -rf /' } }, retry: 3 })],
        rollback: { steps: [step({ action: 'script.exec', params: { script: '../../bin/sh' } })] },
      },
      executors,
      { caseId: 'c5', ...fast, onStepResult: (r) => void events.push(r) },
    );
    assert.equal(run.ok, false);
    assert.deepEqual(events.map((e) => [e.status, e.rollback]), [['refused', false], ['refused', true]]);
    assert.match(events[0]?.summary ?? '', /^refused: args\.service: must match/);
    assert.equal(run.rolledBack, false, 'a refused rollback is not a rollback');
    assert.equal((await restarts()).length, before);
  });

  test('an action without a configured adapter is refused', async () => {
    const run = await runPlanSteps([step({ action: 'k8s.rollout', params: { operation: 'restart', namespace: 'a', deployment: 'b' } })], executors, { caseId: 'c6' });
    assert.equal(run.ok, false);
    assert.equal(run.results[0]?.status, 'refused');
    assert.equal(run.results[0]?.summary, 'refused: no executor is configured for k8s.rollout');
  });

  test('cancelling the run stops the current attempt and skips retries and rollback', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const before = (await restarts()).length;
    const run = await runPlan(
      {
        steps: [step({ action: 'script.exec', params: { script: 'sleep', args: { seconds: 120 } }, retry: 3 })],
        rollback: { steps: [step({ action: 'script.exec', params: { script: 'restart-service', args: { service: 'cancelled' } } })] },
      },
      executors,
      { caseId: 'c7', ...fast, signal: ac.signal },
    );
    assert.equal(run.ok, false);
    assert.equal(run.cancelled, true);
    assert.equal(run.rollbackAttempted, false);
    assert.equal(run.results.length, 1);
    assert.match(run.results[0]?.summary ?? '', /run cancelled/);
    assert.equal((await restarts()).length, before);
  });
});

describe('runPlanSteps defences against misbehaving adapters', () => {
  test('an adapter that ignores its signal is abandoned after the grace period; a throwing one is a failure', async () => {
    const stubborn: StepExecutor = {
      action: 'noop',
      validate: (p) => ({ ok: true, params: p }),
      run: () => new Promise(() => {}),
    };
    const run = await runPlanSteps([step({ action: 'noop', timeout_s: 10 })], executorRegistry([stubborn]), {
      caseId: 'c8',
      stepTimeoutMs: () => 100,
      abortGraceMs: 100,
    });
    assert.equal(run.results[0]?.status, 'timeout');
    assert.match(run.results[0]?.summary ?? '', /did not stop and was abandoned/);

    const throwing: StepExecutor = {
      action: 'noop',
      validate: (p) => ({ ok: true, params: p }),
      run: () => Promise.reject(new Error('boom with token=abcdef123456')),
    };
    const thrown = await runPlanSteps([step({ action: 'noop' })], executorRegistry([throwing]), { caseId: 'c9' });
    assert.equal(thrown.results[0]?.status, 'failed');
    assert.equal(thrown.results[0]?.summary, 'adapter error: boom with token=[REDACTED]');
  });
});

describe('createStepExecutorsFromEnv', () => {
  test('registers all five actions; unconfigured ones refuse with a hint', async () => {
    const { createStepExecutorsFromEnv } = await import('../../../adapters/executors/index.js');
    const registry = await createStepExecutorsFromEnv({ env: { KUBECONFIG: '', HOME: '/nonexistent', OPSLOOP_SCRIPT_DIR: 'runbooks/scripts' } });
    assert.deepEqual([...registry.keys()].sort(), ['gateway.flip', 'github.workflow', 'k8s.rollout', 'noop', 'script.exec']);
    const k8s = registry.get('k8s.rollout')?.validate({ operation: 'restart', namespace: 'a', deployment: 'b' });
    assert.match(JSON.stringify(k8s), /k8s.rollout is not configured: set KUBECONFIG/);
    assert.equal(registry.get('script.exec')?.validate({ script: 'echo-ok' }).ok, true);
  });
});
