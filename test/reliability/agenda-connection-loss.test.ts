import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { AgendaJobQueue } from '../../adapters/jobs/agenda-job-queue.js';
import { postgresAgendaBackend } from '../../adapters/store/postgres/postgres-backend.js';
import { AGENT_JOBS } from '../../core/ports/job-queue.js';
import { createThrowawayDatabase, type ThrowawayDatabase } from '../faults/support/fault-env.js';
import { POSTGRES_SKIP_REASON, testDatabaseUrl } from '../support/postgres.js';

/*
 * Found by the database-down fault test: when PostgreSQL terminates Agenda's LISTEN connection
 * (server restart, failover, pg_terminate_backend), Agenda's PostgreSQL backend re-emits the error
 * on its notification channel, an EventEmitter without an 'error' listener — Node turns that into
 * an uncaught exception and opsloop died. Here every connection of the queue is terminated the
 * way a restarting server does it; the process must survive and the queue keep running jobs.
 */
const adminUrl = testDatabaseUrl();
let db: ThrowawayDatabase | null = null;
let queue: AgendaJobQueue | null = null;

before(async () => {
  if (adminUrl) db = await createThrowawayDatabase(adminUrl);
});
after(async () => {
  await queue?.stop();
  await db?.drop();
});

test('the queue survives the server terminating its connections and keeps running jobs', { timeout: 120_000 }, async (t) => {
  if (!db) {
    console.log(`skipped: ${POSTGRES_SKIP_REASON}`);
    t.skip(POSTGRES_SKIP_REASON);
    return;
  }
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  // Catch (instead of dying) so the test can report it; without the fix this listener fires.
  process.on('uncaughtException', onUncaught);
  try {
    const ran: string[] = [];
    queue = new AgendaJobQueue(postgresAgendaBackend(db.url), { name: 'listen-loss', processEveryMs: 200 });
    queue.define(AGENT_JOBS.analyze, async (d) => { ran.push(d.message_id); });
    await queue.start();

    const admin = new pg.Client({ connectionString: adminUrl! });
    await admin.connect();
    try {
      const killed = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [db.name]);
      assert.ok((killed.rowCount ?? 0) >= 1, 'the queue had connections to terminate');
    } finally {
      await admin.end();
    }
    await new Promise((r) => setTimeout(r, 1_500));
    assert.deepEqual(uncaught.map(String), [], 'an error escaped as an uncaught exception');

    const id = randomUUID();
    await queue.enqueue(AGENT_JOBS.analyze, { message_id: id, case_id: randomUUID(), topic: 'cmd.analyze', version: 2, trace_id: null, data: {} });
    const deadline = Date.now() + 60_000;
    while (!ran.includes(id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(ran.includes(id), 'a job enqueued after the connection loss ran');
    assert.deepEqual(uncaught.map(String), []);
  } finally {
    process.off('uncaughtException', onUncaught);
  }
});
