import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { agentJobBackoff } from '../../adapters/jobs/agenda-job-queue.js';
import { commandDispatcher } from '../../adapters/jobs/command-dispatcher.js';
import { OutboxRelay } from '../../adapters/jobs/outbox-relay.js';
import type { PgliteBackend } from '../../adapters/store/pglite/pglite-backend.js';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';
import { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import { AGENT_JOBS, type AgentJobData, type JobQueue } from '../../core/ports/job-queue.js';
import { cleanupTestPgliteBackend, createTestPgliteBackend } from '../support/pglite.js';
import { pollFor } from '../support/wait.js';
import { expectOk } from '../support/outcomes.js';

/*
 * Agenda wired to the outbox on embedded PGlite (served through pglite-socket). What every
 * backend's job queue must do (run once, dedupe, schedule, share jobs between processes) is the
 * job queue contract, run on every database by test/adapters/backend-contracts.test.ts.
 */

describe('Agenda job queue behind the outbox relay (PGlite)', () => {
  let backend: PgliteBackend;
  let queue: JobQueue;
  const ran: AgentJobData[] = [];

  before(async () => {
    backend = await createTestPgliteBackend();
    queue = await backend.jobs({ name: 'test-pglite', processEveryMs: 100 });
    queue.define(AGENT_JOBS.analyze, async (data) => { ran.push(data); });
    await queue.start();
  });
  after(async () => {
    await queue.stop();
    await cleanupTestPgliteBackend(backend);
  });

  test('a transition into ANALYZING reaches the analyze job through the outbox relay', async () => {
    const store = backend.cases;
    const orchestrator = new Orchestrator({ store, clock: systemClock, ids: uuidGen });
    const relay = new OutboxRelay({ store, pollMs: 50 });
    relay.on('cmd.', commandDispatcher({ store, queue, clock: systemClock }), 'jobs');
    const created = await orchestrator.createCase({ title: 'p95 spike', tenant: 't-001' }, { idempotencyKey: randomUUID() });
    const caseId = expectOk(created).case_id;
    const moved = await orchestrator.transition(caseId, { event: 'start_analysis', actor: 'analyst@svc' }, { idempotencyKey: randomUUID() });
    expectOk(moved, 'applied');
    relay.start();
    try {
      const job = await pollFor('the analyze job', () => ran.find((r) => r.case_id === caseId), { timeoutMs: 20_000 });
      assert.equal(job.topic, 'cmd.analyze');
      assert.equal(job.version, 2);
    } finally {
      await relay.stop();
    }
  });
});

test('agent job backoff grows and gives up', () => {
  assert.equal(agentJobBackoff(1), 1000);
  assert.equal(agentJobBackoff(3), 4000);
  assert.equal(agentJobBackoff(8), 60_000);
  assert.equal(agentJobBackoff(9), null);
});
