import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createGatewayFlipExecutor } from '../../../adapters/executors/gateway-flip-executor.js';
import { createNoopExecutor } from '../../../adapters/executors/noop-executor.js';
import { executorRegistry, runPlan, type ExecutorRegistry, type StepResult } from '../../../adapters/executors/step-runner.js';
import { summarizeRun } from '../../../adapters/agents/plan-runner.js';
import { ChangePlanSchema, type ChangePlan } from '../../../core/schemas/plan.js';
import { FLIP_METRIC, startFlipGateway, type FlipGateway } from '../../support/flip-gateway.js';
import { prometheusSkipReason, startPrometheus, type PrometheusHarness } from '../../support/prometheus.js';

/*
 * Step guards against a REAL Prometheus scraping a target whose error ratio a REAL gateway
 * (reached by the real gateway.flip adapter over HTTP) worsens or restores. Intervals are
 * shrunk (scrape 1 s, guard poll 250 ms); nothing sleeps for minutes.
 */

const SERVICES = ['svc-trip', 'svc-hold', 'svc-http', 'svc-undo-fails', 'svc-running', 'svc-badquery'] as const;
const GUARD_QUERY = `${FLIP_METRIC}{service="$service"}`;
const errorRatioGuard = { name: 'error-ratio', kind: 'promql', query: GUARD_QUERY, op: '<', threshold: 0.05 } as const;

let prom: PrometheusHarness | null = null;
let gateway: FlipGateway;
let executors: ExecutorRegistry;

const flip = (target: string, state: string, name = `flip ${target} → ${state}`) =>
  ({ name, action: 'gateway.flip', params: { target, state }, timeout_s: 60, retry: 0 });
const noop = (name: string) => ({ name, action: 'noop', params: { message: name }, timeout_s: 10, retry: 0 });
const planOf = (raw: Record<string, unknown>): ChangePlan => ChangePlanSchema.parse({ title: 'guarded change', rollback: {}, verify: {}, ...raw });

async function run(service: string, plan: ChangePlan, opts: { metrics?: boolean } = {}) {
  const events: StepResult[] = [];
  const started = Date.now();
  const result = await runPlan(plan, executors, {
    caseId: `case-${service}`, backoffMs: () => 10,
    guards: { ...(opts.metrics === false ? {} : { metrics: prom!.client }), vars: { service, env: 'staging' }, intervalMs: 250 },
    onStepResult: (r) => void events.push(r),
  });
  return { result, events, elapsedMs: Date.now() - started };
}

/** Wait until Prometheus sees the service's ratio at `value` (each test starts from a known state). */
async function seen(service: string, predicate: (v: number) => boolean) {
  return prom!.waitForValue(`${FLIP_METRIC}{service="${service}"}`, predicate, 20_000);
}

describe('step guards on a real Prometheus', () => {
  before(async () => {
    prom = await startPrometheus();
    if (!prom) return;
    gateway = await startFlipGateway(prom.target);
    for (const s of SERVICES) prom.target.set(FLIP_METRIC, { service: s }, 0.01);
    executors = executorRegistry([createGatewayFlipExecutor({ gateways: gateway.gateways(SERVICES), env: {} }), createNoopExecutor()]);
    await prom.waitForValue(`count(${FLIP_METRIC})`, (v) => v === SERVICES.length, 30_000);
  });
  after(async () => {
    await gateway?.close();
    await prom?.close();
  });

  test('a step that worsens the error ratio trips its guard within the settle window; its undo restores the value', async (t) => {
    if (!prom) return t.skip(prometheusSkipReason());
    const plan = planOf({
      steps: [
        { ...flip('svc-trip', 'broken', 'risky flip'), guards: [errorRatioGuard], guard_settle_s: 30, trip_after: 2, undo: [flip('svc-trip', 'healthy', 'flip back')] },
        noop('never runs'),
      ],
      rollback: { steps: [noop('plan rollback (not used: the step has its own undo)')] },
    });
    const { result, events, elapsedMs } = await run('svc-trip', plan);
    assert.equal(result.ok, false);
    assert.equal(result.failedIndex, 0);
    assert.ok(elapsedMs < 25_000, `tripped within the 30 s settle window (took ${elapsedMs} ms)`);
    assert.equal(result.trip?.name, 'error-ratio');
    assert.equal(result.trip?.observed, 0.4);
    assert.equal(result.trip?.threshold, 0.05);
    assert.equal(result.trip?.target, `${FLIP_METRIC}{service="svc-trip"}`, 'the query as rendered for the case');
    assert.ok((result.trip?.consecutive ?? 0) >= 2);
    assert.deepEqual(result.undo, { source: 'step', steps: 1 });
    assert.equal(result.rolledBack, true);
    assert.deepEqual(
      result.results.map((r) => [r.index, r.name, r.status, r.rollback, r.undo_of ?? null, Boolean(r.guard)]),
      [[0, 'risky flip', 'ok', false, null, false], [0, 'risky flip', 'failed', false, null, true], [0, 'flip back', 'ok', true, 0, false]],
      'the step returned ok, was condemned by its guard while settling, and was undone; "never runs" and the plan rollback did not run',
    );
    assert.match(result.results[1]!.summary, /^guard error-ratio tripped \(0\.4 > 0\.05\) within 30 s after the step/);
    assert.equal(summarizeRun(plan, result), 'step 1 (risky flip): guard error-ratio tripped (0.4 > 0.05) — undone by 1 step');
    const flips = gateway.flips.filter((f) => f.service === 'svc-trip');
    assert.deepEqual(flips.map((f) => [f.state, f.status]), [['broken', 200], ['healthy', 200]]);
    assert.notEqual(flips[0]!.key, flips[1]!.key, 'the undo is not mistaken for a replay of the step');
    assert.ok(events.some((e) => e.guard && e.status === 'failed'), 'the guard result is reported through onStepResult');
    assert.ok(await seen('svc-trip', (v) => v < 0.05), 'Prometheus sees the restored ratio');
  });

  test('a step whose guard holds: the watch runs through the settle window and the plan proceeds', async (t) => {
    if (!prom) return t.skip(prometheusSkipReason());
    const plan = planOf({
      steps: [
        { ...flip('svc-hold', 'degraded'), guards: [errorRatioGuard], guard_settle_s: 3, undo: [flip('svc-hold', 'healthy')] },
        noop('next step'),
      ],
    });
    const { result, elapsedMs } = await run('svc-hold', plan);
    assert.equal(result.ok, true, JSON.stringify(result.results));
    assert.equal(result.trip, undefined);
    assert.ok(elapsedMs >= 3_000, 'the settle window was watched before the next step');
    assert.deepEqual(result.results.map((r) => [r.index, r.status, r.rollback]), [[0, 'ok', false], [1, 'ok', false]]);
    assert.equal(await seen('svc-hold', (v) => v === 0.02), 0.02, 'the guard watched a real changed value, and it stayed inside the threshold');
    assert.deepEqual(gateway.flips.filter((f) => f.service === 'svc-hold').map((f) => f.state), ['degraded'], 'no undo');
  });

  test('an HTTP guard against a real server that starts answering 503 trips; without an undo the plan rollback runs', async (t) => {
    if (!prom) return t.skip(prometheusSkipReason());
    const plan = planOf({
      steps: [{ ...flip('svc-http', 'broken'), guards: [{ name: 'health', kind: 'http', url: `${gateway.url}/health/svc-http`, timeout_ms: 1000 }], guard_settle_s: 20 }],
      rollback: { steps: [flip('svc-http', 'healthy', 'rollback flip')] },
    });
    const { result, elapsedMs } = await run('svc-http', plan, { metrics: false });
    assert.equal(result.ok, false);
    assert.ok(elapsedMs < 15_000, `took ${elapsedMs} ms`);
    assert.deepEqual([result.trip?.kind, result.trip?.observed, result.trip?.expect_status], ['http', 503, '200..399']);
    assert.deepEqual(result.undo, { source: 'plan', steps: 1 });
    assert.equal(result.rolledBack, true);
    assert.equal(summarizeRun(plan, result), "step 1 (flip svc-http → broken): guard health tripped (HTTP 503, want 200..399) — undone by the plan's rollback (1 step)");
    const res = await fetch(`${gateway.url}/health/svc-http`);
    assert.equal(res.status, 200, 'the rollback restored the health endpoint');
  });

  test('an undo that fails is reported loudly: the change is still in place', async (t) => {
    if (!prom) return t.skip(prometheusSkipReason());
    const plan = planOf({
      steps: [{ ...flip('svc-undo-fails', 'broken', 'risky flip'), guards: [errorRatioGuard], guard_settle_s: 30, undo: [flip('svc-undo-fails-stuck', 'healthy', 'undo via a broken gateway')] }],
    });
    const { result } = await run('svc-undo-fails', plan);
    assert.equal(result.ok, false);
    assert.equal(result.rollbackAttempted, true);
    assert.equal(result.rolledBack, false);
    assert.equal(result.results.at(-1)?.status, 'failed');
    assert.match(summarizeRun(plan, result), /^step 1 \(risky flip\): guard error-ratio tripped \(0\.4 > 0\.05\) — undo FAILED — the change is still in place/);
    assert.equal(await seen('svc-undo-fails', (v) => v === 0.4), 0.4, 'the worsened value really is still there');
  });

  test('a guard that trips while the step is still running stops the step through its signal', async (t) => {
    if (!prom) return t.skip(prometheusSkipReason());
    const plan = planOf({
      steps: [{ ...flip('svc-running', 'broken-slow', 'slow flip'), guards: [errorRatioGuard], undo: [flip('svc-running', 'healthy')] }],
    });
    const { result, elapsedMs } = await run('svc-running', plan);
    assert.equal(result.ok, false);
    assert.ok(elapsedMs < 25_000, `the step (gateway holds its answer 30 s) was stopped early: ${elapsedMs} ms`);
    const stopped = result.results[0]!;
    assert.deepEqual([stopped.status, stopped.attempt, stopped.guard?.name], ['failed', 1, 'error-ratio']);
    assert.match(stopped.summary, /^guard error-ratio tripped \(0\.4 > 0\.05\); the step was stopped/);
    assert.equal(result.results.filter((r) => !r.rollback).length, 1, 'one report for the step: no separate late-trip report');
    assert.equal(result.rolledBack, true);
    assert.ok(await seen('svc-running', (v) => v < 0.05));
  });

  test('a guard whose query errors counts as failing; a PromQL guard without Prometheus is refused before the step runs', async (t) => {
    if (!prom) return t.skip(prometheusSkipReason());
    const bad = planOf({ steps: [{ ...noop('observe'), guards: [{ name: 'broken query', kind: 'promql', query: 'sum(', op: '<', threshold: 1 }], guard_settle_s: 20 }] });
    const { result } = await run('svc-badquery', bad);
    assert.equal(result.trip?.name, 'broken query');
    assert.equal(result.trip?.observed, null);
    assert.match(result.trip?.why ?? '', /query failed: Prometheus refused the query \(bad_data\)/);
    assert.equal(result.undo?.source, null);
    assert.match(summarizeRun(bad, result), /nothing to undo it with — the change is still in place/);

    const guarded = planOf({ steps: [{ ...flip('svc-badquery', 'broken'), guards: [errorRatioGuard] }] });
    const refused = await run('svc-badquery', guarded, { metrics: false });
    assert.deepEqual(refused.result.results.map((r) => r.status), ['refused']);
    assert.match(refused.result.results[0]!.summary, /guard error-ratio needs Prometheus/);
    assert.ok(!gateway.flips.some((f) => f.service === 'svc-badquery'), 'the unwatchable step never ran');
  });
});
