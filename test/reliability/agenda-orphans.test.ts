import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { AgendaJobQueue } from '../../adapters/jobs/agenda-job-queue.js';
import { pgliteAgendaBackend } from '../../adapters/store/pglite/pglite-backend.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { AGENT_JOBS, type AgentJobData } from '../../core/ports/job-queue.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';

/*
 * Found by the kill -9 fault test: a one-off Agenda job whose process is SIGKILLed while it runs
 * keeps `next_run_at = NULL` (Agenda clears it when a run starts) and a stale lock. Another process
 * re-locks it once the lock expires; if that process is then stopped gracefully before it ran the
 * job, Agenda's stop() unlocks it — `locked_at = NULL, next_run_at = NULL` — and no process ever
 * picks it again: the case waits forever. The queue now gives such orphans a run time again (at
 * start and every `orphanSweepMs`).
 */
let store: PgliteCaseStore;

before(async () => {
  store = await createTestPgliteStore();
});
after(async () => {
  await cleanupTestPgliteStore(store);
});

function jobData(): AgentJobData {
  const id = randomUUID();
  return { message_id: randomUUID(), case_id: id, topic: 'cmd.analyze', version: 2, trace_id: null, data: { case_id: id } };
}

/** Leave a job in the state a SIGKILL during its run plus a later graceful stop elsewhere leaves. */
async function orphan(messageId: string): Promise<void> {
  const res = await store.db.query(
    `UPDATE agenda_jobs SET next_run_at = NULL, locked_at = NULL, last_run_at = now() - interval '2 minutes', last_finished_at = NULL
      WHERE data->>'message_id' = $1`, [messageId]);
  assert.equal(res.affectedRows, 1);
}

async function until(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

describe('Agenda jobs orphaned by a crash and a later shutdown', () => {
  test('plain Agenda never runs an orphan again; the queue requeues it', { timeout: 120_000 }, async () => {
    // Park a job: enqueue it while nothing processes its name, then orphan it.
    const ran: string[] = [];
    const seeder = new AgendaJobQueue(await pgliteAgendaBackend(store.db), { name: 'seeder', processEveryMs: 100, orphanSweepMs: 0 });
    await seeder.start();
    const data = jobData();
    await seeder.enqueue(AGENT_JOBS.analyze, data);
    await seeder.stop();
    await orphan(data.message_id);

    // Without the repair (a binding without requeueOrphans = Agenda as it comes), it stays put.
    const plain = await pgliteAgendaBackend(store.db);
    const unrepaired = new AgendaJobQueue({ backend: plain.backend, prepare: plain.prepare!, close: plain.close }, { name: 'plain', processEveryMs: 100 });
    unrepaired.define(AGENT_JOBS.analyze, async (d) => { ran.push(`plain:${d.message_id}`); });
    await unrepaired.start();
    assert.equal(await until(() => ran.length > 0, 2_500), false, 'plain Agenda ran the orphan (then the repair is not needed)');
    await unrepaired.stop();

    // With it, the job runs once.
    const repaired = new AgendaJobQueue(await pgliteAgendaBackend(store.db), { name: 'repaired', processEveryMs: 100 });
    repaired.define(AGENT_JOBS.analyze, async (d) => { ran.push(`repaired:${d.message_id}`); });
    await repaired.start();
    try {
      assert.ok(await until(() => ran.length > 0, 30_000), 'the orphan was not run after the repair');
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(ran, [`repaired:${data.message_id}`]);
    } finally {
      await repaired.stop();
    }
  });

  test('jobs that are locked, waiting for a retry, or finished are left alone', async () => {
    const queue = new AgendaJobQueue(await pgliteAgendaBackend(store.db), { name: 'sweeper', processEveryMs: 60_000, orphanSweepMs: 0 });
    await queue.start();
    try {
      const running = jobData();
      const failed = jobData();
      const waiting = jobData();
      for (const d of [running, failed, waiting]) await queue.enqueue(AGENT_JOBS.plan, d, { runAt: new Date(Date.now() + 3_600_000) });
      await store.db.query(`UPDATE agenda_jobs SET next_run_at = NULL, locked_at = now(), last_run_at = now() WHERE data->>'message_id' = $1`, [running.message_id]);
      await store.db.query(`UPDATE agenda_jobs SET next_run_at = NULL, locked_at = NULL, last_run_at = now() - interval '1 minute', last_finished_at = now(), fail_count = 9
        WHERE data->>'message_id' = $1`, [failed.message_id]);
      assert.equal(await queue.sweepOrphans(), 0);
      const rows = await store.db.query<{ id: string; next_run_at: Date | null }>(`SELECT data->>'message_id' AS id, next_run_at FROM agenda_jobs WHERE name = $1`, [AGENT_JOBS.plan]);
      const next = new Map(rows.rows.map((r) => [r.id, r.next_run_at]));
      assert.equal(next.get(running.message_id), null, 'a running job keeps no next run time');
      assert.equal(next.get(failed.message_id), null, 'a job that failed for good stays failed');
      assert.ok(next.get(waiting.message_id) instanceof Date, 'a scheduled job keeps its time');
    } finally {
      await queue.stop();
    }
  });

  test('enqueue waits for a queue that is still starting instead of failing', async () => {
    const queue = new AgendaJobQueue(await pgliteAgendaBackend(store.db), { name: 'late', processEveryMs: 100 });
    const ran: string[] = [];
    queue.define(AGENT_JOBS.verify, async (d) => { ran.push(d.message_id); });
    const data = jobData();
    const enqueued = queue.enqueue(AGENT_JOBS.verify, data); // before start, as the relay does on a restart
    await new Promise((r) => setTimeout(r, 300));
    await queue.start();
    try {
      assert.match(await enqueued, /\S/);
      assert.ok(await until(() => ran.includes(data.message_id), 30_000));
    } finally {
      await queue.stop();
    }
    await assert.rejects(queue.enqueue(AGENT_JOBS.verify, jobData()), /stopped/);
  });
});
