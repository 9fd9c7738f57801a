import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ChatHandler } from '../../bot/chat-handler.js';
import { chatPrincipal } from '../../bot/chat-actor.js';
import { prometheusSkipReason } from '../support/prometheus.js';
import { startE2eWithPrometheus, type E2eWithPrometheus } from '../support/e2e-prometheus.js';
import {
  assertConsistentTransitions, assertReplayAgrees, call, describeTimeline, freshKey, getCase, getTimeline, openAndStart, restartRuns,
  transitionEvents, waitForCase, waitForStatus, type E2e, type TimelineItem,
} from './e2e-harness.js';
import { E2E_POLICY, E2E_SERVICES, E2E_TEMPLATES, ERROR_RATIO_METRIC } from './e2e-fixtures.js';
import { expectOk } from '../support/outcomes.js';

/*
 * The agent loop end to end, over REST, on the embedded PGlite store: the Planner (templates), the
 * Gatekeeper (policy file), the Executor (real registered scripts via execFile) and the Verifier
 * (a real Prometheus scraping a target whose values the test sets), all on Agenda, driven by the
 * outbox relay. One Prometheus and one opsloop for the whole file; each test uses its own service.
 */

const GOOD = 'svc-good';
const BAD = 'svc-bad';
const PROD = 'svc-prod';
const SLOW = 'svc-slow';
const TRIGGER = 'svc-trigger';
let cases: Record<'good' | 'bad' | 'risky' | 'frozen' | 'slow' | 'trigger' | 'prod', string>;

let run: E2eWithPrometheus | null = null;
let e2e: E2e;
const skip = process.env.OPSLOOP_SKIP_E2E ? 'OPSLOOP_SKIP_E2E is set' : false;

function entries(timeline: TimelineItem[], event: string): TimelineItem[] {
  return timeline.filter((e) => e.event === event);
}
function one(timeline: TimelineItem[], event: string): TimelineItem {
  const found = entries(timeline, event);
  assert.equal(found.length, 1, `exactly one "${event}" entry\n${describeTimeline(timeline)}`);
  return found[0]!;
}

describe('agent loop end to end (PGlite, Agenda, real scripts, real Prometheus)', { skip }, () => {
  before(async () => {
    // Verification measures real scraped values: the start waits until Prometheus has every service's.
    run = await startE2eWithPrometheus({ [GOOD]: 0.01, [PROD]: 0.02, [BAD]: 0.37, [TRIGGER]: 0.001 }, { policy: E2E_POLICY, services: E2E_SERVICES, templates: E2E_TEMPLATES });
    if (!run) return;
    e2e = run.e2e;
    // All cases run at once (each test then follows its own): the wall time is the slowest case, not the sum.
    const open = (title: string, service: string, env: string) => openAndStart(e2e.url, { title, tenant: 't-001', service, env });
    const [good, bad, risky, frozen, slow, trigger, prod] = await Promise.all([
      open(`restart ${GOOD} after 5xx burst`, GOOD, 'staging'),
      open(`restart ${BAD}`, BAD, 'staging'),
      open('risky change of svc-risky', 'svc-risky', 'staging'),
      open('restart svc-frozen', 'svc-frozen', 'frozen'),
      open(`slowstep on ${SLOW}`, SLOW, 'staging'),
      open(`risky change of ${TRIGGER}`, TRIGGER, 'staging'),
      // Opened by the on-call in the simulator: the requester is that chat user (a body's requester is ignored).
      openAsChatUser('sim-approver', { title: `restart ${PROD}`, tenant: 't-001', service: PROD, env: 'prod' }),
    ]);
    cases = { good, bad, risky, frozen, slow, trigger, prod };
  });
  /** Open a case as a simulator user would (`/ops open`): its requester is `sim:<user>`. */
  async function openAsChatUser(user: string, input: { title: string; tenant: string; service: string; env: string }): Promise<string> {
    const created = await e2e.app.orchestrator.createCase(input, {
      idempotencyKey: freshKey('chat-open'), principal: chatPrincipal({ platform: 'sim', id: user }),
      requestAnalysis: { actor: `sim:${user}`, reason: 'opened by the on-call' },
    });
        return expectOk(created, 'created').case_id;
  }
  after(async () => {
    await run?.close();
  });

  test('open → CLOSED: template plan, real script run once, gate approve, verify pass against Prometheus', async (t) => {
    if (!run) return t.skip(prometheusSkipReason());
    const caseId = cases.good;
    const { case: closed, timeline } = await waitForStatus(e2e.url, caseId, 'CLOSED', 90_000);

    assert.deepEqual(transitionEvents(timeline),
      ['start_analysis', 'analysis_done', 'plan_ready', 'gate_approved', 'exec_done', 'verify_pass'], describeTimeline(timeline));
    assertConsistentTransitions(timeline, closed);
    await assertReplayAgrees(e2e.url, closed.case_id);
    const actors = Object.fromEntries(timeline.filter((e) => e.kind === 'transition').map((e) => [e.event, e.actor]));
    assert.deepEqual(actors, {
      start_analysis: 'token:admin', analysis_done: 'analyst', plan_ready: 'planner',
      gate_approved: 'gatekeeper', exec_done: 'executor', verify_pass: 'verifier',
    });

    // Every agent step left a note with actor and reason.
    for (const event of ['evidence', 'plan_proposed', 'gate_decision', 'exec_started', 'exec_result', 'verify_scheduled', 'verify_report']) {
      const note = one(timeline, event);
      assert.ok(note.actor && note.reason, `${event} has actor and reason`);
    }
    assert.match(one(timeline, 'plan_proposed').reason!, /Restart svc-good with the runbook script \(template: e2e\.restart\)/);
    assert.match(one(timeline, 'gate_decision').reason!, /^approve: /);

    // The stored plan and decision.
    assert.ok(closed.plan_id, 'the case points at its plan');
    const plan = await e2e.store.queries.getPlan(closed.plan_id);
    assert.ok(plan, 'plan_proposed holds the plan');
    assert.equal((plan.plan as { title: string }).title, `Restart ${GOOD} with the runbook script`);
    assert.equal((plan.plan as { steps: Array<{ params: { args: { service: string } } }> }).steps[0]!.params.args.service, GOOD);
    const decision = await e2e.store.queries.latestDecision(caseId);
    assert.ok(decision, 'plan_approved holds the decision');
    assert.equal(decision.decision.outcome, 'approved');
    assert.equal(decision.decision.decision, 'approve');
    assert.ok((decision.decision.matched_rules as Array<{ name?: string }>).some((r) => JSON.stringify(r).includes('script-staging-auto')),
      JSON.stringify(decision.decision));

    // The step really ran, exactly once, as the registered script.
    const stepNotes = entries(timeline, 'step_result');
    assert.ok(stepNotes.every((e) => e.actor === 'executor' && e.reason), describeTimeline(stepNotes));
    assert.deepEqual(stepNotes.map((e) => e.meta.step.status), ['running', 'ok'], describeTimeline(timeline));
    const step = stepNotes[1]!;
    assert.equal(step.meta.step.action, 'script.exec');
    assert.match(step.meta.step.output ?? step.meta.step.summary, /restart of svc-good recorded/);
    const runs = await restartRuns(e2e.stateDir, GOOD);
    assert.equal(runs.length, 1, runs.join('\n'));
    assert.match(runs[0]!, new RegExp(`case=${caseId}`));

    // The verify report carries the value Prometheus measured.
    const report = one(timeline, 'verify_report');
    assert.equal(report.meta.pass, true);
    const [result] = report.meta.results as Array<{ value: number; threshold: number; op: string; pass: boolean; query: string }>;
    assert.ok(result);
    assert.equal(result.pass, true);
    assert.ok(Math.abs(result.value - 0.01) < 1e-9, `measured ${result.value}`);
    assert.equal(result.query, `max(${ERROR_RATIO_METRIC}{service="${GOOD}"})`);
    assert.equal(one(timeline, 'verify_scheduled').meta.settle_s, 0);
  });

  test('verify failure → PARKED with the measured value in the timeline', async (t) => {
    if (!run) return t.skip(prometheusSkipReason());
    const caseId = cases.bad;
    const { case: parked, timeline } = await waitForStatus(e2e.url, caseId, 'PARKED', 90_000);
    assert.deepEqual(transitionEvents(timeline),
      ['start_analysis', 'analysis_done', 'plan_ready', 'gate_approved', 'exec_done', 'verify_failed'], describeTimeline(timeline));
    assertConsistentTransitions(timeline, parked);
    await assertReplayAgrees(e2e.url, parked.case_id);
    const report = one(timeline, 'verify_report');
    assert.equal(report.meta.pass, false);
    const [result] = report.meta.results as Array<{ value: number; pass: boolean }>;
    assert.ok(result && Math.abs(result.value - 0.37) < 1e-9, JSON.stringify(report.meta));
    assert.equal(result.pass, false);
    const failed = timeline.find((e) => e.event === 'verify_failed')!;
    assert.equal(failed.actor, 'verifier');
    assert.match(failed.reason!, /0\.37/, 'the transition reason names the measured value');
    assert.equal((await restartRuns(e2e.stateDir, BAD)).length, 1);
  });

  test('gate reject → PARKED with reasons (risk above the limit; a change freeze)', async (t) => {
    if (!run) return t.skip(prometheusSkipReason());
    const { risky, frozen } = cases;
    for (const [caseId, why] of [[risky, /risk/i], [frozen, /e2e-freeze|frozen environment/]] as const) {
      const { case: parked, timeline } = await waitForStatus(e2e.url, caseId, 'PARKED', 60_000);
      assert.deepEqual(transitionEvents(timeline), ['start_analysis', 'analysis_done', 'plan_ready', 'gate_rejected'], describeTimeline(timeline));
      assertConsistentTransitions(timeline, parked);
      await assertReplayAgrees(e2e.url, parked.case_id);
      const note = one(timeline, 'gate_decision');
      assert.match(note.reason!, /^reject: /);
      assert.match(note.reason!, why);
      const rejected = timeline.find((e) => e.event === 'gate_rejected')!;
      assert.equal(rejected.actor, 'gatekeeper');
      assert.match(rejected.reason!, why);
      const decision = await e2e.store.queries.latestDecision(caseId);
      assert.equal(decision?.decision.outcome, 'rejected');
      assert.ok(Array.isArray(decision?.decision.reasons) && (decision.decision.reasons as string[]).some((r) => why.test(r)), JSON.stringify(decision?.decision));
      assert.equal(entries(timeline, 'exec_started').length, 0, 'nothing ran');
    }
    assert.equal((await restartRuns(e2e.stateDir, 'svc-risky')).length + (await restartRuns(e2e.stateDir, 'svc-frozen')).length, 0);
  });

  test('a step that times out → rollback runs → PARKED', async (t) => {
    if (!run) return t.skip(prometheusSkipReason());
    const caseId = cases.slow;
    const { case: parked, timeline } = await waitForStatus(e2e.url, caseId, 'PARKED', 120_000);
    assert.deepEqual(transitionEvents(timeline), ['start_analysis', 'analysis_done', 'plan_ready', 'gate_approved', 'exec_failed'], describeTimeline(timeline));
    assertConsistentTransitions(timeline, parked);
    await assertReplayAgrees(e2e.url, parked.case_id);
    const steps = entries(timeline, 'step_result').map((e) => e.meta.step as { rollback: boolean; status: string; name: string; action: string });
    const forward = steps.filter((s) => !s.rollback && s.status !== 'running');
    const rollback = steps.filter((s) => s.rollback && s.status !== 'running');
    assert.equal(forward.length, 1, describeTimeline(timeline));
    assert.equal(forward[0]!.status, 'timeout', JSON.stringify(forward));
    assert.equal(rollback.length, 1, describeTimeline(timeline));
    assert.equal(rollback[0]!.status, 'ok', JSON.stringify(rollback));
    assert.equal(rollback[0]!.name, 'restart as rollback');
    const failure = one(timeline, 'exec_failure');
    assert.equal(failure.meta.rolled_back, true);
    assert.match(failure.reason!, /step 1 \(wait too long\) failed; rollback succeeded/);
    assert.equal(timeline.find((e) => e.event === 'exec_failed')!.actor, 'executor');
    assert.equal((await restartRuns(e2e.stateDir, SLOW)).length, 1, 'the rollback script ran once');
    assert.equal(entries(timeline, 'verify_scheduled').length, 0, 'a failed run is not verified');
  });

  test('needs_human: waits in WAIT_GATE; the requester is refused (4-eyes), another approver proceeds to CLOSED', async (t) => {
    if (!run) return t.skip(prometheusSkipReason());
    const caseId = cases.prod;
    const { case: waiting, timeline } = await waitForCase(e2e.url, caseId,
      (c, tl) => c.status === 'WAIT_GATE' && tl.some((e) => e.event === 'gate_decision'), 'WAIT_GATE with a gate decision');
    const gate = one(timeline, 'gate_decision');
    assert.match(gate.reason!, /^needs_human: /);
    assert.match(gate.reason!, /production changes need a human/);
    assert.deepEqual(gate.meta.decision.approvers.sim_users, ['sim-approver', 'sim-lead']);
    // The case really waits: no automatic decision follows.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await getCase(e2e.url, caseId)).status, 'WAIT_GATE');

    const chat = new ChatHandler({ orchestrator: e2e.app.orchestrator, queries: e2e.store.queries });
    const action = { case_id: caseId, event: 'gate_approved' as const, version: waiting.version };
    const refused = await chat.handleAction(action, { platform: 'sim', id: 'sim-approver' });
    assert.equal(refused.kind, 'ephemeral');
    assert.match(refused.text, /4-eyes/);
    assert.equal((await getCase(e2e.url, caseId)).status, 'WAIT_GATE', 'the requester cannot approve');
    const refusal = one(await getTimeline(e2e.url, caseId), 'approval_refused');
    assert.equal(refusal.actor, 'sim:sim-approver');
    assert.equal(refusal.meta.rule, 'requester');

    const outsider = await chat.handleAction(action, { platform: 'sim', id: 'sim-intern' });
    assert.match(outsider.text, /not an approver/);
    assert.equal((await getCase(e2e.url, caseId)).status, 'WAIT_GATE');

    const approved = await chat.handleAction(action, { platform: 'sim', id: 'sim-lead' });
    assert.match(approved.text, /You approved the plan/);
    const { case: closed, timeline: done } = await waitForStatus(e2e.url, caseId, 'CLOSED', 90_000);
    assert.deepEqual(transitionEvents(done),
      ['start_analysis', 'analysis_done', 'plan_ready', 'gate_approved', 'exec_done', 'verify_pass'], describeTimeline(done));
    assertConsistentTransitions(done, closed);
    await assertReplayAgrees(e2e.url, closed.case_id);
    const approval = done.find((e) => e.event === 'gate_approved')!;
    assert.equal(approval.actor, 'sim:sim-lead');
    assert.equal((await e2e.store.queries.latestDecision(caseId))?.decision.actor, 'sim:sim-lead');
    assert.equal((await restartRuns(e2e.stateDir, PROD)).length, 1);
  });

  test('REST triggers: POST /plan/generate → 202 with job id in PLANNING, 409 when CLOSED, 400 without key, same 202 on replay', async (t) => {
    if (!run) return t.skip(prometheusSkipReason());
    // Parked by the gate, then resumed asking for a template that does not exist: the planner
    // reports plan_invalid and the case stays in PLANNING, where the REST trigger applies.
    const caseId = cases.trigger;
    const parked = (await waitForStatus(e2e.url, caseId, 'PARKED')).case;
    const resumed = await call(e2e.url, 'PATCH', `/case/${caseId}/transition`,
      { event: 'resume', actor: 'oncall@example.com', reason: 'try another plan', meta: { template: 'no.such.template' } },
      { 'idempotency-key': freshKey('resume'), 'if-match': `"${parked.version}"` });
    assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
    const { case: planning, timeline } = await waitForCase(e2e.url, caseId,
      (c, tl) => c.status === 'PLANNING' && tl.some((e) => e.event === 'plan_invalid'), 'PLANNING with plan_invalid');
    assert.match(one(timeline, 'plan_invalid').reason!, /no template named "no\.such\.template"/);

    const body = { case_id: caseId, template: 'e2e.observe', actor: 'oncall@example.com' };
    const noKey = await call(e2e.url, 'POST', '/plan/generate', body);
    assert.equal(noKey.status, 400, JSON.stringify(noKey.body));
    assert.equal(noKey.body.error.code, 'OPS_IDEMPOTENCY_KEY_MISSING');
    const badTemplate = await call(e2e.url, 'POST', '/plan/generate', { case_id: caseId, template: 'x; rm -rf /' }, { 'idempotency-key': freshKey('gen') });
    assert.equal(badTemplate.status, 400, JSON.stringify(badTemplate.body));

    const key = freshKey('gen');
    const accepted = await call(e2e.url, 'POST', '/plan/generate', body, { 'idempotency-key': key });
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    assert.equal(accepted.body.data.case_id, caseId);
    assert.equal(accepted.body.data.status, 'PLANNING');
    assert.equal(accepted.body.data.version, planning.version);
    assert.match(accepted.body.data.job_id, /^[0-9a-f-]{36}$/);

    // The job runs: the requested template is planned, auto-approved (noop), run and verified.
    const { case: closed, timeline: done } = await waitForStatus(e2e.url, caseId, 'CLOSED', 90_000);
    assertConsistentTransitions(done, closed);
    await assertReplayAgrees(e2e.url, closed.case_id);
    const proposals = entries(done, 'plan_proposed');
    assert.match(proposals.at(-1)!.reason!, /template: e2e\.observe/);
    assert.equal(one(done, 'plan.generate_requested').actor, 'token:admin', 'the authenticated principal, not the body\'s actor');

    const replay = await call(e2e.url, 'POST', '/plan/generate', body, { 'idempotency-key': key });
    assert.equal(replay.status, 202, 'a replay answers like the first time, even after the case moved on');
    assert.deepEqual(replay.body, accepted.body);

    const onClosed = await call(e2e.url, 'POST', '/plan/generate', { case_id: caseId }, { 'idempotency-key': freshKey('gen') });
    assert.equal(onClosed.status, 409, JSON.stringify(onClosed.body));
    assert.equal(onClosed.body.error.code, 'OPS_ILLEGAL_TRANSITION');
    assert.equal((await getCase(e2e.url, caseId)).version, closed.version, 'a refused trigger writes nothing');
    assert.equal((await getTimeline(e2e.url, caseId)).length, done.length);

    const missing = await call(e2e.url, 'POST', '/plan/generate', { case_id: '00000000-0000-4000-8000-000000000000' }, { 'idempotency-key': freshKey('gen') });
    assert.equal(missing.status, 404);
  });
});
