import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import pg from 'pg';
import type { PostgresCaseStore } from '../../adapters/store/postgres/postgres-case-store.js';
import { isStoreUnavailable } from '../../adapters/http/http-errors.js';
import { cleanupTestPostgresStore, createTestPostgresStore, POSTGRES_SKIP_REASON, testDatabaseUrl } from '../support/postgres.js';

/*
 * Found by the database-down fault test: a pool client checked out for a transaction has no
 * 'error' listener while it sits between two statements; when the server terminates it (restart,
 * failover) pg emits an unhandled 'error' and the whole process died. Now the transaction fails
 * as "store unavailable" (→ 503 at the edge) and the next one works on a fresh connection.
 */
let store: PostgresCaseStore | null = null;

before(async () => {
  store = await createTestPostgresStore({ max: 4 });
});
after(async () => {
  await cleanupTestPostgresStore(store);
});

test('a transaction whose connection the server terminates fails cleanly; the process lives on', { timeout: 60_000 }, async (t) => {
  if (!store) {
    console.log(`skipped: ${POSTGRES_SKIP_REASON}`);
    t.skip(POSTGRES_SKIP_REASON);
    return;
  }
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  process.on('uncaughtException', onUncaught);
  try {
    const database = decodeURIComponent(new URL(store.pool.options.connectionString!).pathname.slice(1));
    const admin = new pg.Client({ connectionString: testDatabaseUrl()! });
    await admin.connect();
    let outcome: unknown = null;
    try {
      outcome = await store.transact(async (tx) => {
        await tx.recordInbox('loss-test', randomUUID(), new Date());
        // Between two statements, the server goes away under this connection.
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database]);
        await new Promise((r) => setTimeout(r, 500));
        await tx.recordInbox('loss-test', randomUUID(), new Date());
        return 'committed';
      }).catch((err: unknown) => err);
    } finally {
      await admin.end();
    }
    assert.ok(outcome instanceof Error, `the transaction failed (got ${String(outcome)})`);
    assert.ok(isStoreUnavailable(outcome), `reported as store unavailable: ${(outcome as Error).message}`);
    assert.deepEqual(uncaught.map(String), [], 'an error escaped as an uncaught exception');
    // The next transaction gets a healthy connection.
    const id = randomUUID();
    await store.transact(async (tx) => { await tx.recordInbox('loss-test', id, new Date()); });
    assert.equal(await store.queries.inboxHas('loss-test', id), true);
  } finally {
    process.off('uncaughtException', onUncaught);
  }
});
