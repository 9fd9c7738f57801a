import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { AgendaJobQueue, agentJobBackoff } from '../../adapters/jobs/agenda-job-queue.js';
import { pgliteAgendaBackend } from '../../adapters/store/pglite/pglite-backend.js';
import { postgresAgendaBackend } from '../../adapters/store/postgres/postgres-backend.js';
import { commandDispatcher } from '../../adapters/jobs/command-dispatcher.js';
import { OutboxRelay } from '../../adapters/jobs/outbox-relay.js';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';
import { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import { AGENT_JOBS, type AgentJobData } from '../../core/ports/job-queue.js';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { POSTGRES_SKIP_REASON, cleanupTestPostgresStore, createTestPostgresStore, testDatabaseUrl } from '../support/postgres.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';

async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function commandMessage(caseId: string, topic = 'cmd.analyze'): OutboxEnvelope {
  return { id: randomUUID(), topic, occurred_at: new Date().toISOString(), case_id: caseId, version: 2, trace_id: null, correlation_id: null, data: { case_id: caseId } };
}

describe('Agenda job queue on embedded PGlite (served through pglite-socket)', () => {
  let store: PgliteCaseStore;
  let queue: AgendaJobQueue;
  const ran: AgentJobData[] = [];

  before(async () => {
    store = await createTestPgliteStore();
    queue = new AgendaJobQueue(await pgliteAgendaBackend(store.db), { name: 'test-pglite', processEveryMs: 100 });
    queue.define(AGENT_JOBS.analyze, async (data) => { ran.push(data); });
    await queue.start();
  });
  after(async () => {
    await queue.stop();
    await cleanupTestPgliteStore(store);
  });

  test('the same cmd.* message delivered twice becomes exactly one job', async () => {
    const dispatch = commandDispatcher({ store, queue, clock: systemClock });
    const msg = commandMessage(randomUUID());
    await dispatch(msg);
    await dispatch(msg);
    await until(() => ran.some((r) => r.message_id === msg.id), 20_000, 'the job to run');
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(ran.filter((r) => r.message_id === msg.id).length, 1);
    assert.equal(await store.queries.inboxHas('jobs', msg.id), true);
  });

  test('a transition into ANALYZING reaches the analyze job through the outbox relay', async () => {
    const orchestrator = new Orchestrator({ store, clock: systemClock, ids: uuidGen });
    const relay = new OutboxRelay({ store, pollMs: 50 });
    relay.on('cmd.', commandDispatcher({ store, queue, clock: systemClock }), 'jobs');
    const created = await orchestrator.createCase({ title: 'p95 spike', tenant: 't-001' }, { idempotencyKey: randomUUID() });
    const caseId = (created.body as { data: { case_id: string } }).data.case_id;
    const moved = await orchestrator.transition(caseId, { event: 'start_analysis', actor: 'analyst@svc' }, { idempotencyKey: randomUUID() });
    assert.equal(moved.status, 200);
    relay.start();
    try {
      await until(() => ran.some((r) => r.case_id === caseId), 20_000, 'the analyze job');
      const job = ran.find((r) => r.case_id === caseId)!;
      assert.equal(job.topic, 'cmd.analyze');
      assert.equal(job.version, 2);
    } finally {
      await relay.stop();
    }
  });

  test('a job scheduled in the future waits for its time', async () => {
    const msg = commandMessage(randomUUID());
    const runAt = new Date(Date.now() + 1500);
    await queue.enqueue(AGENT_JOBS.analyze, { message_id: msg.id, case_id: msg.case_id, topic: msg.topic, version: 2, trace_id: null, data: {} }, { runAt });
    await until(() => ran.some((r) => r.message_id === msg.id), 20_000, 'the scheduled job');
    assert.ok(Date.now() >= runAt.getTime() - 50, 'ran before its time');
  });
});

describe('Agenda job queue on the PostgreSQL server, two processes sharing jobs', () => {
  const url = testDatabaseUrl();
  test('each of 30 jobs runs exactly once across two queues', { skip: url ? false : POSTGRES_SKIP_REASON }, async () => {
    const store = await createTestPostgresStore();
    assert.ok(store);
    const dbUrl = (store.pool.options as { connectionString: string }).connectionString;
    const counts = new Map<string, number>();
    const queues = [0, 1].map((i) => new AgendaJobQueue(postgresAgendaBackend(dbUrl), { name: `proc-${i}`, processEveryMs: 100 }));
    try {
      for (const q of queues) {
        q.define(AGENT_JOBS.plan, async (data) => { counts.set(data.message_id, (counts.get(data.message_id) ?? 0) + 1); });
        await q.start();
      }
      const ids = Array.from({ length: 30 }, () => randomUUID());
      await Promise.all(ids.map((id, i) => queues[i % 2]!.enqueue(AGENT_JOBS.plan, { message_id: id, case_id: randomUUID(), topic: 'cmd.plan.generate', version: 3, trace_id: null, data: {} })));
      await until(() => ids.every((id) => counts.has(id)), 30_000, 'all jobs');
      await new Promise((r) => setTimeout(r, 800));
      assert.deepEqual([...counts.values()].filter((n) => n !== 1), []);
    } finally {
      for (const q of queues) await q.stop();
      await cleanupTestPostgresStore(store);
    }
  });
});

test('agent job backoff grows and gives up', () => {
  assert.equal(agentJobBackoff(1), 1000);
  assert.equal(agentJobBackoff(3), 4000);
  assert.equal(agentJobBackoff(8), 60_000);
  assert.equal(agentJobBackoff(9), null);
});
