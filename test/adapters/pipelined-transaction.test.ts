import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';
import { createPostgresCaseStore, type PostgresCaseStore } from '../../adapters/store/postgres/postgres-case-store.js';
import { UPDATED_OR_FAIL } from '../../adapters/store/sql/sql-case-tx.js';
import { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import { dataOrThrow } from '../../core/orchestrator/outcome.js';
import { httpStatusOf } from '../../core/errors.js';
import { BENCH_PLAN } from '../../bench/lib/case-loop.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { POSTGRES_SKIP_REASON, cleanupTestPostgresStore, createTestPostgresStore, testDatabaseUrl } from '../support/postgres.js';

/*
 * Transactions on the PostgreSQL server pipeline (adapters/store/sql/sql-client.ts): BEGIN leaves
 * with the first statement and the writes whose answer nobody reads leave with the COMMIT. Round
 * trips are counted on the sockets of the store's pool (a write after an answer arrived starts a
 * new one), not timed.
 */

interface TripCounter {
  /** Round trips since the last `reset`. */
  readonly count: number;
  reset(): void;
}

/** Count round trips on every client `pool` hands out: a socket write after data arrived (or the first) starts one. */
function countRoundTrips(pool: pg.Pool): TripCounter {
  let trips = 0;
  const hooked = new WeakSet<Socket>();
  pool.on('acquire', (client) => {
    const socket = (client as unknown as { connection: { stream: Socket } }).connection.stream;
    if (hooked.has(socket)) return;
    hooked.add(socket);
    let answered = true;
    socket.on('data', () => { answered = true; });
    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
    socket.write = ((...args: unknown[]) => {
      if (answered) {
        trips++;
        answered = false;
      }
      return write(...args);
    }) as typeof socket.write;
  });
  return { get count() { return trips; }, reset: () => { trips = 0; } };
}

let keys = 0;
const key = () => `pipelined-${process.pid}-${++keys}`;

/** A case walked to PLANNING, as the benchmark loop starts it. */
async function caseInPlanning(orchestrator: Orchestrator): Promise<{ id: string; version: number }> {
  const created = dataOrThrow(await orchestrator.createCase({ title: 'pipelined', tenant: 't-001', severity: 3, service: 'checkout', env: 'prod' }, { idempotencyKey: key(), actor: 'test' }), 'create');
  let version = created.version;
  for (const event of ['start_analysis', 'analysis_done'] as const) {
    version = dataOrThrow(await orchestrator.transition(created.case_id, { event, actor: 'analyst@svc' }, { idempotencyKey: key(), expectedVersion: version }), event).version;
  }
  return { id: created.case_id, version };
}

const LOOP = [
  { event: 'plan_ready', actor: 'planner@svc', meta: { plan: BENCH_PLAN, source: 'template' } },
  { event: 'gate_rejected', actor: 'gatekeeper@svc', meta: { decision: { policy: 'freeze', auto: true } } },
  { event: 'resume', actor: 'oncall@example.com', meta: {} },
] as const;

describe('pipelined transactions on the PostgreSQL server', { skip: testDatabaseUrl() ? false : POSTGRES_SKIP_REASON }, () => {
  let store: PostgresCaseStore | null = null;
  let orchestrator: Orchestrator;
  let trips: TripCounter;

  before(async () => {
    store = await createTestPostgresStore({ max: 4 });
    orchestrator = new Orchestrator({ store: store!, clock: systemClock, ids: uuidGen });
    trips = countRoundTrips(store!.pool);
  });
  after(async () => { await cleanupTestPostgresStore(store); });

  it('a transition takes two round trips: BEGIN with the claim and lock, then its writes with the COMMIT', async () => {
    const c = await caseInPlanning(orchestrator);
    for (const step of LOOP) {
      trips.reset();
      const data = dataOrThrow(await orchestrator.transition(c.id, { ...step, reason: 'test' }, { idempotencyKey: key(), expectedVersion: c.version }), step.event);
      assert.equal(trips.count, 2, `${step.event}: round trips`);
      assert.equal(data.version, c.version + 1);
      c.version = data.version;
    }
    const timeline = await store!.queries.listTimeline(c.id);
    assert.deepEqual(timeline.slice(-3).map((e) => e.event), ['plan_ready', 'gate_rejected', 'resume']);
    assert.ok((await store!.queries.getCase(c.id))!.status === 'PLANNING');
  });

  it('an idempotent replay answers the first response in three round trips and writes nothing', async () => {
    const c = await caseInPlanning(orchestrator);
    const k = key();
    const request = { ...LOOP[0], reason: 'test' };
    const first = await orchestrator.transition(c.id, request, { idempotencyKey: k, expectedVersion: c.version });
    const timelineBefore = (await store!.queries.listTimeline(c.id)).length;
    trips.reset();
    const replay = await orchestrator.transition(c.id, request, { idempotencyKey: k, expectedVersion: c.version });
    assert.equal(trips.count, 3, 'claim and lock, read the stored answer, COMMIT');
    assert.equal(replay.replayed, true);
    assert.deepEqual(replay.ok && replay.data, first.ok && first.data);
    assert.equal((await store!.queries.listTimeline(c.id)).length, timelineBefore);
  });

  it('a stale expected version → 409 in two round trips (claim and lock, ROLLBACK), key not consumed', async () => {
    const c = await caseInPlanning(orchestrator);
    const k = key();
    trips.reset();
    const stale = await orchestrator.transition(c.id, { ...LOOP[0], reason: 'test' }, { idempotencyKey: k, expectedVersion: c.version - 1 });
    assert.equal(trips.count, 2);
    assert.ok(!stale.ok && stale.code === 'OPS_VERSION_CONFLICT' && httpStatusOf(stale.code) === 409, JSON.stringify(stale));
    assert.equal((await store!.queries.getCase(c.id))!.version, c.version);
    const retried = await orchestrator.transition(c.id, { ...LOOP[0], reason: 'test' }, { idempotencyKey: k, expectedVersion: c.version });
    assert.ok(retried.ok, 'the refused request did not consume its key');
  });

  it('a failed write sent without waiting fails the transaction with its own error, and nothing commits', async () => {
    const tag = `pipelined-${keys++}`;
    await store!.sql.query('CREATE TABLE IF NOT EXISTS pipelined_probe (tag text PRIMARY KEY)');
    const failure = store!.transactSql(async (_tx, q) => {
      assert.equal(q.pipelines, true);
      await q.send('INSERT INTO pipelined_probe (tag) VALUES ($1)', [tag]);
      await q.send('INSERT INTO no_such_table_pipelined (x) VALUES (1)');
      await q.send('INSERT INTO pipelined_probe (tag) VALUES ($1)', [`${tag}-after`]);
      return 'committed';
    });
    await assert.rejects(failure, (e: unknown) => (e as { code?: string }).code === '42P01');
    const next = store!.transactSql(async (_tx, q) => {
      await q.send('INSERT INTO no_such_table_pipelined (x) VALUES (1)');
      return q.query('SELECT 1 AS one');
    });
    await assert.rejects(next, (e: unknown) => (e as { code?: string }).code === '42P01', 'the first failure, not 25P02, is reported');
    const rows = await store!.sql.query<{ tag: string }>('SELECT tag FROM pipelined_probe WHERE tag LIKE $1', [`${tag}%`]);
    assert.deepEqual(rows.rows, [], 'nothing of the failed transactions committed');
    // The pool's clients are fit for the next transaction.
    const c = await caseInPlanning(orchestrator);
    assert.ok((await orchestrator.transition(c.id, { ...LOOP[0], reason: 'test' }, { idempotencyKey: key() })).ok);
  });

  it('a pool whose clients do not pipeline still works, one statement per round trip', async () => {
    const url = store!.pool.options.connectionString!;
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    const plain = createPostgresCaseStore({ url, pool });
    try {
      const plainOrchestrator = new Orchestrator({ store: plain, clock: systemClock, ids: uuidGen });
      const counter = countRoundTrips(pool);
      const c = await caseInPlanning(plainOrchestrator);
      const steps = [4, 4, 4]; // BEGIN, claim and lock, the write (with plan_ready's plan row, a gate decision's row), COMMIT
      for (const [i, step] of LOOP.entries()) {
        counter.reset();
        const data = dataOrThrow(await plainOrchestrator.transition(c.id, { ...step, reason: 'test' }, { idempotencyKey: key(), expectedVersion: c.version }), step.event);
        assert.equal(counter.count, steps[i], `${step.event}: round trips`);
        c.version = data.version;
      }
    } finally {
      await plain.close();
      await pool.end();
    }
  });
});

describe("writeTransition's update check", () => {
  it('answers 1 when the update matched and fails when it did not (PGlite)', async () => {
    const store = await createTestPgliteStore();
    try {
      const one = await store.sql.query<{ updated: number }>(`WITH u AS (SELECT 1 AS id) ${UPDATED_OR_FAIL}`);
      assert.equal(Number(one.rows[0]!.updated), 1);
      await assert.rejects(store.sql.query(`WITH u AS (SELECT 1 AS id WHERE false) ${UPDATED_OR_FAIL}`), /writeTransition found the case not at the version it locked, rows updated 0/);
    } finally {
      await cleanupTestPgliteStore(store);
    }
  });
});
