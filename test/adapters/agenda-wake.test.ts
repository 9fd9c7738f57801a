import { after, before, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { BaseNotificationChannel, toJobId, type JobNotification } from 'agenda';
import { AgendaJobQueue, type AgendaBackendBinding } from '../../adapters/jobs/agenda-job-queue.js';
import { coalesced, InProcessJobChannel } from '../../adapters/jobs/agenda-wake-channel.js';
import { pgliteAgendaBackend, type PgliteBackend } from '../../adapters/store/pglite/pglite-backend.js';
import { postgresAgendaBackend, type PostgresServerBackend } from '../../adapters/store/postgres/postgres-backend.js';
import { AGENT_JOBS, type AgentJobData } from '../../core/ports/job-queue.js';
import type { OpsloopBackend } from '../../core/ports/backend.js';
import { describeOnBackend, pgliteFixture, postgresFixture, type BackendFixture } from '../support/backends.js';
import { pollFor } from '../support/wait.js';

/*
 * How Agenda's job processors are woken (adapters/jobs/agenda-wake-channel.ts). That a saved job
 * starts without waiting for the poll is in the job queue contract (every backend, 60 s poll);
 * here: the poll still runs the jobs when the wake-up is lost, and the wake-ups are coalesced.
 */

function notification(jobName: string, nextRunAt: Date | null = new Date()): JobNotification {
  return { jobId: toJobId(randomUUID()), jobName, nextRunAt, priority: 0, timestamp: new Date() };
}

/** A channel that says it is connected and loses every notification (a dropped LISTEN connection, a lost NOTIFY). */
class LosingChannel extends BaseNotificationChannel {
  published = 0;
  async connect(): Promise<void> { this.setState('connected'); }
  async disconnect(): Promise<void> { this.setState('disconnected'); }
  async publish(): Promise<void> { this.published++; }
  nudge(): void { /* lost too */ }
}

function jobData(): AgentJobData {
  return { message_id: randomUUID(), case_id: randomUUID(), topic: 'cmd.analyze', version: 2, trace_id: null, data: {} };
}

/** Agenda's binding on each SQL backend's database, as the backend would open it. */
const bindings: Array<{ fixture: BackendFixture; bind: (backend: OpsloopBackend) => Promise<AgendaBackendBinding> }> = [
  { fixture: pgliteFixture as BackendFixture, bind: (b) => pgliteAgendaBackend((b as PgliteBackend).cases.db) },
  { fixture: postgresFixture() as BackendFixture, bind: async (b) => postgresAgendaBackend((b as PostgresServerBackend).cases.pool.options.connectionString!) },
];

for (const { fixture, bind } of bindings) {
  describeOnBackend('Agenda wake-ups lost', fixture, (backend) => {
    let queue: AgendaJobQueue;
    const losing = new LosingChannel();
    const ran: string[] = [];
    before(async () => {
      queue = new AgendaJobQueue({ ...(await bind(backend())), notificationChannel: losing }, { name: `lost-wakeups-${fixture.name}`, processEveryMs: 200 });
      queue.define(AGENT_JOBS.analyze, async (data) => { ran.push(data.message_id); });
      await queue.start();
    });
    after(async () => { await queue?.stop(); });

    it('every notification lost: the fallback poll still runs every job', async () => {
      const jobs = Array.from({ length: 5 }, jobData);
      for (const data of jobs) await queue.enqueue(AGENT_JOBS.analyze, data);
      await pollFor('the jobs, found by the poll', () => jobs.every((d) => ran.includes(d.message_id)), { timeoutMs: 30_000 });
      assert.equal(losing.published, 5, 'each save was announced, and each announcement lost');
      assert.equal(ran.length, 5);
    });
  });
}

test('coalesced: a burst of notifications runs one fill per job name at a time, and one more for those that came during it', async () => {
  const runs: string[] = [];
  const releases: Array<() => void> = [];
  const handler = coalesced(async (n) => {
    runs.push(n.jobName);
    await new Promise<void>((resolve) => releases.push(resolve));
  });
  handler(notification('a'));
  handler(notification('b'));
  for (let i = 0; i < 50; i++) handler(notification('a'));
  await pollFor('the first fills', () => runs.length === 2);
  assert.deepEqual(runs, ['a', 'b'], 'one fill per name in flight');
  releases.splice(0).forEach((release) => release());
  await pollFor('the one refill of a', () => runs.length === 3);
  assert.deepEqual(runs, ['a', 'b', 'a'], 'the 50 notifications during the fill of a became one refill; b had none');
  releases.splice(0).forEach((release) => release());
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(runs.length, 3, 'nothing left pending');
  handler(notification('a'));
  await pollFor('a new fill after the burst', () => runs.length === 4);
  releases.splice(0).forEach((release) => release());
});

test('coalesced: the refill carries the earliest due of the waiting notifications; a failing fill does not stop later ones', async () => {
  const seen: Array<Date | null> = [];
  const errors: unknown[] = [];
  let release!: () => void;
  let fail = true;
  const handler = coalesced(async (n) => {
    seen.push(n.nextRunAt);
    if (fail) {
      fail = false;
      await new Promise<void>((resolve) => { release = resolve; });
      throw new Error('fill failed');
    }
  }, (err) => errors.push(err));
  handler(notification('a', new Date(1000)));
  await pollFor('the first fill', () => seen.length === 1);
  handler(notification('a', new Date(5000)));
  handler(notification('a', new Date(2000)));
  handler(notification('a', null));
  release();
  await pollFor('the refill', () => seen.length === 2);
  assert.deepEqual(seen.map((d) => d?.getTime() ?? null), [1000, 2000]);
  assert.equal(errors.length, 1);
});

test('in-process channel: publish returns before the fill it triggers runs', async () => {
  const channel = new InProcessJobChannel();
  await channel.connect();
  let filled = 0;
  channel.subscribe(() => { filled++; });
  await channel.publish(notification('a'));
  assert.equal(filled, 0, 'the saving job does not wait for the fill');
  await pollFor('the fill', () => filled === 1);
  await channel.disconnect();
  await channel.publish(notification('a'));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(filled, 1, 'nothing after disconnect');
});
