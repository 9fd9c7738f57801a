import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { CASE_EVENTS, CASE_STATUSES, decide, type CaseEvent, type CaseStatus } from '../../core/fsm/index.js';
import { expectOk, settledOf } from '../support/outcomes.js';
import { COMMAND_FOR, ROUTES, dataOf, errorOf, expectError, incompletePlans, metaFor, newKey, validPlan, type CaseStoreKit } from './case-store-kit.js';

/** CaseStore contract, part 1: legal and illegal transitions, the plan guard, plans and gate decisions. */
export function transitionContract(kit: CaseStoreKit): void {
  describe('legal transitions', () => {
    it('walks NEW → CLOSED, writing case, timeline and outbox for every step', async () => {
      const caseId = await kit.createCase('happy path');
      const created = await kit.takeOutbox(caseId);
      assert.deepEqual(created.map((m) => m.topic), ['evt.case.created.v1']);
      let status: CaseStatus = 'NEW';
      let version = 1;
      for (const event of ROUTES.CLOSED) {
        const before = await kit.snapshot(caseId);
        const data = await kit.apply(caseId, event);
        const expected = decide(status, event);
        assert.ok(expected.ok);
        assert.equal(data.status, expected.next);
        assert.equal(data.previous_status, status);
        assert.equal(data.version, version + 1);
        const after = await kit.snapshot(caseId);
        assert.equal(after.status, expected.next);
        assert.equal(after.version, version + 1);
        assert.equal(after.timeline.length, before.timeline.length + 1);
        const entry = (await kit.store.queries.listTimeline(caseId)).at(-1)!;
        assert.equal(entry.kind, 'transition');
        assert.equal(entry.event, event);
        assert.equal(entry.from_status, status);
        assert.equal(entry.to_status, expected.next);
        assert.equal(entry.actor, 'tester@svc');
        assert.equal(entry.version, version + 1);
        assert.equal(entry.id, data.timeline_id);
        assert.equal(typeof entry.trace_id, 'string');
        await assertTransitionMessages(caseId, status, expected.next, event, version + 1);
        status = expected.next;
        version += 1;
      }
      assert.equal(status, 'CLOSED');
      assert.equal(version, 7);
    });

    async function assertTransitionMessages(caseId: string, from: CaseStatus, to: CaseStatus, event: CaseEvent, version: number): Promise<void> {
      const messages = await kit.takeOutbox(caseId);
      const command = COMMAND_FOR[to];
      assert.deepEqual(messages.map((m) => m.topic), command ? ['evt.case.transition.v1', command] : ['evt.case.transition.v1'], `${from} --${event}--> ${to}`);
      const [evt] = messages;
      assert.equal(evt!.data.from, from);
      assert.equal(evt!.data.to, to);
      assert.equal(evt!.data.event, event);
      for (const m of messages) {
        assert.equal(m.case_id, caseId);
        assert.equal(m.version, version);
      }
      if (command) assert.equal(messages[1]!.data.case_id, caseId);
      assert.equal(new Set(messages.map((m) => m.id)).size, messages.length, 'message ids are unique');
    }

    for (const [parkingEvent, from] of [['gate_rejected', 'WAIT_GATE'], ['exec_failed', 'EXECUTING'], ['verify_failed', 'VERIFYING']] as const) {
      it(`${from} --${parkingEvent}--> PARKED --resume--> PLANNING, and on to CLOSED`, async () => {
        const caseId = await kit.walkTo(from);
        await kit.takeOutbox();
        const parked = await kit.apply(caseId, parkingEvent);
        assert.equal(parked.status, 'PARKED');
        await assertTransitionMessages(caseId, from, 'PARKED', parkingEvent, parked.version);
        const resumed = await kit.apply(caseId, 'resume');
        assert.equal(resumed.status, 'PLANNING');
        assert.equal(resumed.version, parked.version + 1);
        await assertTransitionMessages(caseId, 'PARKED', 'PLANNING', 'resume', resumed.version);
        for (const event of ['plan_ready', 'gate_approved', 'exec_done', 'verify_pass'] as const) await kit.apply(caseId, event);
        const closed = await kit.snapshot(caseId);
        assert.equal(closed.status, 'CLOSED');
        assert.equal(closed.version, resumed.version + 4);
      });
    }
  });

  describe('illegal transitions', () => {
    for (const status of CASE_STATUSES) {
      it(`every illegal event in ${status} → 409 OPS_ILLEGAL_TRANSITION, nothing written, key not consumed`, async () => {
        const caseId = await kit.walkTo(status);
        await kit.takeOutbox();
        const before = await kit.snapshot(caseId);
        const key = newKey();
        const illegal = CASE_EVENTS.filter((e) => !decide(status, e).ok);
        assert.ok(illegal.length > 0);
        for (const event of illegal) {
          // One key for all: a consumed key would answer the next (different) request with 422.
          const result = await kit.orchestrator.transition(caseId, { event, actor: 'tester@svc', meta: metaFor(event) }, { idempotencyKey: key });
          expectError(result, 409, 'OPS_ILLEGAL_TRANSITION');
          assert.equal(result.replayed, false);
          const details = errorOf(result).details!;
          assert.equal(details.status, status);
          assert.equal(details.event, event);
          await kit.assertNothingWritten(caseId, before, `${status} + ${event}`);
        }
        const legal = CASE_EVENTS.find((e) => decide(status, e).ok);
        if (legal) {
          const result = await kit.orchestrator.transition(caseId, { event: legal, actor: 'tester@svc', meta: metaFor(legal) }, { idempotencyKey: key });
          expectOk(result, 'applied'); // the key is still free for a legal event
          assert.equal(result.replayed, false);
        } else {
          const result = await kit.orchestrator.createCase({ title: 'key reuse after illegal', tenant: 't-001' }, { idempotencyKey: key });
          expectOk(result, 'created'); // the key is still free
        }
      });
    }

    it('unknown case → 404 OPS_CASE_NOT_FOUND, key not consumed', async () => {
      const key = newKey();
      const missing = randomUUID();
      const result = await kit.orchestrator.transition(missing, { event: 'start_analysis', actor: 'tester@svc' }, { idempotencyKey: key });
      expectError(result, 404, 'OPS_CASE_NOT_FOUND');
      assert.equal(await kit.store.queries.getCase(missing), null);
      const caseId = await kit.createCase();
      const ok = await kit.orchestrator.transition(caseId, { event: 'start_analysis', actor: 'tester@svc' }, { idempotencyKey: key });
      expectOk(ok, 'applied');
    });
  });

  describe('plan guard', () => {
    for (const { label, plan } of incompletePlans()) {
      it(`plan_ready with ${label} → 422, state unchanged, one 'rejected' note; replay returns the same 422`, async () => {
        const caseId = await kit.walkTo('PLANNING');
        await kit.takeOutbox();
        const before = await kit.snapshot(caseId);
        const key = newKey();
        const request = { event: 'plan_ready' as const, actor: 'planner@svc', meta: plan === undefined ? {} : { plan } };
        const first = await kit.orchestrator.transition(caseId, request, { idempotencyKey: key });
        expectError(first, 422, 'OPS_GUARD_FAILED');
        assert.equal(first.replayed, false);
        const after = await kit.snapshot(caseId);
        assert.equal(after.status, 'PLANNING');
        assert.equal(after.version, before.version);
        assert.equal(after.plan_id, null);
        assert.equal(after.timeline.length, before.timeline.length + 1);
        const note = (await kit.store.queries.listTimeline(caseId)).at(-1)!;
        assert.equal(note.kind, 'rejected');
        assert.equal(note.event, 'plan_ready');
        assert.equal(note.actor, 'planner@svc');
        assert.ok(note.reason && note.reason.length > 0, 'the note says why');
        assert.deepEqual((await kit.takeOutbox(caseId)).map((m) => m.topic), ['evt.case.rejected.v1'], 'no transition or command is emitted');

        const replay = await kit.orchestrator.transition(caseId, request, { idempotencyKey: key });
        assert.equal(replay.replayed, true);
        assert.deepEqual(settledOf(replay), settledOf(first));
        await kit.assertNothingWritten(caseId, after, 'guard replay');

        const fixed = await kit.transition(caseId, 'plan_ready');
        expectOk(fixed, 'applied'); // a complete plan still passes afterwards
      });
    }
  });

  describe('plans and decisions', () => {
    it('plan_ready stores plan_proposed and sets plan_id; gate decisions are stored', async () => {
      const caseId = await kit.walkTo('PLANNING');
      const plan = validPlan('stored plan');
      const ready = await kit.transition(caseId, 'plan_ready', {}, { plan, template: 'k8s.rollout.canary' });
      expectOk(ready, 'applied');
      const planId = dataOf(ready).plan_id;
      assert.ok(planId, 'plan_id is set');
      assert.equal((await kit.store.queries.getCase(caseId))?.plan_id, planId);
      const stored = await kit.store.queries.getPlan(planId);
      assert.equal(stored?.case_id, caseId);
      assert.deepEqual(stored?.plan, plan);
      const entry = (await kit.store.queries.listTimeline(caseId)).at(-1)!;
      assert.equal(entry.meta.plan_id, planId, 'the timeline refers to the plan by id');
      assert.equal(entry.meta.plan, undefined, 'the timeline keeps no second copy of the plan');
      assert.equal(await kit.store.queries.latestDecision(caseId), null);

      await kit.apply(caseId, 'gate_approved');
      const approved = await kit.store.queries.latestDecision(caseId);
      assert.equal(approved?.decision.outcome, 'approved');
      assert.equal(approved?.plan_id, planId);

      const other = await kit.walkTo('WAIT_GATE');
      await kit.apply(other, 'gate_rejected');
      const rejected = await kit.store.queries.latestDecision(other);
      assert.equal(rejected?.decision.outcome, 'rejected');
      assert.equal(rejected?.plan_id, (await kit.store.queries.getCase(other))?.plan_id);
    });

    it('cmd.gate.eval carries the case and the proposed plan', async () => {
      const caseId = await kit.walkTo('PLANNING');
      await kit.takeOutbox();
      const data = await kit.apply(caseId, 'plan_ready');
      const [, gateEval] = await kit.takeOutbox(caseId);
      assert.equal(gateEval?.topic, 'cmd.gate.eval');
      assert.equal(gateEval?.data.plan_id, data.plan_id);
      assert.equal(gateEval?.data.case_id, caseId);
    });
  });
}
