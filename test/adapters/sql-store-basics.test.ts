import { randomUUID } from 'node:crypto';
import { CONSUMER_GROUPS } from '../../core/outbox/consumer-groups.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CaseStore, CaseTx } from '../../core/ports/case-store.js';
import type { CaseRecord } from '../../core/schemas/case.js';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';
import { pgliteSqlClient, pgPoolSqlClient, type SqlClient } from '../../adapters/store/sql/sql-client.js';
import { applySqlMigrations, readSqlMigrations } from '../../adapters/store/sql/sql-migrate.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import {
  POSTGRES_SKIP_REASON,
  cleanupTestPostgresStore,
  createTestPostgresStore,
  testDatabaseUrl,
} from '../support/postgres.js';

interface Backend<S extends CaseStore> {
  name: string;
  skip: string | false;
  create: () => Promise<S | null>;
  cleanup: (store: S) => Promise<void>;
  sqlClient: (store: S) => SqlClient;
}

function newCase(overrides: Partial<CaseRecord> = {}): CaseRecord {
  const now = new Date('2026-01-02T03:04:05.678Z');
  return {
    id: randomUUID(), tenant: 't-001', title: 'p95 spike', severity: 2, service: 'checkout-api', env: 'prod',
    requester: 'alice', labels: { alertname: 'HighLatency' }, status: 'NEW', version: 1, plan_id: null,
    created_at: now, updated_at: now, ...overrides,
  };
}

function envelope(caseId: string, topic: string): OutboxEnvelope {
  return {
    id: randomUUID(), topic, occurred_at: new Date().toISOString(), case_id: caseId, version: 1,
    trace_id: null, correlation_id: null, data: { note: topic },
  };
}

async function insertCaseWithOutbox(store: CaseStore, topics: string[]): Promise<{ caseId: string; messages: OutboxEnvelope[] }> {
  const record = newCase();
  const messages = topics.map((t) => envelope(record.id, t));
  await store.transact(async (tx) => {
    await tx.insertCase(record);
    await tx.appendOutbox(messages);
  });
  return { caseId: record.id, messages };
}

/** Drain the outbox so a test starts from an empty backlog. */
async function drainOutbox(store: CaseStore): Promise<void> {
  for (;;) {
    const batch = await store.outbox.claim('drain', 60_000, 100, CONSUMER_GROUPS);
    if (batch.length === 0) return;
    await store.outbox.markPublished(batch.map((m) => m.seq), 'drain');
  }
}

function storeSuite<S extends CaseStore>(backend: Backend<S>): void {
  describe(`SQL store basics on ${backend.name}`, { skip: backend.skip }, () => {
    let store: S;
    before(async () => {
      const created = await backend.create();
      assert.ok(created, `${backend.name} store could not be created`);
      store = created;
    });
    after(async () => {
      if (store) await backend.cleanup(store);
    });

    it('applies migrations once: a second run applies nothing', async () => {
      const applied = await applySqlMigrations(backend.sqlClient(store));
      assert.deepEqual(applied, []);
      const recorded = await backend.sqlClient(store).query<{ version: string }>('SELECT version FROM schema_migrations ORDER BY version');
      const files = (await readSqlMigrations()).map((m) => m.version);
      assert.deepEqual(recorded.rows.map((r) => r.version), files);
    });

    it('inserts a case and reads it back with Dates and numbers', async () => {
      const record = newCase();
      await store.transact((tx) => tx.insertCase(record));
      const read = await store.queries.getCase(record.id);
      assert.deepEqual(read, record);
      assert.ok(read!.created_at instanceof Date);
      assert.equal(await store.queries.getCase(randomUUID()), null);
      assert.equal(await store.queries.getCase('not-a-uuid'), null);
    });

    it('refuses a status outside the eight', async () => {
      await assert.rejects(store.transact((tx) => tx.insertCase(newCase({ status: 'DONE' as CaseRecord['status'] }))));
    });

    it('locks a case and updates it only at the expected version', async () => {
      const record = newCase();
      await store.transact((tx) => tx.insertCase(record));
      const later = new Date('2026-01-02T04:00:00.000Z');
      const planId = randomUUID();
      const result = await store.transact(async (tx) => {
        const locked = await tx.lockCase(record.id);
        assert.equal(locked?.version, 1);
        const stale = await tx.updateCase(record.id, 2, { status: 'ANALYZING', version: 3, updated_at: later });
        const fresh = await tx.updateCase(record.id, 1, { status: 'ANALYZING', version: 2, plan_id: planId, updated_at: later });
        return { stale, fresh };
      });
      assert.deepEqual(result, { stale: false, fresh: true });
      const read = await store.queries.getCase(record.id);
      assert.equal(read?.status, 'ANALYZING');
      assert.equal(read?.version, 2);
      assert.equal(read?.plan_id, planId);
      assert.equal(read?.updated_at.getTime(), later.getTime());
      // plan_id left out of the patch keeps the stored one
      await store.transact((tx) => tx.updateCase(record.id, 2, { status: 'PLANNING', version: 3, updated_at: later }));
      assert.equal((await store.queries.getCase(record.id))?.plan_id, planId);
      assert.equal(await store.transact((tx) => tx.lockCase(randomUUID())), null);
    });

    it('appends the timeline in order with increasing ids', async () => {
      const record = newCase();
      const ids = await store.transact(async (tx) => {
        await tx.insertCase(record);
        const base = {
          case_id: record.id, actor: 'bob', reason: null, correlation_id: 'c-1', trace_id: 't-1',
          from_status: null, to_status: null, version: 1, created_at: record.created_at,
        };
        const first = await tx.appendTimeline({ ...base, kind: 'created', event: 'case_created', meta: { severity: 2 } });
        const second = await tx.appendTimeline({ ...base, kind: 'note', event: 'evidence', meta: { link: 'loki://x', nested: { a: [1, 2] } } });
        return [first, second];
      });
      assert.equal(typeof ids[0], 'number');
      assert.ok(ids[1]! > ids[0]!);
      const timeline = await store.queries.listTimeline(record.id);
      assert.deepEqual(timeline.map((e) => e.id), ids);
      assert.deepEqual(timeline[1]?.meta, { link: 'loki://x', nested: { a: [1, 2] } });
      assert.equal(timeline[0]?.trace_id, 't-1');
      assert.ok(timeline[0]?.created_at instanceof Date);
    });

    it('stores plans and answers the latest decision', async () => {
      const record = newCase();
      const planId = randomUUID();
      const at = new Date('2026-01-02T05:00:00.000Z');
      await store.transact(async (tx) => {
        await tx.insertCase(record);
        await tx.insertPlanProposed({ id: planId, case_id: record.id, plan: { title: 'rollback', steps: [] }, source: 'planner', created_at: at });
        await tx.insertPlanApproved({ id: randomUUID(), case_id: record.id, plan_id: planId, decision: { outcome: 'rejected' }, created_at: at });
        await tx.insertPlanApproved({ id: randomUUID(), case_id: record.id, plan_id: planId, decision: { outcome: 'approved' }, created_at: at });
      });
      const plan = await store.queries.getPlan(planId);
      assert.deepEqual(plan, { id: planId, case_id: record.id, plan: { title: 'rollback', steps: [] }, source: 'planner', created_at: at });
      assert.equal((await store.queries.latestDecision(record.id))?.decision.outcome, 'approved');
      assert.equal(await store.queries.latestDecision(randomUUID()), null);
      assert.equal(await store.queries.getPlan('nope'), null);
    });

    it('claims an idempotency key once and replays the stored response verbatim', async () => {
      const key = `k-${randomUUID()}`;
      const response = { ok: true as const, kind: 'created' as const, data: { z_last: 1, a_first: 2, nested: { y: null, b: [3] } } };
      const first = await store.transact(async (tx) => {
        const claim = await tx.claimIdempotencyKey(key, 'hash-1', new Date());
        await tx.saveIdempotentResponse(key, response);
        return claim;
      });
      assert.deepEqual(first, { claimed: true });
      const second = await store.transact((tx) => tx.claimIdempotencyKey(key, 'hash-2', new Date()));
      assert.equal(second.claimed, false);
      if (second.claimed) return;
      assert.equal(second.requestHash, 'hash-1');
      assert.equal(JSON.stringify(second.response), JSON.stringify(response));
    });

    it('a response stored before outcomes ({status, body}) is read as the outcome it was', async () => {
      const legacy = [
        { status: 201, body: { data: { case_id: 'c-1' } }, expected: { ok: true, kind: 'created', data: { case_id: 'c-1' } } },
        { status: 200, body: { data: { version: 2 } }, expected: { ok: true, kind: 'applied', data: { version: 2 } } },
        { status: 202, body: { data: { approvals: 1 } }, expected: { ok: true, kind: 'accepted', data: { approvals: 1 } } },
        { status: 422, body: { error: { code: 'OPS_GUARD_FAILED', message: 'incomplete', details: { guard: 'plan_complete' } } },
          expected: { ok: false, code: 'OPS_GUARD_FAILED', message: 'incomplete', details: { guard: 'plan_complete' } } },
      ];
      for (const { status, body, expected } of legacy) {
        const key = `legacy-${randomUUID()}`;
        await backend.sqlClient(store).query('INSERT INTO idempotency (key, request_hash, response, created_at) VALUES ($1, $2, $3::json, now())',
          [key, 'h', JSON.stringify({ status, body })]);
        const claim = await store.transact((tx) => tx.claimIdempotencyKey(key, 'h', new Date()));
        assert.deepEqual(claim, { claimed: false, requestHash: 'h', response: expected }, `legacy ${status}`);
      }
    });

    it('a concurrent claim of one key waits for the first transaction and sees its response', async () => {
      const key = `k-${randomUUID()}`;
      const response = { ok: true as const, kind: 'applied' as const, data: { ok: true } };
      let releaseFirst!: () => void;
      const firstMayCommit = new Promise<void>((resolve) => { releaseFirst = resolve; });
      let firstClaimed!: () => void;
      const firstHasClaimed = new Promise<void>((resolve) => { firstClaimed = resolve; });
      const first = store.transact(async (tx) => {
        const claim = await tx.claimIdempotencyKey(key, 'h', new Date());
        firstClaimed();
        await firstMayCommit;
        await tx.saveIdempotentResponse(key, response);
        return claim;
      });
      await firstHasClaimed;
      let secondSettled = false;
      const second = store.transact((tx) => tx.claimIdempotencyKey(key, 'h', new Date()))
        .then((claim) => ({ claim }))
        .finally(() => { secondSettled = true; });
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(secondSettled, false, 'the second claim must wait for the first transaction');
      releaseFirst();
      assert.deepEqual(await first, { claimed: true });
      // Seeing the first transaction's response proves the second claim waited for its commit
      // (the two clients' replies may reach the event loop in either order, so no flag check).
      const { claim } = await second;
      assert.equal(claim.claimed, false);
      if (!claim.claimed) assert.deepEqual(claim.response, response);
    });

    it('a key whose first claimer rolled back can be claimed again', async () => {
      const key = `k-${randomUUID()}`;
      let releaseFirst!: () => void;
      const firstMayEnd = new Promise<void>((resolve) => { releaseFirst = resolve; });
      let firstClaimed!: () => void;
      const firstHasClaimed = new Promise<void>((resolve) => { firstClaimed = resolve; });
      const first = store.transact(async (tx) => {
        const claim = await tx.claimIdempotencyKey(key, 'h', new Date());
        firstClaimed();
        await firstMayEnd;
        tx.rollbackOnly();
        return claim;
      });
      await firstHasClaimed;
      const second = store.transact(async (tx) => {
        const claim = await tx.claimIdempotencyKey(key, 'h', new Date());
        await tx.saveIdempotentResponse(key, { ok: true, kind: 'created', data: {} });
        return claim;
      });
      releaseFirst();
      assert.deepEqual(await first, { claimed: true });
      assert.deepEqual(await second, { claimed: true });
    });

    it('rollbackOnly rolls back and still returns the value; a throw rolls back and rethrows', async () => {
      const kept = newCase();
      const undone = newCase();
      const value = await store.transact(async (tx) => {
        await tx.insertCase(undone);
        tx.rollbackOnly();
        return 'the value';
      });
      assert.equal(value, 'the value');
      assert.equal(await store.queries.getCase(undone.id), null);
      await assert.rejects(store.transact(async (tx) => {
        await tx.insertCase(undone);
        throw new Error('boom');
      }), /boom/);
      assert.equal(await store.queries.getCase(undone.id), null);
      await store.transact((tx) => tx.insertCase(kept));
      assert.ok(await store.queries.getCase(kept.id));
    });

    it('records an inbox entry once per consumer', async () => {
      const msg = randomUUID();
      const results = await store.transact(async (tx: CaseTx) => [
        await tx.recordInbox('planner', msg, new Date()),
        await tx.recordInbox('planner', msg, new Date()),
        await tx.recordInbox('gatekeeper', msg, new Date()),
      ]);
      assert.deepEqual(results, [true, false, true]);
      assert.equal(await store.transact((tx) => tx.recordInbox('planner', msg, new Date())), false);
      assert.equal(await store.queries.inboxHas('planner', msg), true);
      assert.equal(await store.queries.inboxHas('executor', msg), false);
    });

    it('leases outbox messages to one owner at a time, in order', async () => {
      await drainOutbox(store);
      const { messages } = await insertCaseWithOutbox(store, ['evt.a', 'evt.b', 'evt.c']);
      assert.equal(await store.outbox.backlog(), 3);

      const a = await store.outbox.claim('relay-a', 60_000, 2, CONSUMER_GROUPS);
      assert.deepEqual(a.map((m) => m.envelope), messages.slice(0, 2));
      assert.ok(a[0]!.seq < a[1]!.seq);
      assert.deepEqual(a.map((m) => m.attempts), [1, 1]);
      const b = await store.outbox.claim('relay-b', 60_000, 10, CONSUMER_GROUPS);
      assert.deepEqual(b.map((m) => m.envelope.id), [messages[2]!.id]);
      assert.deepEqual(await store.outbox.claim('relay-c', 60_000, 10, CONSUMER_GROUPS), []);

      // only the owner may mark published
      await store.outbox.markPublished([a[0]!.seq], 'relay-b');
      assert.equal(await store.outbox.backlog(), 3);
      await store.outbox.markPublished(a.map((m) => m.seq), 'relay-a');
      assert.equal(await store.outbox.backlog(), 1);

      // a release makes the message claimable again after retryAfter, with attempts counted
      await store.outbox.release([b[0]!.seq], 'relay-b', 0);
      const again = await store.outbox.claim('relay-a', 60_000, 10, CONSUMER_GROUPS);
      assert.deepEqual(again.map((m) => [m.envelope.id, m.attempts]), [[messages[2]!.id, 2]]);
      await store.outbox.markPublished([b[0]!.seq], 'relay-b'); // stale owner: no effect
      assert.equal(await store.outbox.backlog(), 1);
      await store.outbox.markPublished([b[0]!.seq], 'relay-a');
      assert.equal(await store.outbox.backlog(), 0);
      assert.deepEqual(await store.outbox.claim('relay-a', 60_000, 10, CONSUMER_GROUPS), []);
    });

    it('hands an expired lease to another owner', async () => {
      await drainOutbox(store);
      const { messages } = await insertCaseWithOutbox(store, ['evt.lease']);
      const first = await store.outbox.claim('relay-a', 1, 10, CONSUMER_GROUPS);
      assert.equal(first.length, 1);
      let second: Awaited<ReturnType<typeof store.outbox.claim>> = [];
      const deadline = Date.now() + 10_000;
      while (second.length === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        second = await store.outbox.claim('relay-b', 60_000, 10, CONSUMER_GROUPS);
      }
      assert.deepEqual(second.map((m) => [m.envelope.id, m.attempts]), [[messages[0]!.id, 2]]);
      await store.outbox.markPublished([first[0]!.seq], 'relay-a');
      assert.equal(await store.outbox.backlog(), 1, 'the expired owner cannot mark it published');
      await store.outbox.markPublished([first[0]!.seq], 'relay-b');
      assert.equal(await store.outbox.backlog(), 0);
    });

    it('answers ping', async () => {
      await store.ping();
    });
  });
}

storeSuite({
  name: 'PGlite',
  skip: false,
  create: createTestPgliteStore,
  cleanup: cleanupTestPgliteStore,
  sqlClient: (store) => pgliteSqlClient(store.db),
});

storeSuite({
  name: 'PostgreSQL server',
  skip: testDatabaseUrl() ? false : POSTGRES_SKIP_REASON,
  create: createTestPostgresStore,
  cleanup: cleanupTestPostgresStore,
  sqlClient: (store) => pgPoolSqlClient(store.pool),
});
