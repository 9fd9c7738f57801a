import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { verifyChain } from '../../core/audit/hash-chain.js';
import { Orchestrator } from '../../core/orchestrator/index.js';
import type { CaseStore } from '../../core/ports/case-store.js';
import type { CaseEvent } from '../../core/fsm/index.js';
import { auditStoredCase, sha256Hex } from '../../adapters/audit/audit-chain.js';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';
import { validPlan } from './case-store.contract.js';
import type { CaseStoreFixture } from '../support/backends.js';
import { expectOk } from '../support/outcomes.js';

/** A change made behind the store's back, as someone with database access would. */
export type TimelineTamper = { reason: string } | { meta: Record<string, unknown> } | 'delete';

export interface AuditChainContractOptions<S extends CaseStore> extends CaseStoreFixture<S> {
  /** Change (or delete) one stored timeline entry directly in the database. */
  tamper(store: S, timelineId: number, change: TimelineTamper): Promise<void>;
}

const HAPPY: readonly CaseEvent[] = ['start_analysis', 'analysis_done', 'plan_ready', 'gate_approved', 'exec_done', 'verify_pass'];

/**
 * The tamper-evident timeline on a backend: every write path chains its entry to the case's
 * previous one, direct edits are found at the right entry, and the export reads a time range.
 */
export function auditChainContract<S extends CaseStore>(opts: AuditChainContractOptions<S>): void {
  describe(`audit chain contract: ${opts.name}`, { skip: opts.skip || false }, () => {
    let store: S;
    let orchestrator: Orchestrator;
    before(async () => {
      store = await opts.create();
      orchestrator = new Orchestrator({ store, clock: systemClock, ids: uuidGen });
    });
    after(async () => {
      if (store) await opts.cleanup(store);
    });

    async function createCase(title = 'audit me'): Promise<string> {
      const result = await orchestrator.createCase({ title, tenant: 't-audit' }, { idempotencyKey: `k-${randomUUID()}`, actor: 'tester' });
            return expectOk(result, 'created').case_id;
    }

    /** Apply `event`; answers the success's kind or the failure's code. */
    async function step(caseId: string, event: CaseEvent, meta: Record<string, unknown> = event === 'plan_ready' ? { plan: validPlan() } : {}): Promise<string> {
      const result = await orchestrator.transition(caseId, { event, actor: 'tester@svc', reason: `test ${event}`, meta }, { idempotencyKey: `k-${randomUUID()}` });
      return result.ok ? result.kind : result.code;
    }

    async function note(caseId: string, text: string): Promise<void> {
      const result = await orchestrator.record(caseId, { event: 'evidence', actor: 'sensor', reason: text, meta: { text, at: new Date() } }, { idempotencyKey: `k-${randomUUID()}` });
      expectOk(result, 'created');
    }

    /** A case through the whole loop, with a note and a guard rejection on the way. */
    async function lifecycle(): Promise<string> {
      const caseId = await createCase();
      assert.equal(await step(caseId, 'start_analysis'), 'applied');
      await note(caseId, 'p95 at 2.3 s');
      assert.equal(await step(caseId, 'analysis_done'), 'applied');
      assert.equal(await step(caseId, 'plan_ready', {}), 'OPS_GUARD_FAILED', 'plan_ready without a plan is refused with a timeline note');
      for (const event of HAPPY.slice(2)) assert.equal(await step(caseId, event), 'applied', event);
      return caseId;
    }

    it('a full lifecycle (creation, transitions, notes, a guard rejection) chains every entry', async () => {
      const caseId = await lifecycle();
      const entries = await store.queries.listTimeline(caseId);
      assert.ok(entries.length >= 9, `expected at least 9 entries, got ${entries.length}`);
      assert.equal(entries[0]!.prev_hash, null);
      for (const [i, e] of entries.entries()) {
        assert.match(e.hash ?? '', /^[0-9a-f]{64}$/, `entry ${e.id} (${e.event}) has a hash`);
        if (i > 0) assert.equal(e.prev_hash, entries[i - 1]!.hash, `entry ${e.id} names its predecessor`);
      }
      assert.equal(await store.queries.timelineHead(caseId), entries.at(-1)!.hash);
      assert.deepEqual(verifyChain(entries, sha256Hex), { ok: true, checked: entries.length });
      assert.deepEqual((await auditStoredCase(store.queries, caseId))?.verdict, { ok: true, checked: entries.length });
    });

    it('every CaseTx write path chains: insertCase + two appends, lockCase + append, an append without a lock', async () => {
      const caseId = randomUUID();
      const now = new Date();
      const entry = (event: string, version = 1) => ({
        case_id: caseId, kind: 'note' as const, event, actor: 'sensor:test', reason: event, correlation_id: null, trace_id: null,
        from_status: null, to_status: null, version, meta: { event, nested: { z: 1, a: [true, null] } }, created_at: new Date(),
      });
      await store.transact(async (tx) => {
        await tx.insertCase({ id: caseId, tenant: 't', title: 'direct', severity: 2, service: null, env: null, requester: null, labels: {},
          status: 'NEW', version: 1, plan_id: null, created_at: now, updated_at: now });
        await tx.appendTimeline({ ...entry('case_created'), kind: 'created', to_status: 'NEW' });
        await tx.appendTimeline(entry('alert_firing'));
      });
      await store.transact(async (tx) => {
        assert.ok(await tx.lockCase(caseId));
        await tx.appendTimeline(entry('alert_resolved'));
        await tx.appendTimeline(entry('second_in_tx'));
      });
      await store.transact(async (tx) => { await tx.appendTimeline(entry('unlocked')); });
      const entries = await store.queries.listTimeline(caseId);
      assert.deepEqual(entries.map((e) => e.event), ['case_created', 'alert_firing', 'alert_resolved', 'second_in_tx', 'unlocked']);
      assert.deepEqual((await auditStoredCase(store.queries, caseId))?.verdict, { ok: true, checked: 5 });
    });

    it('concurrent writers on one case still form one chain', async () => {
      const caseId = await createCase('busy case');
      await Promise.all(Array.from({ length: 12 }, (_, i) => note(caseId, `note ${i}`)));
      const verdict = (await auditStoredCase(store.queries, caseId))?.verdict;
      assert.deepEqual(verdict, { ok: true, checked: 13 });
    });

    it('a reason changed in the database is found at that entry', async () => {
      const caseId = await lifecycle();
      const entries = await store.queries.listTimeline(caseId);
      const target = entries.find((e) => e.event === 'gate_approved')!;
      await opts.tamper(store, target.id, { reason: 'approved by the CTO' });
      const audit = await auditStoredCase(store.queries, caseId);
      assert.equal(audit?.verdict.ok, false);
      if (!audit || audit.verdict.ok) return;
      assert.equal(audit.verdict.first_broken.id, target.id);
      assert.equal(audit.verdict.first_broken.index, entries.indexOf(target));
      assert.equal(audit.verdict.first_broken.found, target.hash);
      // The pure function on the rows as read says the same.
      assert.deepEqual(verifyChain(await store.queries.listTimeline(caseId), sha256Hex), audit.verdict);
    });

    it('a meta edit and a deleted last entry are found too', async () => {
      const caseId = await lifecycle();
      const entries = await store.queries.listTimeline(caseId);
      const noteEntry = entries.find((e) => e.event === 'evidence')!;
      await opts.tamper(store, noteEntry.id, { meta: { ...noteEntry.meta, text: 'all good' } });
      const edited = (await auditStoredCase(store.queries, caseId))?.verdict;
      assert.equal(edited && !edited.ok && edited.first_broken.id, noteEntry.id);

      const other = await lifecycle();
      const last = (await store.queries.listTimeline(other)).at(-1)!;
      await opts.tamper(store, last.id, 'delete');
      const truncated = (await auditStoredCase(store.queries, other))?.verdict;
      assert.equal(truncated?.ok, false);
      assert.equal(truncated && !truncated.ok && truncated.first_broken.expected, last.hash);
    });

    it('listTimelineRange returns the entries of a time range in id order, page by page', async () => {
      const from = new Date();
      const a = await createCase('range a');
      const b = await createCase('range b');
      await note(a, 'in range');
      await step(b, 'start_analysis');
      const to = new Date(Date.now() + 1);
      const inRange = (await store.queries.listTimelineRange(from, to, 1000)).filter((e) => e.case_id === a || e.case_id === b);
      assert.deepEqual(inRange.map((e) => e.event), ['case_created', 'case_created', 'evidence', 'start_analysis']);
      assert.ok(inRange.every((e) => e.hash && e.created_at >= from && e.created_at < to));
      const ids = (await store.queries.listTimelineRange(from, to, 1000)).map((e) => e.id);
      assert.deepEqual(ids, [...ids].sort((x, y) => x - y));
      const firstPage = await store.queries.listTimelineRange(from, to, 2);
      const secondPage = await store.queries.listTimelineRange(from, to, 2, firstPage.at(-1)!.id);
      assert.deepEqual([...firstPage, ...secondPage].map((e) => e.id), ids.slice(0, 4));
      assert.deepEqual(await store.queries.listTimelineRange(new Date(0), new Date(1), 10), []);
    });
  });
}
