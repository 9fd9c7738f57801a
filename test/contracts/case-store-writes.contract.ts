import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Orchestrator } from '../../core/orchestrator/index.js';
import { expectOk, settledOf } from '../support/outcomes.js';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';
import { httpStatusOf } from '../../core/errors.js';
import { answerName, dataOf, errorOf, expectError, newKey, validPlan, withFaultyOutbox, type CaseStoreKit } from './case-store-kit.js';

/** CaseStore contract, part 2: idempotency keys, optimistic concurrency and atomicity under faults. */
export function writeSafetyContract(kit: CaseStoreKit): void {
  describe('idempotency', () => {
    it('a sequential replay returns the first response and writes nothing, even after the case moved on', async () => {
      const caseId = await kit.createCase();
      await kit.takeOutbox();
      const key = newKey();
      const request = { event: 'start_analysis' as const, actor: 'analyst@svc', reason: 'a1' };
      const first = await kit.orchestrator.transition(caseId, request, { idempotencyKey: key });
      expectOk(first, 'applied');
      assert.equal(first.replayed, false);
      await kit.takeOutbox();
      const after = await kit.snapshot(caseId);

      const replay = await kit.orchestrator.transition(caseId, request, { idempotencyKey: key });
      assert.equal(replay.replayed, true);
      expectOk(replay, 'applied');
      assert.deepEqual(settledOf(replay), settledOf(first));
      await kit.assertNothingWritten(caseId, after, 'replay');

      await kit.apply(caseId, 'analysis_done');
      const late = await kit.orchestrator.transition(caseId, request, { idempotencyKey: key });
      assert.equal(late.replayed, true);
      assert.deepEqual(settledOf(late), settledOf(first));
      assert.equal(dataOf(late).status, 'ANALYZING');
    });

    it('50 concurrent requests with one key → exactly one transition, 50 identical answers', async () => {
      const caseId = await kit.createCase();
      await kit.takeOutbox();
      const before = await kit.snapshot(caseId);
      const key = newKey();
      const request = { event: 'start_analysis' as const, actor: 'analyst@svc', reason: 'burst' };
      await kit.warmUp();
      const results = await Promise.all(Array.from({ length: 50 }, () => kit.orchestrator.transition(caseId, request, { idempotencyKey: key })));
      assert.equal(results.filter((r) => !r.replayed).length, 1, 'one request did the work');
      for (const r of results) {
        expectOk(r, 'applied');
        assert.deepEqual(settledOf(r), settledOf(results[0]!));
      }
      const after = await kit.snapshot(caseId);
      assert.equal(after.status, 'ANALYZING');
      assert.equal(after.version, before.version + 1);
      assert.equal(after.timeline.length, before.timeline.length + 1);
      assert.equal((await kit.takeOutbox(caseId)).length, 2, 'evt.case.transition.v1 + cmd.analyze, once');
    });

    it('the same key with a different body → 422 OPS_IDEMPOTENCY_KEY_REUSED, nothing written', async () => {
      const caseId = await kit.createCase();
      const key = newKey();
      const first = await kit.orchestrator.transition(caseId, { event: 'start_analysis', actor: 'analyst@svc' }, { idempotencyKey: key });
      expectOk(first, 'applied');
      await kit.takeOutbox();
      const after = await kit.snapshot(caseId);
      const reused = await kit.orchestrator.transition(caseId, { event: 'start_analysis', actor: 'someone-else@svc' }, { idempotencyKey: key });
      expectError(reused, 422, 'OPS_IDEMPOTENCY_KEY_REUSED');
      const otherEvent = await kit.orchestrator.transition(caseId, { event: 'analysis_done', actor: 'analyst@svc' }, { idempotencyKey: key });
      expectError(otherEvent, 422, 'OPS_IDEMPOTENCY_KEY_REUSED');
      await kit.assertNothingWritten(caseId, after, 'key reuse');
    });

    it('case creation is idempotent: the same key gives the same case, one row', async () => {
      const key = newKey();
      const titleText = `idempotent create ${randomUUID()}`;
      const input = { title: titleText, tenant: 't-001' };
      await kit.warmUp();
      const results = await Promise.all(Array.from({ length: 10 }, () => kit.orchestrator.createCase(input, { idempotencyKey: key })));
      assert.equal(results.filter((r) => !r.replayed).length, 1);
      const ids = new Set(results.map((r) => expectOk(r, 'created').case_id));
      assert.equal(ids.size, 1);
      const [caseId] = [...ids];
      const again = await kit.orchestrator.createCase(input, { idempotencyKey: key });
      assert.equal(again.replayed, true);
      assert.equal(dataOf(again).case_id, caseId);
      const rows = (await kit.store.queries.listCases({ limit: 1000 })).filter((c) => c.title === titleText);
      assert.equal(rows.length, 1);
      assert.deepEqual((await kit.store.queries.listTimeline(caseId!)).map((e) => e.kind), ['created']);
      assert.deepEqual((await kit.takeOutbox(caseId)).map((m) => m.topic), ['evt.case.created.v1']);
      const different = await kit.orchestrator.createCase({ title: 'something else', tenant: 't-001' }, { idempotencyKey: key });
      expectError(different, 422, 'OPS_IDEMPOTENCY_KEY_REUSED');
    });
  });

  describe('optimistic concurrency', () => {
    for (const [versionSource, status, code] of [['body', 409, 'OPS_VERSION_CONFLICT'], ['if-match', 412, 'OPS_PRECONDITION_FAILED']] as const) {
      it(`50 concurrent transitions at one expected version (${versionSource}) → one 200, the rest ${status}`, async () => {
        const caseId = await kit.createCase();
        await kit.takeOutbox();
        const before = await kit.snapshot(caseId);
        await kit.warmUp();
        const results = await Promise.all(Array.from({ length: 50 }, (_, i) =>
          kit.orchestrator.transition(caseId, { event: 'start_analysis', actor: `racer-${i}` }, {
            idempotencyKey: newKey(), expectedVersion: before.version, versionSource,
          })));
        const winners = results.filter((r) => r.ok);
        assert.equal(winners.length, 1, `answers: ${results.map(answerName).join(',')}`);
        for (const r of results.filter((x) => !x.ok)) expectError(r, status, code);
        const after = await kit.snapshot(caseId);
        assert.equal(after.version, before.version + 1);
        assert.equal(after.timeline.length, before.timeline.length + 1);
        assert.equal((await kit.takeOutbox(caseId)).length, 2);
      });
    }

    it('a stale expected version is refused before anything is written', async () => {
      const caseId = await kit.walkTo('ANALYZING');
      await kit.takeOutbox();
      const before = await kit.snapshot(caseId);
      const stale = await kit.transition(caseId, 'analysis_done', { expectedVersion: before.version - 1, versionSource: 'if-match' });
      expectError(stale, 412, 'OPS_PRECONDITION_FAILED');
      assert.equal(errorOf(stale).details!.current_version, before.version);
      await kit.assertNothingWritten(caseId, before, 'stale version');
      const fresh = await kit.transition(caseId, 'analysis_done', { expectedVersion: before.version, versionSource: 'if-match' });
      expectOk(fresh, 'applied');
    });

    it('50 concurrent transitions without a version → the row lock lets exactly one through', async () => {
      const caseId = await kit.createCase();
      await kit.takeOutbox();
      const before = await kit.snapshot(caseId);
      await kit.warmUp();
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) =>
        kit.orchestrator.transition(caseId, { event: 'start_analysis', actor: `racer-${i}` }, { idempotencyKey: newKey() })));
      assert.equal(results.filter((r) => r.ok).length, 1, `answers: ${results.map(answerName).join(',')}`);
      for (const r of results.filter((x) => !x.ok)) {
        const { code } = errorOf(r);
        assert.ok(code === 'OPS_ILLEGAL_TRANSITION' || code === 'OPS_VERSION_CONFLICT', code);
        assert.equal(httpStatusOf(code), 409);
      }
      const after = await kit.snapshot(caseId);
      assert.equal(after.version, before.version + 1);
      assert.equal(after.timeline.length, before.timeline.length + 1);
      assert.equal((await kit.takeOutbox(caseId)).length, 2);
    });
  });

  describe('atomicity', () => {
    it('a transition failing after its one-statement write, before the commit, leaves no trace', async () => {
      const caseId = await kit.walkTo('PLANNING');
      await kit.takeOutbox();
      const before = await kit.snapshot(caseId);
      const faulty = withFaultyOutbox(kit.store, 'after-write');
      const broken = new Orchestrator({ store: faulty.store, clock: systemClock, ids: uuidGen });
      const key = newKey();
      const request = { event: 'plan_ready' as const, actor: 'planner@svc', meta: { plan: validPlan() } };
      await assert.rejects(broken.transition(caseId, request, { idempotencyKey: key }), /injected fault/);
      assert.equal(faulty.calls.at(-1), 'writeTransition');
      await kit.assertNothingWritten(caseId, before, 'failed transaction');
      const retry = await kit.orchestrator.transition(caseId, request, { idempotencyKey: key });
      expectOk(retry, 'applied'); // the key was not consumed
      assert.equal((await kit.snapshot(caseId)).version, before.version + 1);
      assert.equal((await kit.takeOutbox(caseId)).length, 2);
    });

    it('a fault after the timeline write and before the outbox write leaves no trace', async () => {
      const caseId = await kit.walkTo('PLANNING');
      await kit.takeOutbox();
      const before = await kit.snapshot(caseId);
      const faulty = withFaultyOutbox(kit.store);
      const broken = new Orchestrator({ store: faulty.store, clock: systemClock, ids: uuidGen });
      const key = newKey();
      const request = { event: 'plan_ready' as const, actor: 'planner@svc', meta: { plan: validPlan() } };
      await assert.rejects(broken.transition(caseId, request, { idempotencyKey: key }), /injected fault/);
      const order = faulty.calls;
      assert.ok(order.indexOf('updateCase') >= 0 && order.indexOf('appendTimeline') > order.indexOf('updateCase'), order.join(','));
      assert.equal(order.at(-1), 'appendOutbox', 'the fault hit after the timeline write');
      assert.equal(faulty.planIds.length, 1);

      await kit.assertNothingWritten(caseId, before, 'failed transaction');
      assert.equal(await kit.store.queries.getPlan(faulty.planIds[0]!), null, 'the plan insert was rolled back');

      const retry = await kit.orchestrator.transition(caseId, request, { idempotencyKey: key });
      expectOk(retry, 'applied'); // the key was not consumed
      assert.equal(retry.replayed, false);
      const after = await kit.snapshot(caseId);
      assert.equal(after.status, 'WAIT_GATE');
      assert.equal(after.version, before.version + 1);
      assert.equal((await kit.takeOutbox(caseId)).length, 2);
    });

    it('a failed case creation leaves no case behind', async () => {
      const faulty = withFaultyOutbox(kit.store);
      const broken = new Orchestrator({ store: faulty.store, clock: systemClock, ids: uuidGen });
      const key = newKey();
      const titleText = `doomed ${randomUUID()}`;
      await assert.rejects(broken.createCase({ title: titleText, tenant: 't-001' }, { idempotencyKey: key }), /injected fault/);
      assert.deepEqual((await kit.store.queries.listCases({ limit: 1000 })).filter((c) => c.title === titleText), []);
      const retry = await kit.orchestrator.createCase({ title: titleText, tenant: 't-001' }, { idempotencyKey: key });
      expectOk(retry, 'created');
      assert.equal(retry.replayed, false);
    });
  });
}
