import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAgentsExtension } from '../../app/extensions/agents.js';
import { commandDispatcher } from '../../adapters/jobs/command-dispatcher.js';
import type { CaseStore } from '../../core/ports/case-store.js';
import { systemClock } from '../../adapters/system-clock.js';
import { AGENT_JOBS, type AgentJobData, type AgentJobName, type JobHandler, type JobQueue } from '../../core/ports/job-queue.js';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.js';
import {
  assertConsistentTransitions, assertReplayAgrees, delay, describeTimeline, getCase, getTimeline, openAndStart, restartRuns, startE2e,
  transitionEvents, waitForCase, waitForStatus, type E2e, type TimelineItem,
} from './e2e-harness.js';
import { E2E_POLICY, E2E_SERVICES, E2E_TEMPLATES } from './e2e-fixtures.js';

/*
 * The Planner with a language model (the real `openai` client against a local OpenAI-compatible
 * server), and duplicate delivery of `cmd.*` messages: every agent job is enqueued twice (what a
 * crash between saving the Agenda job and recording the inbox leads to), and the exec command is
 * redelivered to the dispatcher — the script still runs once.
 */

/** An Agenda queue that enqueues every job twice and records each handler run. */
class DuplicatingQueue implements JobQueue {
  readonly runs: Array<{ name: AgentJobName; message_id: string; outcome: 'returned' | 'threw' }> = [];
  enqueued = 0;
  constructor(private readonly inner: JobQueue) {}
  define(name: AgentJobName, handler: JobHandler, opts?: { concurrency?: number; lockLifetimeMs?: number }): void {
    this.inner.define(name, async (data, ctx) => {
      try {
        await handler(data, ctx);
        this.runs.push({ name, message_id: data.message_id, outcome: 'returned' });
      } catch (err) {
        this.runs.push({ name, message_id: data.message_id, outcome: 'threw' });
        throw err;
      }
    }, opts);
  }
  async enqueue(name: AgentJobName, data: AgentJobData, opts?: { runAt?: Date }): Promise<string> {
    this.enqueued += 2;
    const [first] = await Promise.all([this.inner.enqueue(name, data, opts), this.inner.enqueue(name, data, opts)]);
    return first;
  }
  every(name: AgentJobName, intervalMs: number, data: AgentJobData): Promise<void> { return this.inner.every(name, intervalMs, data); }
  start(): Promise<void> { return this.inner.start(); }
  stop(): Promise<void> { return this.inner.stop(); }
}

const SERVICE = 'svc-llm';

function llmPlan(service: string) {
  return {
    title: `Restart ${service} with the runbook script`,
    risk_score: 0.1,
    steps: [{ name: 'restart via runbook', action: 'script.exec', params: { script: 'restart-service', args: { service } }, timeout_s: 60, retry: 0 }],
    rollback: { note: 'nothing to undo for a restart' },
    verify: { settle_s: 0, checks: [{ name: 'error ratio', query: `max(e2e_http_error_ratio{service="${service}"})`, op: '<', threshold: 0.05 }] },
  };
}
const SCHEMA_VIOLATING_PLAN = {
  title: 'Reboot everything',
  steps: [{ action: 'ssh.reboot', params: {}, timeout_s: 5, retry: 0 }],
  rollback: {},
  verify: {},
};

let openai: FakeOpenAi;
let e2e: E2e;
let queue: DuplicatingQueue;
let store: CaseStore;
const execCommands: OutboxEnvelope[] = [];

describe('agent loop: LLM planner and duplicate command delivery (PGlite, Agenda, fake OpenAI)', () => {
  before(async () => {
    openai = await startFakeOpenAi({ apiKey: 'sk-e2e' });
    e2e = await startE2e({
      policy: E2E_POLICY, services: E2E_SERVICES, templates: E2E_TEMPLATES,
      env: { OPENAI_API_KEY: 'sk-e2e', OPENAI_BASE_URL: openai.baseURL, OPENAI_MODEL: 'fake-planner' },
      // The app's one job queue, opened on the backend, enqueues twice and records runs.
      wrapJobQueue: (inner) => (queue = new DuplicatingQueue(inner)),
      extensions: [
        (ctx) => {
          store = ctx.store;
          return createAgentsExtension(ctx, { processEveryMs: 200 });
        },
        (ctx) => {
          ctx.relay.on('cmd.exec.run', async (msg) => { execCommands.push(msg); }, 'e2e-capture');
          return { name: 'e2e-capture' };
        },
      ],
    });
  });
  after(async () => {
    await e2e?.close();
    await openai?.close();
  });

  test('LLM plan runs once although every command is delivered twice (two Agenda jobs, then a relay redelivery)', async () => {
    openai.enqueue({ kind: 'json', value: llmPlan(SERVICE) });
    const caseId = await openAndStart(e2e.url, { title: `errors on ${SERVICE}`, tenant: 't-001', service: SERVICE, env: 'staging' });
    // No PROMETHEUS_URL in this file: the Verifier cannot measure, so the case parks after running.
    const { case: parked, timeline } = await waitForStatus(e2e.url, caseId, 'PARKED', 90_000);
    assert.deepEqual(transitionEvents(timeline),
      ['start_analysis', 'analysis_done', 'plan_ready', 'gate_approved', 'exec_done', 'verify_failed'], describeTimeline(timeline));
    assertConsistentTransitions(timeline, parked);
    await assertReplayAgrees(e2e.url, parked.case_id);

    // The LLM's plan was proposed and stored, with its provenance.
    const proposed = timeline.filter((e) => e.event === 'plan_proposed');
    assert.equal(proposed.length, 1, describeTimeline(timeline));
    assert.equal(proposed[0]!.meta.source, 'llm');
    assert.match(String(proposed[0]!.meta.prompt_version), /\S/);
    const stored = await store.queries.getPlan(parked.plan_id!);
    assert.deepEqual(stored?.plan, llmPlan(SERVICE));
    assert.equal(openai.chatRequests().length, 1, 'the planner asked the model once, although the job ran twice');
    assert.equal(timeline.filter((e) => e.event === 'plan_invalid').length, 0, describeTimeline(timeline));
    const request = openai.chatRequests()[0]!.body;
    assert.equal(request.model, 'fake-planner');
    assert.equal(request.response_format?.type, 'json_schema');
    assert.match(JSON.stringify(request.messages), new RegExp(`errors on ${SERVICE}`));

    // Every agent note appears once although each job ran twice.
    for (const event of ['evidence', 'plan_started', 'plan_proposed', 'gate_decision', 'exec_started', 'exec_result', 'verify_scheduled', 'verify_report']) {
      assert.equal(timeline.filter((e) => e.event === event).length, 1, `one ${event}\n${describeTimeline(timeline)}`);
    }
    const [execCmd] = execCommands.filter((m) => m.case_id === caseId);
    assert.ok(execCmd, 'the relay delivered cmd.exec.run');
    const execRuns = () => queue.runs.filter((r) => r.name === AGENT_JOBS.exec && r.message_id === execCmd.id);
    // The duplicate exec job may be retried by Agenda (it waits while the first run could still be going); wait until it has finished quietly.
    const deadline = Date.now() + 60_000;
    while (!(execRuns().length >= 2 && execRuns().some((r) => r.outcome === 'returned') && execRuns().filter((r) => r.outcome === 'returned').length >= 2)) {
      assert.ok(Date.now() < deadline, `both exec jobs finish: ${JSON.stringify(execRuns())}`);
      await delay(200);
    }
    assert.equal((await restartRuns(e2e.stateDir, SERVICE)).length, 1, 'the script ran once');

    // The relay delivers cmd.exec.run again (a lost ack): the dispatcher finds it in its inbox.
    const before = queue.enqueued;
    let duplicates = 0;
    const dispatch = commandDispatcher({ store, queue, clock: systemClock, onDuplicate: () => { duplicates += 1; } });
    await dispatch(execCmd);
    await dispatch(execCmd);
    assert.equal(queue.enqueued, before, 'no new job for a message already dispatched');
    assert.equal(duplicates, 2);
    await delay(1500);
    assert.equal((await restartRuns(e2e.stateDir, SERVICE)).length, 1, 'still one run');
    assert.equal((await getTimeline(e2e.url, caseId)).length, timeline.length, 'nothing new was written');
  });

  test('LLM answers violating the schema twice → the case stays in PLANNING with the errors in the timeline', async () => {
    openai.enqueue({ kind: 'json', value: SCHEMA_VIOLATING_PLAN }, { kind: 'json', value: SCHEMA_VIOLATING_PLAN });
    const asked = openai.chatRequests().length;
    const caseId = await openAndStart(e2e.url, { title: 'errors on svc-llm-bad', tenant: 't-001', service: 'svc-llm-bad', env: 'staging' });
    const { timeline } = await waitForCase(e2e.url, caseId, (c, tl) => tl.some((e) => e.event === 'plan_invalid'), 'plan_invalid', 60_000);
    const invalid = timeline.filter((e) => e.event === 'plan_invalid');
    assert.equal(invalid.length, 1, describeTimeline(timeline));
    const note = invalid[0]!;
    assert.equal(note.actor, 'planner');
    assert.match(note.reason!, /no valid ChangePlan in 2 attempts; the case stays in PLANNING/);
    const attempts = note.meta.attempts as Array<{ source: string; ok: boolean; errors: string[] }>;
    assert.equal(attempts.length, 2);
    for (const a of attempts) {
      assert.equal(a.ok, false);
      const errors = a.errors.join('\n');
      assert.match(errors, /action/, errors);
      assert.match(errors, /timeout_s/, errors);
    }
    assert.equal(openai.chatRequests().length - asked, 2, 'one retry, with the errors fed back');
    const retry = JSON.stringify(openai.chatRequests().at(-1)!.body.messages);
    assert.match(retry, /timeout_s/);

    await delay(1000);
    const c = await getCase(e2e.url, caseId);
    assert.equal(c.status, 'PLANNING');
    assert.equal(c.plan_id, null);
    assertConsistentTransitions(await getTimeline(e2e.url, caseId), c);
    await assertReplayAgrees(e2e.url, c.case_id);
  });

  test('LLM answers unparsable text, then a schema-violating plan → PLANNING with both errors', async () => {
    openai.enqueue({ kind: 'content', content: 'Sure! Restart the pods, then watch the dashboards.' }, { kind: 'json', value: SCHEMA_VIOLATING_PLAN });
    const caseId = await openAndStart(e2e.url, { title: 'errors on svc-llm-prose', tenant: 't-001', service: 'svc-llm-prose', env: 'staging' });
    const { timeline } = await waitForCase(e2e.url, caseId, (c, tl) => tl.some((e) => e.event === 'plan_invalid'), 'plan_invalid', 60_000);
    const note = timeline.find((e) => e.event === 'plan_invalid') as TimelineItem;
    const attempts = note.meta.attempts as Array<{ ok: boolean; errors: string[] }>;
    assert.equal(attempts.length, 2, JSON.stringify(attempts));
    assert.match(attempts[0]!.errors.join('\n'), /JSON/i);
    assert.match(attempts[1]!.errors.join('\n'), /timeout_s/);
    assert.equal((await getCase(e2e.url, caseId)).status, 'PLANNING');
    assert.equal(openai.pending(), 0);
  });
});
