import { after, before, describe, it } from 'node:test';
import { CONSUMER_GROUPS } from '../../core/outbox/consumer-groups.js';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { CASE_EVENTS, CASE_STATUSES, decide, type CaseEvent, type CaseStatus } from '../../core/fsm/index.js';
import { Orchestrator, type WriteOptions } from '../../core/orchestrator/index.js';
import type { Outcome, TransitionData } from '../../core/orchestrator/outcome.js';
import { expectFailure, expectOk, settledOf } from '../support/outcomes.js';
import type { CaseStore, CaseTx, TransitionWrite } from '../../core/ports/case-store.js';
import { writeTransitionStepwise } from '../../core/orchestrator/write-transition.js';
import type { ChangePlan } from '../../core/schemas/plan.js';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';
import { httpStatusOf } from '../../core/errors.js';

/** How a backend plugs into a contract suite (after Agenda's shared repository suites). */
export interface StoreContractOptions {
  /** Backend name shown in the suite title. */
  name: string;
  /** A connected, migrated, empty store. */
  create: () => Promise<CaseStore>;
  /** Close the store and drop whatever `create` made. */
  cleanup: (store: CaseStore) => Promise<void>;
  /** A reason to skip the whole suite (printed), or false/undefined to run it. */
  skip?: string | false;
}

/** A complete ChangePlan that passes the plan guard. */
export function validPlan(title = 'canary rollout of checkout-api'): ChangePlan {
  return {
    title,
    risk_score: 0.2,
    steps: [
      { name: 'canary', action: 'k8s.rollout', params: { deployment: 'checkout-api', image: 'checkout:1.2.4' }, timeout_s: 120, retry: 1 },
      { name: 'smoke', action: 'script.exec', params: { script: 'echo ok' }, timeout_s: 30, retry: 0 },
    ],
    rollback: { steps: [{ action: 'k8s.rollout', params: { deployment: 'checkout-api', image: 'checkout:1.2.3' }, timeout_s: 120, retry: 0 }] },
    verify: { settle_s: 0, checks: [{ name: 'p95', query: 'histogram_quantile(0.95, rate(http_seconds_bucket[5m]))', op: '<', threshold: 0.5 }] },
  };
}

/** Plans the guard must refuse, each with what is wrong. */
function incompletePlans(): Array<{ label: string; plan: unknown }> {
  const plan = validPlan();
  const { rollback: _rollback, ...withoutRollback } = plan;
  const { verify: _verify, ...withoutVerify } = plan;
  return [
    { label: 'no plan at all', plan: undefined },
    { label: 'no steps', plan: { ...plan, steps: [] } },
    { label: 'timeout_s 5', plan: { ...plan, steps: [{ action: 'noop', params: {}, timeout_s: 5, retry: 0 }] } },
    { label: 'unknown action', plan: { ...plan, steps: [{ action: 'rm.everything', params: {}, timeout_s: 30, retry: 0 }] } },
    { label: 'missing rollback', plan: withoutRollback },
    { label: 'missing verify', plan: withoutVerify },
  ];
}

/** Events that lead from NEW to each status (PARKED through a gate rejection). */
const ROUTES: Readonly<Record<CaseStatus, readonly CaseEvent[]>> = {
  NEW: [],
  ANALYZING: ['start_analysis'],
  PLANNING: ['start_analysis', 'analysis_done'],
  WAIT_GATE: ['start_analysis', 'analysis_done', 'plan_ready'],
  EXECUTING: ['start_analysis', 'analysis_done', 'plan_ready', 'gate_approved'],
  VERIFYING: ['start_analysis', 'analysis_done', 'plan_ready', 'gate_approved', 'exec_done'],
  CLOSED: ['start_analysis', 'analysis_done', 'plan_ready', 'gate_approved', 'exec_done', 'verify_pass'],
  PARKED: ['start_analysis', 'analysis_done', 'plan_ready', 'gate_rejected'],
};

/** The command each status enqueues on entry, as issue 2 lists them. */
const COMMAND_FOR: Readonly<Partial<Record<CaseStatus, string>>> = {
  ANALYZING: 'cmd.analyze',
  PLANNING: 'cmd.plan.generate',
  WAIT_GATE: 'cmd.gate.eval',
  EXECUTING: 'cmd.exec.run',
  VERIFYING: 'cmd.verify.run',
};

const newKey = (): string => `key-${randomUUID()}`;
const metaFor = (event: CaseEvent): Record<string, unknown> => (event === 'plan_ready' ? { plan: validPlan() } : {});

function errorOf(result: Outcome<unknown>): { code: string; message: string; details: Record<string, unknown> | null } {
  assert.ok(!result.ok, `expected a failure, got ${JSON.stringify(result)}`);
  return { code: result.code, message: result.message, details: result.details as Record<string, unknown> | null };
}
/** The data of a success; `{case_id, status, version, plan_id, …}` whichever write answered it. */
function dataOf<T extends { case_id: string; status: CaseStatus; version: number }>(result: Outcome<T>): T & Partial<TransitionData> {
  return expectOk(result);
}
/** How an answer reads in an assertion message: its kind or its code. */
function answerName(result: Outcome<unknown>): string {
  return result.ok ? result.kind : result.code;
}
/** A failure with `code`, which HTTP answers with `status`. */
function expectError(result: Outcome<unknown>, status: number, code: Parameters<typeof expectFailure>[1]): void {
  expectFailure(result, code, status);
}

/**
 * A store that fails `appendOutbox` inside the transaction: the fault lands after the case update
 * and the timeline write and before the outbox write. It records which writes happened first.
 */
/**
 * A store whose transactions fail on an outbox write. `stepwise` sends a transition as separate
 * writes (update, timeline, outbox, response), so the fault hits between the timeline and the
 * outbox; `after-write` lets the store's own `writeTransition` (one statement on SQL) complete
 * and fails right after it, before the commit.
 */
function withFaultyOutbox(store: CaseStore, mode: 'stepwise' | 'after-write' = 'stepwise'): { store: CaseStore; calls: string[]; planIds: string[] } {
  const calls: string[] = [];
  const planIds: string[] = [];
  const faultyTx = (tx: CaseTx): CaseTx => new Proxy(tx, {
    get(target, prop, receiver) {
      if (prop === 'appendOutbox') {
        return async () => {
          calls.push('appendOutbox');
          throw new Error('injected fault: outbox write failed');
        };
      }
      if (prop === 'writeTransition') {
        return async (write: TransitionWrite) => {
          calls.push('writeTransition');
          if (mode === 'stepwise') return writeTransitionStepwise(receiver as CaseTx, write);
          await target.writeTransition(write);
          throw new Error('injected fault: failed after the transition write, before the commit');
        };
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(prop));
        if (prop === 'insertPlanProposed') planIds.push((args[0] as { id: string }).id);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const decorated: CaseStore = {
    get name() { return store.name; },
    get ownsConnection() { return store.ownsConnection; },
    connect: () => store.connect(),
    close: () => store.close(),
    transact: (work) => store.transact((tx) => work(faultyTx(tx))),
    get queries() { return store.queries; },
    get outbox() { return store.outbox; },
    ping: () => store.ping(),
  };
  return { store: decorated, calls, planIds };
}

/**
 * The contract every CaseStore backend must meet, driven through the real Orchestrator with a real
 * clock and random UUIDs. Tests in one suite share a store and run one after another.
 */
export function caseStoreContract(opts: StoreContractOptions): void {
  const title = `CaseStore contract: ${opts.name}`;
  if (typeof opts.skip === 'string') {
    describe(title, () => {
      it(`${opts.name} suite`, { skip: opts.skip }, () => {});
    });
    return;
  }

  describe(title, () => {
    let store: CaseStore;
    let orchestrator: Orchestrator;

    before(async () => {
      store = await opts.create();
      orchestrator = new Orchestrator({ store, clock: systemClock, ids: uuidGen });
    });
    after(async () => {
      if (store) await opts.cleanup(store);
    });

    // ---- helpers -------------------------------------------------------------------------

    async function createCase(titleText = 'p95 spike'): Promise<string> {
      const result = await orchestrator.createCase({ title: titleText, tenant: 't-001' }, { idempotencyKey: newKey(), actor: 'tester' });
      return expectOk(result, 'created').case_id;
    }

    function transition(caseId: string, event: CaseEvent, options: Partial<WriteOptions> = {}, meta = metaFor(event)): Promise<Outcome<TransitionData>> {
      return orchestrator.transition(caseId, { event, actor: 'tester@svc', reason: `test ${event}`, meta }, { idempotencyKey: newKey(), ...options });
    }

    async function apply(caseId: string, event: CaseEvent): Promise<TransitionData> {
      return expectOk(await transition(caseId, event), 'applied');
    }

    /** A new case brought to `status` along ROUTES. */
    async function walkTo(status: CaseStatus): Promise<string> {
      const caseId = await createCase(`walk to ${status}`);
      for (const event of ROUTES[status]) await apply(caseId, event);
      const c = await store.queries.getCase(caseId);
      assert.equal(c?.status, status);
      return caseId;
    }

    /**
     * Claim every unpublished message, mark it published and return those of `caseId` in outbox
     * order. Nothing else consumes the outbox in this suite, so this reads exactly what was
     * written since the previous call.
     */
    async function takeOutbox(caseId?: string): Promise<OutboxEnvelope[]> {
      const owner = `test-${randomUUID()}`;
      const taken: Array<{ seq: number; envelope: OutboxEnvelope }> = [];
      for (;;) {
        const batch = await store.outbox.claim(owner, 60_000, 500, CONSUMER_GROUPS);
        if (batch.length === 0) break;
        taken.push(...batch);
        await store.outbox.markPublished(batch.map((r) => r.seq), owner);
      }
      taken.sort((a, b) => a.seq - b.seq);
      return taken.map((r) => r.envelope).filter((e) => caseId === undefined || e.case_id === caseId);
    }

    /** Everything a transition could have changed about a case. */
    async function snapshot(caseId: string) {
      const c = await store.queries.getCase(caseId);
      assert.ok(c, `case ${caseId} exists`);
      const timeline = await store.queries.listTimeline(caseId);
      return {
        status: c.status, version: c.version, plan_id: c.plan_id,
        timeline: timeline.map((e) => `${e.id}:${e.kind}:${e.event}`),
      };
    }

    /**
     * Open enough connections first (a pool-backed store opens them lazily): otherwise the first
     * request of a burst commits before the others connect, and the race under test never happens.
     */
    async function warmUp(concurrency = 50): Promise<void> {
      await Promise.all(Array.from({ length: concurrency }, () => store.transact(async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
      })));
    }

    async function assertNothingWritten(caseId: string, before: Awaited<ReturnType<typeof snapshot>>, what: string): Promise<void> {
      assert.deepEqual(await snapshot(caseId), before, `${what}: case and timeline unchanged`);
      assert.deepEqual((await takeOutbox(caseId)).map((m) => m.topic), [], `${what}: no outbox message`);
    }

    // ---- transitions ---------------------------------------------------------------------

    describe('legal transitions', () => {
      it('walks NEW → CLOSED, writing case, timeline and outbox for every step', async () => {
        const caseId = await createCase('happy path');
        const created = await takeOutbox(caseId);
        assert.deepEqual(created.map((m) => m.topic), ['evt.case.created.v1']);
        let status: CaseStatus = 'NEW';
        let version = 1;
        for (const event of ROUTES.CLOSED) {
          const before = await snapshot(caseId);
          const data = await apply(caseId, event);
          const expected = decide(status, event);
          assert.ok(expected.ok);
          assert.equal(data.status, expected.next);
          assert.equal(data.previous_status, status);
          assert.equal(data.version, version + 1);
          const after = await snapshot(caseId);
          assert.equal(after.status, expected.next);
          assert.equal(after.version, version + 1);
          assert.equal(after.timeline.length, before.timeline.length + 1);
          const entry = (await store.queries.listTimeline(caseId)).at(-1)!;
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
        const messages = await takeOutbox(caseId);
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
          const caseId = await walkTo(from);
          await takeOutbox();
          const parked = await apply(caseId, parkingEvent);
          assert.equal(parked.status, 'PARKED');
          await assertTransitionMessages(caseId, from, 'PARKED', parkingEvent, parked.version);
          const resumed = await apply(caseId, 'resume');
          assert.equal(resumed.status, 'PLANNING');
          assert.equal(resumed.version, parked.version + 1);
          await assertTransitionMessages(caseId, 'PARKED', 'PLANNING', 'resume', resumed.version);
          for (const event of ['plan_ready', 'gate_approved', 'exec_done', 'verify_pass'] as const) await apply(caseId, event);
          const closed = await snapshot(caseId);
          assert.equal(closed.status, 'CLOSED');
          assert.equal(closed.version, resumed.version + 4);
        });
      }
    });

    describe('illegal transitions', () => {
      for (const status of CASE_STATUSES) {
        it(`every illegal event in ${status} → 409 OPS_ILLEGAL_TRANSITION, nothing written, key not consumed`, async () => {
          const caseId = await walkTo(status);
          await takeOutbox();
          const before = await snapshot(caseId);
          const key = newKey();
          const illegal = CASE_EVENTS.filter((e) => !decide(status, e).ok);
          assert.ok(illegal.length > 0);
          for (const event of illegal) {
            // One key for all: a consumed key would answer the next (different) request with 422.
            const result = await orchestrator.transition(caseId, { event, actor: 'tester@svc', meta: metaFor(event) }, { idempotencyKey: key });
            expectError(result, 409, 'OPS_ILLEGAL_TRANSITION');
            assert.equal(result.replayed, false);
            const details = errorOf(result).details!;
            assert.equal(details.status, status);
            assert.equal(details.event, event);
            await assertNothingWritten(caseId, before, `${status} + ${event}`);
          }
          const legal = CASE_EVENTS.find((e) => decide(status, e).ok);
          if (legal) {
            const result = await orchestrator.transition(caseId, { event: legal, actor: 'tester@svc', meta: metaFor(legal) }, { idempotencyKey: key });
            expectOk(result, 'applied'); // the key is still free for a legal event
            assert.equal(result.replayed, false);
          } else {
            const result = await orchestrator.createCase({ title: 'key reuse after illegal', tenant: 't-001' }, { idempotencyKey: key });
            expectOk(result, 'created'); // the key is still free
          }
        });
      }

      it('unknown case → 404 OPS_CASE_NOT_FOUND, key not consumed', async () => {
        const key = newKey();
        const missing = randomUUID();
        const result = await orchestrator.transition(missing, { event: 'start_analysis', actor: 'tester@svc' }, { idempotencyKey: key });
        expectError(result, 404, 'OPS_CASE_NOT_FOUND');
        assert.equal(await store.queries.getCase(missing), null);
        const caseId = await createCase();
        const ok = await orchestrator.transition(caseId, { event: 'start_analysis', actor: 'tester@svc' }, { idempotencyKey: key });
        expectOk(ok, 'applied');
      });
    });

    describe('plan guard', () => {
      for (const { label, plan } of incompletePlans()) {
        it(`plan_ready with ${label} → 422, state unchanged, one 'rejected' note; replay returns the same 422`, async () => {
          const caseId = await walkTo('PLANNING');
          await takeOutbox();
          const before = await snapshot(caseId);
          const key = newKey();
          const request = { event: 'plan_ready' as const, actor: 'planner@svc', meta: plan === undefined ? {} : { plan } };
          const first = await orchestrator.transition(caseId, request, { idempotencyKey: key });
          expectError(first, 422, 'OPS_GUARD_FAILED');
          assert.equal(first.replayed, false);
          const after = await snapshot(caseId);
          assert.equal(after.status, 'PLANNING');
          assert.equal(after.version, before.version);
          assert.equal(after.plan_id, null);
          assert.equal(after.timeline.length, before.timeline.length + 1);
          const note = (await store.queries.listTimeline(caseId)).at(-1)!;
          assert.equal(note.kind, 'rejected');
          assert.equal(note.event, 'plan_ready');
          assert.equal(note.actor, 'planner@svc');
          assert.ok(note.reason && note.reason.length > 0, 'the note says why');
          assert.deepEqual((await takeOutbox(caseId)).map((m) => m.topic), ['evt.case.rejected.v1'], 'no transition or command is emitted');

          const replay = await orchestrator.transition(caseId, request, { idempotencyKey: key });
          assert.equal(replay.replayed, true);
          assert.deepEqual(settledOf(replay), settledOf(first));
          await assertNothingWritten(caseId, after, 'guard replay');

          const fixed = await transition(caseId, 'plan_ready');
          expectOk(fixed, 'applied'); // a complete plan still passes afterwards
        });
      }
    });

    describe('plans and decisions', () => {
      it('plan_ready stores plan_proposed and sets plan_id; gate decisions are stored', async () => {
        const caseId = await walkTo('PLANNING');
        const plan = validPlan('stored plan');
        const ready = await transition(caseId, 'plan_ready', {}, { plan, template: 'k8s.rollout.canary' });
        expectOk(ready, 'applied');
        const planId = dataOf(ready).plan_id;
        assert.ok(planId, 'plan_id is set');
        assert.equal((await store.queries.getCase(caseId))?.plan_id, planId);
        const stored = await store.queries.getPlan(planId);
        assert.equal(stored?.case_id, caseId);
        assert.deepEqual(stored?.plan, plan);
        const entry = (await store.queries.listTimeline(caseId)).at(-1)!;
        assert.equal(entry.meta.plan_id, planId, 'the timeline refers to the plan by id');
        assert.equal(entry.meta.plan, undefined, 'the timeline keeps no second copy of the plan');
        assert.equal(await store.queries.latestDecision(caseId), null);

        await apply(caseId, 'gate_approved');
        const approved = await store.queries.latestDecision(caseId);
        assert.equal(approved?.decision.outcome, 'approved');
        assert.equal(approved?.plan_id, planId);

        const other = await walkTo('WAIT_GATE');
        await apply(other, 'gate_rejected');
        const rejected = await store.queries.latestDecision(other);
        assert.equal(rejected?.decision.outcome, 'rejected');
        assert.equal(rejected?.plan_id, (await store.queries.getCase(other))?.plan_id);
      });

      it('cmd.gate.eval carries the case and the proposed plan', async () => {
        const caseId = await walkTo('PLANNING');
        await takeOutbox();
        const data = await apply(caseId, 'plan_ready');
        const [, gateEval] = await takeOutbox(caseId);
        assert.equal(gateEval?.topic, 'cmd.gate.eval');
        assert.equal(gateEval?.data.plan_id, data.plan_id);
        assert.equal(gateEval?.data.case_id, caseId);
      });
    });

    describe('idempotency', () => {
      it('a sequential replay returns the first response and writes nothing, even after the case moved on', async () => {
        const caseId = await createCase();
        await takeOutbox();
        const key = newKey();
        const request = { event: 'start_analysis' as const, actor: 'analyst@svc', reason: 'a1' };
        const first = await orchestrator.transition(caseId, request, { idempotencyKey: key });
        expectOk(first, 'applied');
        assert.equal(first.replayed, false);
        await takeOutbox();
        const after = await snapshot(caseId);

        const replay = await orchestrator.transition(caseId, request, { idempotencyKey: key });
        assert.equal(replay.replayed, true);
        expectOk(replay, 'applied');
        assert.deepEqual(settledOf(replay), settledOf(first));
        await assertNothingWritten(caseId, after, 'replay');

        await apply(caseId, 'analysis_done');
        const late = await orchestrator.transition(caseId, request, { idempotencyKey: key });
        assert.equal(late.replayed, true);
        assert.deepEqual(settledOf(late), settledOf(first));
        assert.equal(dataOf(late).status, 'ANALYZING');
      });

      it('50 concurrent requests with one key → exactly one transition, 50 identical answers', async () => {
        const caseId = await createCase();
        await takeOutbox();
        const before = await snapshot(caseId);
        const key = newKey();
        const request = { event: 'start_analysis' as const, actor: 'analyst@svc', reason: 'burst' };
        await warmUp();
        const results = await Promise.all(Array.from({ length: 50 }, () => orchestrator.transition(caseId, request, { idempotencyKey: key })));
        assert.equal(results.filter((r) => !r.replayed).length, 1, 'one request did the work');
        for (const r of results) {
          expectOk(r, 'applied');
          assert.deepEqual(settledOf(r), settledOf(results[0]!));
        }
        const after = await snapshot(caseId);
        assert.equal(after.status, 'ANALYZING');
        assert.equal(after.version, before.version + 1);
        assert.equal(after.timeline.length, before.timeline.length + 1);
        assert.equal((await takeOutbox(caseId)).length, 2, 'evt.case.transition.v1 + cmd.analyze, once');
      });

      it('the same key with a different body → 422 OPS_IDEMPOTENCY_KEY_REUSED, nothing written', async () => {
        const caseId = await createCase();
        const key = newKey();
        const first = await orchestrator.transition(caseId, { event: 'start_analysis', actor: 'analyst@svc' }, { idempotencyKey: key });
        expectOk(first, 'applied');
        await takeOutbox();
        const after = await snapshot(caseId);
        const reused = await orchestrator.transition(caseId, { event: 'start_analysis', actor: 'someone-else@svc' }, { idempotencyKey: key });
        expectError(reused, 422, 'OPS_IDEMPOTENCY_KEY_REUSED');
        const otherEvent = await orchestrator.transition(caseId, { event: 'analysis_done', actor: 'analyst@svc' }, { idempotencyKey: key });
        expectError(otherEvent, 422, 'OPS_IDEMPOTENCY_KEY_REUSED');
        await assertNothingWritten(caseId, after, 'key reuse');
      });

      it('case creation is idempotent: the same key gives the same case, one row', async () => {
        const key = newKey();
        const titleText = `idempotent create ${randomUUID()}`;
        const input = { title: titleText, tenant: 't-001' };
        await warmUp();
        const results = await Promise.all(Array.from({ length: 10 }, () => orchestrator.createCase(input, { idempotencyKey: key })));
        assert.equal(results.filter((r) => !r.replayed).length, 1);
        const ids = new Set(results.map((r) => expectOk(r, 'created').case_id));
        assert.equal(ids.size, 1);
        const [caseId] = [...ids];
        const again = await orchestrator.createCase(input, { idempotencyKey: key });
        assert.equal(again.replayed, true);
        assert.equal(dataOf(again).case_id, caseId);
        const rows = (await store.queries.listCases({ limit: 1000 })).filter((c) => c.title === titleText);
        assert.equal(rows.length, 1);
        assert.deepEqual((await store.queries.listTimeline(caseId!)).map((e) => e.kind), ['created']);
        assert.deepEqual((await takeOutbox(caseId)).map((m) => m.topic), ['evt.case.created.v1']);
        const different = await orchestrator.createCase({ title: 'something else', tenant: 't-001' }, { idempotencyKey: key });
        expectError(different, 422, 'OPS_IDEMPOTENCY_KEY_REUSED');
      });
    });

    describe('optimistic concurrency', () => {
      for (const [versionSource, status, code] of [['body', 409, 'OPS_VERSION_CONFLICT'], ['if-match', 412, 'OPS_PRECONDITION_FAILED']] as const) {
        it(`50 concurrent transitions at one expected version (${versionSource}) → one 200, the rest ${status}`, async () => {
          const caseId = await createCase();
          await takeOutbox();
          const before = await snapshot(caseId);
          await warmUp();
          const results = await Promise.all(Array.from({ length: 50 }, (_, i) =>
            orchestrator.transition(caseId, { event: 'start_analysis', actor: `racer-${i}` }, {
              idempotencyKey: newKey(), expectedVersion: before.version, versionSource,
            })));
          const winners = results.filter((r) => r.ok);
          assert.equal(winners.length, 1, `answers: ${results.map(answerName).join(',')}`);
          for (const r of results.filter((x) => !x.ok)) expectError(r, status, code);
          const after = await snapshot(caseId);
          assert.equal(after.version, before.version + 1);
          assert.equal(after.timeline.length, before.timeline.length + 1);
          assert.equal((await takeOutbox(caseId)).length, 2);
        });
      }

      it('a stale expected version is refused before anything is written', async () => {
        const caseId = await walkTo('ANALYZING');
        await takeOutbox();
        const before = await snapshot(caseId);
        const stale = await transition(caseId, 'analysis_done', { expectedVersion: before.version - 1, versionSource: 'if-match' });
        expectError(stale, 412, 'OPS_PRECONDITION_FAILED');
        assert.equal(errorOf(stale).details!.current_version, before.version);
        await assertNothingWritten(caseId, before, 'stale version');
        const fresh = await transition(caseId, 'analysis_done', { expectedVersion: before.version, versionSource: 'if-match' });
        expectOk(fresh, 'applied');
      });

      it('50 concurrent transitions without a version → the row lock lets exactly one through', async () => {
        const caseId = await createCase();
        await takeOutbox();
        const before = await snapshot(caseId);
        await warmUp();
        const results = await Promise.all(Array.from({ length: 50 }, (_, i) =>
          orchestrator.transition(caseId, { event: 'start_analysis', actor: `racer-${i}` }, { idempotencyKey: newKey() })));
        assert.equal(results.filter((r) => r.ok).length, 1, `answers: ${results.map(answerName).join(',')}`);
        for (const r of results.filter((x) => !x.ok)) {
          const { code } = errorOf(r);
          assert.ok(code === 'OPS_ILLEGAL_TRANSITION' || code === 'OPS_VERSION_CONFLICT', code);
          assert.equal(httpStatusOf(code), 409);
        }
        const after = await snapshot(caseId);
        assert.equal(after.version, before.version + 1);
        assert.equal(after.timeline.length, before.timeline.length + 1);
        assert.equal((await takeOutbox(caseId)).length, 2);
      });
    });

    describe('atomicity', () => {
      it('a transition failing after its one-statement write, before the commit, leaves no trace', async () => {
        const caseId = await walkTo('PLANNING');
        await takeOutbox();
        const before = await snapshot(caseId);
        const faulty = withFaultyOutbox(store, 'after-write');
        const broken = new Orchestrator({ store: faulty.store, clock: systemClock, ids: uuidGen });
        const key = newKey();
        const request = { event: 'plan_ready' as const, actor: 'planner@svc', meta: { plan: validPlan() } };
        await assert.rejects(broken.transition(caseId, request, { idempotencyKey: key }), /injected fault/);
        assert.equal(faulty.calls.at(-1), 'writeTransition');
        await assertNothingWritten(caseId, before, 'failed transaction');
        const retry = await orchestrator.transition(caseId, request, { idempotencyKey: key });
        expectOk(retry, 'applied'); // the key was not consumed
        assert.equal((await snapshot(caseId)).version, before.version + 1);
        assert.equal((await takeOutbox(caseId)).length, 2);
      });

      it('a fault after the timeline write and before the outbox write leaves no trace', async () => {
        const caseId = await walkTo('PLANNING');
        await takeOutbox();
        const before = await snapshot(caseId);
        const faulty = withFaultyOutbox(store);
        const broken = new Orchestrator({ store: faulty.store, clock: systemClock, ids: uuidGen });
        const key = newKey();
        const request = { event: 'plan_ready' as const, actor: 'planner@svc', meta: { plan: validPlan() } };
        await assert.rejects(broken.transition(caseId, request, { idempotencyKey: key }), /injected fault/);
        const order = faulty.calls;
        assert.ok(order.indexOf('updateCase') >= 0 && order.indexOf('appendTimeline') > order.indexOf('updateCase'), order.join(','));
        assert.equal(order.at(-1), 'appendOutbox', 'the fault hit after the timeline write');
        assert.equal(faulty.planIds.length, 1);

        await assertNothingWritten(caseId, before, 'failed transaction');
        assert.equal(await store.queries.getPlan(faulty.planIds[0]!), null, 'the plan insert was rolled back');

        const retry = await orchestrator.transition(caseId, request, { idempotencyKey: key });
        expectOk(retry, 'applied'); // the key was not consumed
        assert.equal(retry.replayed, false);
        const after = await snapshot(caseId);
        assert.equal(after.status, 'WAIT_GATE');
        assert.equal(after.version, before.version + 1);
        assert.equal((await takeOutbox(caseId)).length, 2);
      });

      it('a failed case creation leaves no case behind', async () => {
        const faulty = withFaultyOutbox(store);
        const broken = new Orchestrator({ store: faulty.store, clock: systemClock, ids: uuidGen });
        const key = newKey();
        const titleText = `doomed ${randomUUID()}`;
        await assert.rejects(broken.createCase({ title: titleText, tenant: 't-001' }, { idempotencyKey: key }), /injected fault/);
        assert.deepEqual((await store.queries.listCases({ limit: 1000 })).filter((c) => c.title === titleText), []);
        const retry = await orchestrator.createCase({ title: titleText, tenant: 't-001' }, { idempotencyKey: key });
        expectOk(retry, 'created');
        assert.equal(retry.replayed, false);
      });
    });

    describe('outbox and inbox port', () => {
      it('claim leases oldest first; a lease hides messages from other owners until it ends', async () => {
        await takeOutbox();
        const caseId = await walkTo('PLANNING');
        const a = `owner-a-${randomUUID()}`;
        const b = `owner-b-${randomUUID()}`;
        assert.equal(await store.outbox.backlog(), 5);
        const first = await store.outbox.claim(a, 60_000, 3, CONSUMER_GROUPS);
        assert.equal(first.length, 3);
        assert.deepEqual(first.map((r) => r.envelope.topic), ['evt.case.created.v1', 'evt.case.transition.v1', 'cmd.analyze']);
        assert.ok(first.every((r, i) => i === 0 || r.seq > first[i - 1]!.seq), 'seq increases');
        assert.ok(first.every((r) => r.attempts === 1 && r.envelope.case_id === caseId));
        const second = await store.outbox.claim(b, 60_000, 10, CONSUMER_GROUPS);
        assert.deepEqual(second.map((r) => r.envelope.topic), ['evt.case.transition.v1', 'cmd.plan.generate']);
        assert.deepEqual(await store.outbox.claim(b, 60_000, 10, CONSUMER_GROUPS), [], 'everything is leased');

        await store.outbox.markPublished(first.map((r) => r.seq), b);
        assert.equal(await store.outbox.backlog(), 5, 'only the lease owner can mark published');
        await store.outbox.markPublished(first.map((r) => r.seq), a);
        assert.equal(await store.outbox.backlog(), 2);

        await store.outbox.release(second.map((r) => r.seq), a, 0);
        assert.deepEqual(await store.outbox.claim(a, 60_000, 10, CONSUMER_GROUPS), [], 'only the lease owner can release');
        await store.outbox.release(second.map((r) => r.seq), b, 0);
        const again = await store.outbox.claim(a, 60_000, 10, CONSUMER_GROUPS);
        assert.deepEqual(again.map((r) => r.envelope.id), second.map((r) => r.envelope.id));
        assert.ok(again.every((r) => r.attempts === 2), 'attempts count claims');
        await store.outbox.markPublished(again.map((r) => r.seq), a);
        assert.equal(await store.outbox.backlog(), 0);
      });

      it('an expired lease can be claimed by another owner; a release waits retryAfterMs', async () => {
        await takeOutbox();
        await createCase();
        const a = `owner-a-${randomUUID()}`;
        const b = `owner-b-${randomUUID()}`;
        const [leased] = await store.outbox.claim(a, 150, 10, CONSUMER_GROUPS);
        assert.ok(leased);
        const stolen = await eventually(async () => {
          const batch = await store.outbox.claim(b, 60_000, 10, CONSUMER_GROUPS);
          return batch.length ? batch : null;
        });
        assert.equal(stolen[0]!.envelope.id, leased.envelope.id);
        assert.equal(stolen[0]!.attempts, 2);
        await store.outbox.markPublished([leased.seq], a);
        assert.equal(await store.outbox.backlog(), 1, 'the expired owner cannot mark it');

        await store.outbox.release([leased.seq], b, 1_000);
        assert.deepEqual(await store.outbox.claim(a, 60_000, 10, CONSUMER_GROUPS), [], 'released with a retry delay: not claimable yet');
        const retried = await eventually(async () => {
          const batch = await store.outbox.claim(a, 60_000, 10, CONSUMER_GROUPS);
          return batch.length ? batch : null;
        });
        assert.equal(retried[0]!.envelope.id, leased.envelope.id);
        assert.equal(retried[0]!.attempts, 3);
        await store.outbox.markPublished([leased.seq], a);
        assert.equal(await store.outbox.backlog(), 0);
      });

      it('concurrent claims by different owners never share a message', async () => {
        await takeOutbox();
        for (let i = 0; i < 4; i++) await walkTo('WAIT_GATE');
        const total = await store.outbox.backlog();
        assert.equal(total, 4 * 7);
        const owners = Array.from({ length: 8 }, (_, i) => `owner-${i}-${randomUUID()}`);
        await warmUp(owners.length);
        const claims = await Promise.all(owners.map((o) => store.outbox.claim(o, 60_000, 5, CONSUMER_GROUPS)));
        const ids = claims.flat().map((r) => r.envelope.id);
        assert.equal(new Set(ids).size, ids.length, 'no message was leased twice');
        assert.equal(ids.length, total);
        await Promise.all(owners.map((o, i) => store.outbox.markPublished(claims[i]!.map((r) => r.seq), o)));
        assert.equal(await store.outbox.backlog(), 0);
      });

      it('the inbox records a message once per consumer', async () => {
        const msg = randomUUID();
        assert.equal(await store.queries.inboxHas('c1', msg), false);
        assert.equal(await store.transact((tx) => tx.recordInbox('c1', msg, new Date())), true);
        assert.equal(await store.transact((tx) => tx.recordInbox('c1', msg, new Date())), false);
        assert.equal(await store.transact((tx) => tx.recordInbox('c2', msg, new Date())), true);
        assert.equal(await store.queries.inboxHas('c1', msg), true);
        const rolledBack = randomUUID();
        await assert.rejects(store.transact(async (tx) => {
          await tx.recordInbox('c1', rolledBack, new Date());
          throw new Error('consumer failed');
        }), /consumer failed/);
        assert.equal(await store.queries.inboxHas('c1', rolledBack), false, 'a rolled-back inbox record does not count');
      });
    });
  });
}

/** Poll `probe` until it returns a value (generous deadline: tests run on loaded machines). */
export async function eventually<T>(probe: () => Promise<T | null>, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
