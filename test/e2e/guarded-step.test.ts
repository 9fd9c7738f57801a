import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAgentsExtension } from '../../app/extensions/agents.js';
import { createGatewayFlipExecutor } from '../../adapters/executors/gateway-flip-executor.js';
import { createNoopExecutor } from '../../adapters/executors/noop-executor.js';
import { executorRegistry } from '../../adapters/executors/step-runner.js';
import { FLIP_METRIC, startFlipGateway, type FlipGateway } from '../support/flip-gateway.js';
import { settledServicesYaml } from '../support/loop-fixtures.js';
import { prometheusSkipReason, startPrometheus, type PrometheusHarness } from '../support/prometheus.js';
import {
  assertConsistentTransitions, assertReplayAgrees, describeTimeline, openAndStart, startE2e, transitionEvents, waitForStatus, type E2e,
} from './e2e-harness.js';

/*
 * Guarded steps through the whole agent loop on PGlite (Planner from a template → Gatekeeper →
 * Executor on Agenda → Verifier), with a real Prometheus and the real gateway.flip adapter
 * reaching a real HTTP gateway that worsens or restores the series Prometheus scrapes.
 */

const TRIP = 'svc-guard-trip';
const HOLD = 'svc-guard-hold';

const POLICY = `
version: 1
default_decision: needs_human
risk:
  auto_approve_max: 0.5
  reject_above: 0.9
rules:
  - name: flips-in-staging
    reason: gateway flips run unattended in staging
    decision: approve
    match:
      actions: ["gateway.flip", "noop"]
      targets: { env: [staging] }
approvers:
  default:
    users: [oncall@example.com]
`;

const SERVICES = settledServicesYaml(`  ${TRIP}: { env: staging }
  ${HOLD}: { env: staging }`);

const template = (name: string, keyword: string, state: string) => `
name: ${name}
description: Flip the service's gateway to ${state}, watched by its error ratio.
match:
  keywords: [${keyword}]
  priority: 50
params:
  service: { kind: name, description: The service of the case. }
plan:
  title: "Flip {{service}} to ${state}"
  risk_score: 0.1
  steps:
    - name: flip to ${state}
      action: gateway.flip
      params: { target: "{{service}}", state: ${state} }
      timeout_s: 30
      retry: 0
      guards:
        - name: error-ratio
          kind: promql
          query: '${FLIP_METRIC}{service="$service"}'
          op: "<"
          threshold: 0.05
      guard_settle_s: 3
      trip_after: 2
      undo:
        - name: flip back to healthy
          action: gateway.flip
          params: { target: "{{service}}", state: healthy }
          timeout_s: 30
          retry: 0
  rollback:
    steps: []
  verify:
    settle_s: 0
    checks:
      - name: error ratio
        query: 'max(${FLIP_METRIC}{service="{{service}}"})'
        op: "<"
        threshold: 0.05
`;

let prom: PrometheusHarness | null = null;
let gateway: FlipGateway;
let e2e: E2e;
const skip = process.env.OPSLOOP_SKIP_E2E ? 'OPSLOOP_SKIP_E2E is set' : false;

describe('guarded steps through the agent loop (PGlite, Agenda, real Prometheus, real gateway)', { skip }, () => {
  before(async () => {
    prom = await startPrometheus();
    if (!prom) return;
    gateway = await startFlipGateway(prom.target);
    for (const s of [TRIP, HOLD]) prom.target.set(FLIP_METRIC, { service: s }, 0.01);
    const executors = executorRegistry([createGatewayFlipExecutor({ gateways: gateway.gateways([TRIP, HOLD]), env: {} }), createNoopExecutor()]);
    [e2e] = await Promise.all([
      startE2e({
        policy: POLICY, services: SERVICES, env: { PROMETHEUS_URL: prom.url },
        templates: { 'e2e.worsen': template('e2e.worsen', 'worsen', 'broken'), 'e2e.tweak': template('e2e.tweak', 'tweak', 'degraded') },
        extensions: [(ctx) => createAgentsExtension(ctx, { executors, guardIntervalMs: 250, processEveryMs: 200 })],
      }),
      prom.waitForValue(`count(${FLIP_METRIC})`, (v) => v === 2, 30_000),
    ]);
  });
  after(async () => {
    await e2e?.close();
    await gateway?.close();
    await prom?.close();
  });

  test('a step that worsens the error ratio is undone and the case parks with the guard evidence', async (t) => {
    if (!prom) return t.skip(prometheusSkipReason());
    const caseId = await openAndStart(e2e.url, { title: `worsen ${TRIP}`, tenant: 't-001', service: TRIP, env: 'staging' });
    const { case: parked, timeline } = await waitForStatus(e2e.url, caseId, 'PARKED', 90_000);
    const context = describeTimeline(timeline);
    assert.deepEqual(transitionEvents(timeline), ['start_analysis', 'analysis_done', 'plan_ready', 'gate_approved', 'exec_failed'], context);
    assertConsistentTransitions(timeline, parked);
    await assertReplayAgrees(e2e.url, caseId);

    const failure = timeline.find((e) => e.event === 'exec_failed');
    assert.match(failure?.reason ?? '', /^step 1 \(flip to broken\): guard error-ratio tripped \(0\.4 > 0\.05\) — undone by 1 step$/, context);
    assert.equal(failure?.meta.rolled_back, true);

    const steps = timeline.filter((e) => e.event === 'step_result').map((e) => e.meta.step as Record<string, any>);
    const tripped = steps.find((s) => s.guard && s.status === 'failed');
    assert.ok(tripped, `a step result carries the guard\n${context}`);
    assert.deepEqual(
      { name: tripped.guard.name, kind: tripped.guard.kind, observed: tripped.guard.observed, threshold: tripped.guard.threshold, op: tripped.guard.op },
      { name: 'error-ratio', kind: 'promql', observed: 0.4, threshold: 0.05, op: '<' },
    );
    assert.equal(tripped.guard.target, `${FLIP_METRIC}{service="${TRIP}"}`);
    const undo = steps.find((s) => s.rollback && s.status === 'ok');
    assert.deepEqual([undo?.name, undo?.undo_of], ['flip back to healthy', 0], context);
    assert.deepEqual(gateway.flips.filter((f) => f.service === TRIP).map((f) => f.state), ['broken', 'healthy']);
    await prom.waitForValue(`${FLIP_METRIC}{service="${TRIP}"}`, (v) => v < 0.05, 20_000);
  });

  test('a step whose guard holds goes on to VERIFYING and closes', async (t) => {
    if (!prom) return t.skip(prometheusSkipReason());
    const caseId = await openAndStart(e2e.url, { title: `tweak ${HOLD}`, tenant: 't-001', service: HOLD, env: 'staging' });
    const { case: closed, timeline } = await waitForStatus(e2e.url, caseId, 'CLOSED', 90_000);
    assert.deepEqual(transitionEvents(timeline), ['start_analysis', 'analysis_done', 'plan_ready', 'gate_approved', 'exec_done', 'verify_pass'], describeTimeline(timeline));
    assertConsistentTransitions(timeline, closed);
    assert.ok(!timeline.some((e) => e.event === 'step_result' && e.meta.step?.guard), 'no guard tripped');
    assert.deepEqual(gateway.flips.filter((f) => f.service === HOLD).map((f) => f.state), ['degraded'], 'nothing was undone');
  });
});
