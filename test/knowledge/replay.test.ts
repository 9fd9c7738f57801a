import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { replayStoredCase } from '../../adapters/knowledge/case-history.js';
import { CASE_EVENTS, type CaseEvent } from '../../core/fsm/states.js';
import type { CaseQueries } from '../../core/ports/case-store.js';
import { replayCase } from '../../core/replay/replay.js';
import { completePlan, createCase, key, startApi, type ApiHarness } from '../http/api-harness.js';
import { expectOk } from '../support/outcomes.js';

/** meta an event needs to pass its guard (plan_ready needs a complete plan). */
function metaFor(event: CaseEvent): Record<string, unknown> {
  return event === 'plan_ready' ? { plan: completePlan } : {};
}

describe('replay: timeline folded through the pure FSM', () => {
  let h: ApiHarness;
  before(async () => {
    // The routes read through whatever store the harness opened (bound once it exists).
    const queries = new Proxy({} as CaseQueries, { get: (_t, name) => {
      const q = h.store.queries as unknown as Record<string | symbol, unknown>;
      return (q[name] as (...args: unknown[]) => unknown).bind(h.store.queries);
    } });
    h = await startApi({}); // GET /case/{id}/replay and /report are core routes
  });
  after(async () => { await h?.close(); });

  test('property: random event sequences through the Orchestrator always replay to the stored status and version', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.constantFrom(...CASE_EVENTS), { minLength: 0, maxLength: 25 }),
      fc.array(fc.boolean(), { minLength: 25, maxLength: 25 }),
      async (events, badPlans) => {
        const created = await h.orchestrator.createCase({ title: 'property case', tenant: 't' }, { idempotencyKey: key('pc') });
        const caseId = expectOk(created).case_id;
        for (const [i, event] of events.entries()) {
          // Some plan_ready carry an incomplete plan: a 422 with a timeline note, no state change.
          const meta = event === 'plan_ready' && badPlans[i] ? { plan: { title: 'no steps' } } : metaFor(event);
          const res = await h.orchestrator.transition(caseId, { event, actor: 'prop', meta }, { idempotencyKey: key('pt') });
          assert.ok(res.ok || res.code === 'OPS_ILLEGAL_TRANSITION' || res.code === 'OPS_GUARD_FAILED', `unexpected ${JSON.stringify(res)}`);
        }
        const report = await replayStoredCase(h.store.queries, caseId);
        assert.ok(report, 'case exists');
        assert.equal(report.agrees, true, JSON.stringify(report.divergence));
        const stored = await h.store.queries.getCase(caseId);
        assert.deepEqual(report.replayed, { status: stored!.status, version: stored!.version });
      },
    ), { numRuns: 25 });
  });

  test('a hand-corrupted timeline (to_status changed) is reported as divergent at that entry', async () => {
    const { case_id } = await createCase(h.app);
    for (const event of ['start_analysis', 'analysis_done', 'plan_ready'] as const) {
      const res = await h.orchestrator.transition(case_id, { event, actor: 'walker', meta: metaFor(event) }, { idempotencyKey: key('w') });
      expectOk(res, 'applied');
    }
    const timeline = await h.store.queries.listTimeline(case_id);
    const target = timeline.find((e) => e.event === 'analysis_done')!;
    await h.store.runSql((q) => q.query(`UPDATE case_timeline SET to_status = 'EXECUTING' WHERE id = $1`, [target.id]));

    const report = await replayStoredCase(h.store.queries, case_id);
    assert.equal(report!.agrees, false);
    assert.equal(report!.divergence!.timeline_id, target.id);
    assert.equal(report!.divergence!.event, 'analysis_done');
    assert.deepEqual(report!.divergence!.expected, { status: 'PLANNING', version: 3 });
    assert.equal(report!.divergence!.found.status, 'EXECUTING');

    {
      const h2 = h;
      // A case row edited behind the Orchestrator's back is divergent too (final comparison).
      const other = await createCase(h2.app);
      await h2.orchestrator.transition(other.case_id, { event: 'start_analysis', actor: 'a' }, { idempotencyKey: key('s') });
      const fine = await h2.app.inject({ method: 'GET', url: `/case/${other.case_id}/replay` });
      assert.equal(fine.statusCode, 200);
      assert.equal(fine.json().data.agrees, true);
      await h2.store.runSql((q) => q.query(`UPDATE ops_case SET version = 7 WHERE id = $1`, [other.case_id]));
      const res = await h2.app.inject({ method: 'GET', url: `/case/${other.case_id}/replay` });
      assert.equal(res.statusCode, 200);
      const body = res.json().data;
      assert.equal(body.agrees, false);
      assert.equal(body.divergence.timeline_id, null);
      assert.match(body.divergence.reason, /version 7/);
      assert.equal((await h2.app.inject({ method: 'GET', url: '/case/00000000-0000-4000-8000-000000000000/replay' })).statusCode, 404);
      assert.equal((await h2.app.inject({ method: 'GET', url: '/case/nope/replay' })).statusCode, 400);
    }
  });

  test('pure replay: an illegal event in the timeline is the first divergence', () => {
    const at = new Date('2026-01-01T00:00:00Z');
    const base = { case_id: 'c', actor: 'a', reason: null, correlation_id: null, trace_id: null, meta: {}, created_at: at };
    const report = replayCase({ id: 'c', status: 'EXECUTING', version: 3 }, [
      { ...base, id: 1, kind: 'created', event: 'case_created', from_status: null, to_status: 'NEW', version: 1 },
      { ...base, id: 2, kind: 'transition', event: 'start_analysis', from_status: 'NEW', to_status: 'ANALYZING', version: 2 },
      { ...base, id: 3, kind: 'note', event: 'evidence', from_status: null, to_status: null, version: 2 },
      { ...base, id: 4, kind: 'transition', event: 'gate_approved', from_status: 'ANALYZING', to_status: 'EXECUTING', version: 3 },
    ]);
    assert.equal(report.agrees, false);
    assert.equal(report.divergence!.timeline_id, 4);
    assert.equal(report.divergence!.index, 1);
    assert.match(report.divergence!.reason, /not allowed in status ANALYZING/);
  });
});
