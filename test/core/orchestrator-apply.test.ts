import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { factApplier } from '../../adapters/jobs/fact-applier.js';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import type { CaseStore } from '../../core/ports/case-store.js';
import type { CaseStatus } from '../../core/fsm/states.js';
import { emit, type Emit } from '../../core/events/typed-events.js';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';
import { validPlan } from '../contracts/case-store.contract.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { expectFailure, expectOk, settledOf } from '../support/outcomes.js';

let store: PgliteCaseStore;
let orchestrator: Orchestrator;
before(async () => {
  store = await createTestPgliteStore();
  orchestrator = new Orchestrator({ store, clock: systemClock, ids: uuidGen });
});
after(async () => { await cleanupTestPgliteStore(store); });

/** A new case walked by agents to `status` (NEW, ANALYZING or PLANNING). */
async function caseIn(status: CaseStatus): Promise<string> {
  const caseId = expectOk(await orchestrator.createCase({ title: `apply ${status}` }, { idempotencyKey: randomUUID() })).case_id;
  const route = { NEW: [], ANALYZING: ['start_analysis'], PLANNING: ['start_analysis', 'analysis_done'] }[status as 'NEW' | 'ANALYZING' | 'PLANNING'];
  for (const event of route as Array<'start_analysis' | 'analysis_done'>) {
    expectOk(await orchestrator.transition(caseId, { event, actor: 'agent' }, { idempotencyKey: randomUUID() }), 'applied');
  }
  return caseId;
}

async function outboxOf(caseId: string): Promise<OutboxEnvelope[]> {
  // One row per message (a message is stored once per consumer group).
  const r = await store.db.query<{ payload: OutboxEnvelope }>(
    'SELECT payload FROM outbox WHERE id IN (SELECT min(id) FROM outbox WHERE key = $1 GROUP BY msg_id) ORDER BY id', [caseId]);
  return r.rows.map((row) => row.payload);
}

/** `inner`, counting its transactions. */
function counting(inner: CaseStore): { store: CaseStore; transactions: () => number } {
  let n = 0;
  const wrapped = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'transact') return (work: Parameters<CaseStore['transact']>[0]) => { n++; return target.transact(work); };
      return Reflect.get(target, prop, receiver);
    },
  });
  return { store: wrapped, transactions: () => n };
}

const analysisDone = (caseId: string) => ({
  event: 'evidence', actor: 'analyst', reason: '2 piece(s) of evidence gathered', meta: { evidence: ['a', 'b'] },
  requireStatus: ['ANALYZING' as const], fact: emit('evt.analysis.done.v1', { actor: 'analyst', reason: 'evidence gathered', case: caseId }),
});

test('apply records the note and the fact and applies the transition in one transaction; the delivered fact is a replay', async () => {
  const caseId = await caseIn('ANALYZING');
  const counted = counting(store);
  const o = new Orchestrator({ store: counted.store, clock: systemClock, ids: uuidGen });
  const reported = await o.apply(caseId, analysisDone(caseId), { idempotencyKey: `analyze:${randomUUID()}` });
  assert.equal(counted.transactions(), 1);
  const data = expectOk(reported, 'created');
  assert.equal(data.status, 'ANALYZING', 'the note is written at the version the fact names');
  assert.equal(data.version, 2);
  const transition = data.transition;
  assert.ok(transition?.ok, JSON.stringify(transition));
  assert.equal(transition.kind, 'applied');
  assert.equal(transition.data.status, 'PLANNING');
  assert.equal(transition.data.version, 3);
  const c = await store.queries.getCase(caseId);
  assert.equal(c!.status, 'PLANNING');
  const timeline = await store.queries.listTimeline(caseId);
  assert.deepEqual(timeline.slice(-2).map((e) => [e.kind, e.event, e.actor]), [['note', 'evidence', 'analyst'], ['transition', 'analysis_done', 'analyst']]);
  assert.equal(timeline.at(-1)!.id, transition.data.timeline_id);
  const messages = await outboxOf(caseId);
  assert.deepEqual(messages.slice(-3).map((m) => m.topic), ['evt.analysis.done.v1', 'evt.case.transition.v1', 'cmd.plan.generate']);
  const [fact] = messages.filter((m) => m.topic === 'evt.analysis.done.v1');
  assert.deepEqual(data.message_ids, [fact!.id]);
  assert.equal(timeline.at(-1)!.correlation_id, fact!.id, 'the transition names the fact that asked for it');

  // The relay delivers the fact (at least once): the fact applier's answer is the stored one.
  const delivered = await orchestrator.applyWrittenFact(fact!);
  assert.equal(delivered?.replayed, true);
  assert.deepEqual(settledOf(delivered!), transition);
  await factApplier({ orchestrator })(fact!);
  assert.equal((await store.queries.getCase(caseId))!.version, 3);
  assert.equal((await store.queries.listTimeline(caseId)).length, timeline.length);
});

test('the fact applier\'s delivery of a fact this Orchestrator applied is answered without a transaction, with the stored answer', async () => {
  const caseId = await caseIn('ANALYZING');
  const counted = counting(store);
  const o = new Orchestrator({ store: counted.store, clock: systemClock, ids: uuidGen });
  const data = expectOk(await o.apply(caseId, analysisDone(caseId), { idempotencyKey: `analyze:${randomUUID()}` }), 'created');
  const [fact] = (await outboxOf(caseId)).filter((m) => m.topic === 'evt.analysis.done.v1');
  assert.equal(counted.transactions(), 1);
  const fromMemory = await o.applyWrittenFact(fact!);
  assert.equal(counted.transactions(), 1, 'no transaction for the delivery');
  assert.equal(fromMemory?.replayed, true);
  assert.deepEqual(settledOf(fromMemory!), data.transition);
  // Held once: a redelivery asks the store, which answers the same.
  const fromStore = await o.applyWrittenFact(fact!);
  assert.equal(counted.transactions(), 2);
  assert.equal(fromStore?.replayed, true);
  assert.deepEqual(settledOf(fromStore!), settledOf(fromMemory!));
  assert.equal((await store.queries.getCase(caseId))!.version, 3);
});

test('a repeated apply replays the report; one whose case moved on writes nothing', async () => {
  const caseId = await caseIn('ANALYZING');
  const key = `analyze:${randomUUID()}`;
  const first = await orchestrator.apply(caseId, analysisDone(caseId), { idempotencyKey: key });
  const again = await orchestrator.apply(caseId, analysisDone(caseId), { idempotencyKey: key });
  assert.equal(again.replayed, true);
  assert.deepEqual(settledOf(again), settledOf(first));
  const timeline = await store.queries.listTimeline(caseId);
  const late = await orchestrator.apply(caseId, analysisDone(caseId), { idempotencyKey: `analyze:${randomUUID()}` });
  expectFailure(late, 'OPS_ILLEGAL_TRANSITION', 409);
  assert.equal((await store.queries.listTimeline(caseId)).length, timeline.length);
});

test('a fact that breaks its topic\'s schema is a producer\'s bug: apply throws and writes nothing; the case stays', async () => {
  // The plan_ready guard checks the plan with the schema evt.plan.proposed.v1 carries it in, so a
  // plan the guard would refuse never gets as far as a transition: the fact itself is refused.
  const caseId = await caseIn('PLANNING');
  const { steps: _steps, ...noSteps } = validPlan();
  const timeline = await store.queries.listTimeline(caseId);
  const outbox = await outboxOf(caseId);
  await assert.rejects(orchestrator.apply(caseId, {
    event: 'plan_proposed', actor: 'planner', reason: 'half a plan', requireStatus: ['PLANNING'],
    fact: { topic: 'evt.plan.proposed.v1', data: { actor: 'planner', reason: 'half a plan', plan: noSteps, source: 'template', template: null } } as unknown as Emit,
  }, { idempotencyKey: `plan:${randomUUID()}` }), /evt\.plan\.proposed\.v1 does not match its schema/);
  const c = await store.queries.getCase(caseId);
  assert.equal(c!.status, 'PLANNING');
  assert.equal(c!.version, 3);
  assert.equal((await store.queries.listTimeline(caseId)).length, timeline.length);
  assert.equal((await outboxOf(caseId)).length, outbox.length);
});

test('a fact the state machine does not act on is only recorded', async () => {
  const caseId = await caseIn('PLANNING');
  const data = expectOk(await orchestrator.apply(caseId, {
    event: 'plan_invalid', actor: 'planner', reason: 'no template fits', requireStatus: ['PLANNING'],
    fact: emit('evt.plan.invalid.v1', { actor: 'planner', reason: 'no template fits', attempts: [] }),
  }, { idempotencyKey: `plan:${randomUUID()}:invalid` }), 'created');
  assert.equal(data.transition, null);
  assert.equal((await store.queries.getCase(caseId))!.status, 'PLANNING');
});

test('a report recorded before apply existed replays under the same key, and its fact is applied by the fact applier once', async () => {
  const caseId = await caseIn('ANALYZING');
  const key = `analyze:${randomUUID()}`;
  const { fact, ...note } = analysisDone(caseId);
  const recorded = expectOk(await orchestrator.record(caseId, { ...note, emit: [fact] }, { idempotencyKey: key }), 'created');
  assert.equal((await store.queries.getCase(caseId))!.status, 'ANALYZING');
  // The job runs again after the upgrade: the same report, now through apply, is the record's replay.
  const again = await orchestrator.apply(caseId, analysisDone(caseId), { idempotencyKey: key });
  assert.equal(again.replayed, true);
  assert.deepEqual(expectOk(again), recorded);
  const [written] = (await outboxOf(caseId)).filter((m) => m.id === recorded.message_ids[0]);
  const apply = factApplier({ orchestrator });
  await apply(written!);
  await apply(written!);
  const c = await store.queries.getCase(caseId);
  assert.equal(c!.status, 'PLANNING');
  assert.equal(c!.version, 3);
});
