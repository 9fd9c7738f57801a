import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { commandDispatcher } from '../../adapters/jobs/command-dispatcher.js';
import { systemClock } from '../../adapters/system-clock.js';
import type { OpsloopBackend } from '../../core/ports/backend.js';
import { AGENT_JOBS, type AgentJobData, type JobQueue } from '../../core/ports/job-queue.js';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';
import { describeOnBackend, type BackendFixture } from '../support/backends.js';
import { pollFor } from '../support/wait.js';

/** A cmd.* outbox message about a new case. */
export function commandMessage(caseId: string, topic = 'cmd.analyze'): OutboxEnvelope {
  return { id: randomUUID(), topic, occurred_at: new Date().toISOString(), case_id: caseId, version: 2, trace_id: null, correlation_id: null, data: { case_id: caseId } };
}

function jobData(messageId = randomUUID()): AgentJobData {
  return { message_id: messageId, case_id: randomUUID(), topic: 'cmd.plan.generate', version: 3, trace_id: null, data: { n: 1 } };
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The agents' scheduler on one backend (`backend.jobs`, Agenda on the database's own binding),
 * through the JobQueue port: an enqueued job runs once with its data, a command delivered twice
 * becomes one job (the dispatcher's inbox on the same database), a job scheduled later waits for
 * its time, and two queues on one database (two opsloop processes) run each job exactly once.
 * Runs on PGlite, the PostgreSQL server and MongoDB.
 */
export function jobQueueContract<B extends OpsloopBackend>(opts: BackendFixture<B>): void {
  describeOnBackend('job queue contract', opts, (backend) => {
    let queue: JobQueue;
    const ran: AgentJobData[] = [];
    const counts = new Map<string, number>();
    const countPlan = async (data: AgentJobData) => { counts.set(data.message_id, (counts.get(data.message_id) ?? 0) + 1); };
    const stops: Array<() => Promise<void>> = [];
    before(async () => {
      queue = await backend().jobs({ name: `contract-${opts.name}-1`, processEveryMs: 100 });
      queue.define(AGENT_JOBS.analyze, async (data) => { ran.push(data); });
      queue.define(AGENT_JOBS.plan, countPlan);
      await queue.start();
      stops.push(() => queue.stop());
    });
    after(async () => {
      for (const stop of stops.reverse()) await stop();
    });

    it('an enqueued job runs once, with the data it was given', async () => {
      const data = { ...jobData(), topic: 'cmd.analyze' };
      const id = await queue.enqueue(AGENT_JOBS.analyze, data);
      assert.ok(id.length > 0, 'a job id');
      await pollFor('the job to run', () => ran.some((r) => r.message_id === data.message_id), { timeoutMs: 20_000 });
      await settle(500);
      assert.deepEqual(ran.filter((r) => r.message_id === data.message_id), [data]);
    });

    it('the same cmd.* message delivered twice becomes exactly one job', async () => {
      const dispatch = commandDispatcher({ store: backend().cases, queue, clock: systemClock });
      const msg = commandMessage(randomUUID());
      await dispatch(msg);
      await dispatch(msg);
      await pollFor('the job to run', () => ran.some((r) => r.message_id === msg.id), { timeoutMs: 20_000 });
      await settle(600);
      assert.equal(ran.filter((r) => r.message_id === msg.id).length, 1);
      assert.equal(await backend().cases.queries.inboxHas('jobs', msg.id), true);
    });

    it('a job scheduled in the future waits for its time', async () => {
      const data = jobData();
      const runAt = new Date(Date.now() + 1500);
      await queue.enqueue(AGENT_JOBS.analyze, data, { runAt });
      await pollFor('the scheduled job', () => ran.some((r) => r.message_id === data.message_id), { timeoutMs: 20_000 });
      assert.ok(Date.now() >= runAt.getTime() - 50, 'ran before its time');
    });

    it('a saved job wakes the processor: with a 60 s poll, enqueued jobs still run (wake-up, not poll)', async () => {
      const slow = await backend().jobs({ name: `contract-${opts.name}-wake`, processEveryMs: 60_000 });
      const woken: string[] = [];
      slow.define(AGENT_JOBS.gate, async (data) => { woken.push(data.message_id); });
      await slow.start();
      stops.push(() => slow.stop());
      // The processor polls once when it starts; everything after that can only start from a wake-up
      // (the next poll is 60 s away, the wait below at most 30 s).
      const first = jobData();
      await slow.enqueue(AGENT_JOBS.gate, first);
      await pollFor('the first job', () => woken.includes(first.message_id), { timeoutMs: 30_000 });
      const later = Array.from({ length: 5 }, () => jobData());
      for (const data of later) await slow.enqueue(AGENT_JOBS.gate, data);
      await pollFor('the later jobs, woken', () => later.every((d) => woken.includes(d.message_id)), { timeoutMs: 30_000 });
      assert.equal(woken.length, 6);
    });

    it('more due jobs than slots: each finished job starts the next (60 s poll), oldest case first, then by lane', async () => {
      const slow = await backend().jobs({ name: `contract-${opts.name}-order`, processEveryMs: 60_000 });
      const order: string[] = [];
      let unblock!: () => void;
      const blocked = new Promise<void>((resolve) => { unblock = resolve; });
      slow.define(AGENT_JOBS.exec, async (data) => {
        order.push(String(data.data.label));
        if (data.data.label === 'blocker') await blocked;
      }, { concurrency: 1 });
      await slow.start();
      stops.push(() => slow.stop());
      const job = (label: string) => ({ ...jobData(), topic: 'cmd.exec.run', data: { label } });
      await slow.enqueue(AGENT_JOBS.exec, job('blocker'));
      await pollFor('the blocker to run', () => order.includes('blocker'), { timeoutMs: 30_000 });
      // While the one slot is taken, jobs of cases opened at different times arrive newest first.
      const t0 = Date.now() - 60_000;
      await slow.enqueue(AGENT_JOBS.exec, job('opened 3rd'), { openedAt: new Date(t0 + 3_000) });
      await slow.enqueue(AGENT_JOBS.exec, job('opened 1st'), { openedAt: new Date(t0 + 1_000) });
      await slow.enqueue(AGENT_JOBS.exec, job('opened 2nd'), { openedAt: new Date(t0 + 2_000) });
      await slow.enqueue(AGENT_JOBS.exec, job('severe, opened last'), { openedAt: new Date(t0 + 9_000), priority: 'high' });
      await slow.enqueue(AGENT_JOBS.exec, job('no case'));
      unblock();
      await pollFor('every job, one after another', () => order.length === 6, { timeoutMs: 30_000, describe: () => order.join(', ') });
      assert.deepEqual(order, ['blocker', 'severe, opened last', 'opened 1st', 'opened 2nd', 'opened 3rd', 'no case']);
    });

    it('two queues on one database (two processes) run each of 20 jobs exactly once', async () => {
      const second = await backend().jobs({ name: `contract-${opts.name}-2`, processEveryMs: 100 });
      second.define(AGENT_JOBS.plan, countPlan);
      await second.start();
      stops.push(() => second.stop());
      const ids = Array.from({ length: 20 }, () => randomUUID());
      await Promise.all(ids.map((id, i) => (i % 2 ? second : queue).enqueue(AGENT_JOBS.plan, jobData(id))));
      await pollFor('all jobs', () => ids.every((id) => counts.has(id)), { timeoutMs: 30_000 });
      await settle(800);
      assert.deepEqual(ids.map((id) => counts.get(id)).filter((n) => n !== 1), []);
    });
  });
}
