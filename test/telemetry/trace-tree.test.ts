import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { tracingRegistered } from '../../adapters/telemetry/spans.js';
import { ChatHandler } from '../../bot/chat-handler.js';
import { prometheusSkipReason } from '../support/prometheus.js';
import { startE2eWithPrometheus, type E2eWithPrometheus } from '../support/e2e-prometheus.js';
import { call, describeTimeline, freshKey, getTimeline, openAndStart, waitForCase, waitForStatus, type E2e, type TimelineItem } from '../e2e/e2e-harness.js';
import { E2E_POLICY, ERROR_RATIO_METRIC, observeTemplateYaml } from '../e2e/e2e-fixtures.js';
import { restartStepYaml, settledServicesYaml } from '../support/loop-fixtures.js';

/*
 * Issue 15: one trace from an HTTP request through the Orchestrator's write, the outbox relay, the
 * Agenda job and the agent's Prometheus call — the whole opsloop in-process (PGlite, Agenda, a real
 * Prometheus), a tracer provider with the SDK's in-memory exporter registered by the test.
 */

const SERVICE = 'svc-traced';
const SERVICES = settledServicesYaml(`  ${SERVICE}:
    env: staging
    verify:
      settle_s: 0
      checks:
        - name: error ratio
          query: 'max(${ERROR_RATIO_METRIC}{service="{{service}}"})'
          op: "<"
          threshold: 0.05
  svc-gated:
    env: prod`);

/** A production restart: the policy's prod-needs-human rule sends it to the oncall group's sim users. */
const GATED_TEMPLATE = `
name: e2e.gated
description: Restart the service with the registered runbook script (a human approves in prod).
match:
  keywords: [gated]
  priority: 60
params:
  service: { kind: name, description: The service of the case. }
plan:
  title: "Restart {{service}} (approved by a human)"
  risk_score: 0.1
  steps:
${restartStepYaml({ name: 'restart via runbook', indent: 4, timeoutS: 30 })}
  rollback:
    steps: []
  verify:
    settle_s: 0
    checks: []
`;

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
let run: E2eWithPrometheus | null = null;
let e2e: E2e;

function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

/** The chain of span names from `span` up to the trace's root (nearest first). */
function ancestry(span: ReadableSpan, byId: Map<string, ReadableSpan>): ReadableSpan[] {
  const chain: ReadableSpan[] = [];
  for (let at: ReadableSpan | undefined = span; at; at = byId.get(parentOf(at) ?? '')) chain.push(at);
  return chain;
}

describe('OpenTelemetry: one trace from the REST request to the agent\'s Prometheus call', () => {
  before(async () => {
    provider.register();
    run = await startE2eWithPrometheus({ [SERVICE]: 0.01 }, {
      policy: E2E_POLICY, services: SERVICES,
      templates: { 'e2e.observe': observeTemplateYaml({ name: 'e2e.observe', keyword: 'observe', priority: 10 }), 'e2e.gated': GATED_TEMPLATE },
    });
    if (run) e2e = run.e2e;
  });
  after(async () => {
    await run?.close();
    await provider.shutdown();
  });

  test('the span tree: HTTP → store write → relay → agent job → Prometheus, and the timeline names the same trace', async (t) => {
    if (!run) return t.skip(prometheusSkipReason());
    assert.equal(tracingRegistered(), true);
    const created = await call(e2e.url, 'POST', '/case/create', { title: `observe ${SERVICE}`, tenant: 't-001', service: SERVICE, env: 'staging' },
      { 'idempotency-key': freshKey('create') });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const caseId = created.body.data.case_id as string;

    // The caller's own trace: the analysis request continues it.
    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    const started = await call(e2e.url, 'PATCH', `/case/${caseId}/transition`, { event: 'start_analysis', actor: 'analyst@svc', reason: 'traced' },
      { 'idempotency-key': freshKey('start'), 'if-match': '"1"', traceparent: `00-${traceId}-${callerSpanId}-01` });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const { timeline } = await waitForStatus(e2e.url, caseId, 'CLOSED', 60_000);

    const spans = exporter.getFinishedSpans();
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    const inTrace = spans.filter((s) => s.spanContext().traceId === traceId);

    // The HTTP server span is the child of the caller's span.
    const http = inTrace.find((s) => s.name === 'HTTP PATCH /case/:id/transition');
    assert.ok(http, `no HTTP span in the trace: ${inTrace.map((s) => s.name).join(', ')}`);
    assert.equal(http.kind, SpanKind.SERVER);
    assert.equal(parentOf(http), callerSpanId);
    assert.equal(http.attributes['http.response.status_code'], 200);

    // The agent's Prometheus call (the evidence of the analyze step) descends, in this order, from
    // the analyze job, the relay's delivery of cmd.analyze, the Orchestrator's write and the request.
    const analyze = inTrace.find((s) => s.name === 'agent.job opsloop.agent.analyze');
    assert.ok(analyze, `no analyze job span: ${inTrace.map((s) => s.name).join(', ')}`);
    const promCall = inTrace.find((s) => s.name === 'prometheus api/v1/query' && ancestry(s, byId).includes(analyze));
    assert.ok(promCall, `no Prometheus span under the analyze job: ${inTrace.map((s) => `${s.name}<${byId.get(parentOf(s) ?? '')?.name}`).join(', ')}`);
    assert.equal(promCall.kind, SpanKind.CLIENT);
    assert.match(String(promCall.attributes['db.query.text']), new RegExp(ERROR_RATIO_METRIC));
    const chain = ancestry(promCall, byId).map((s) => s.name);
    const expected = ['prometheus api/v1/query', 'agent.job opsloop.agent.analyze', 'outbox.deliver cmd.analyze', 'opsloop.store.transact', 'HTTP PATCH /case/:id/transition'];
    let at = -1;
    for (const name of expected) {
      const next = chain.indexOf(name, at + 1);
      assert.ok(next > at, `span chain ${JSON.stringify(chain)} lacks ${name} after ${expected[expected.indexOf(name) - 1] ?? 'the start'}`);
      at = next;
    }
    assert.equal(chain.at(-1), 'HTTP PATCH /case/:id/transition', 'the request span is the root in this process');

    // The whole loop is that one trace: every later step's write names it in the timeline.
    const after = timeline.filter((e) => e.kind === 'transition' && e.event !== 'case_created');
    assert.deepEqual(after.map((e) => e.event), ['start_analysis', 'analysis_done', 'plan_ready', 'gate_approved', 'exec_done', 'verify_pass'], describeTimeline(timeline));
    for (const entry of after) assert.equal((entry as TimelineItem & { trace_id: unknown }).trace_id, traceId, `${entry.event} names another trace`);
    const verify = inTrace.find((s) => s.name === 'agent.job opsloop.agent.verify');
    assert.ok(verify, 'the Verifier\'s job is in the same trace');

    // A request without traceparent starts its own trace; the timeline stores that span's trace id.
    const createSpan = spans.find((s) => s.name === 'HTTP POST /case/create');
    assert.ok(createSpan);
    assert.equal(parentOf(createSpan), undefined);
    const createdEntry = (await getTimeline(e2e.url, caseId)).find((e) => e.event === 'case_created');
    assert.equal((createdEntry as { trace_id?: unknown } | undefined)?.trace_id, createSpan.spanContext().traceId);
  });

  test('a chat command is the root of its trace: chat.command → store write, and the case names that trace', async (t) => {
    if (!run) return t.skip(prometheusSkipReason());
    const chat = new ChatHandler({ orchestrator: e2e.app.orchestrator, queries: e2e.store.queries, startAnalysis: false });
    const reply = await chat.handleCommand({ kind: 'open', title: 'opened from a traced chat' }, { platform: 'sim', id: 'sim-user' }, { channel: 'sim-ops' });
    const caseId = /`([0-9a-f-]{36})`/.exec(JSON.stringify(reply))?.[1] ?? (await e2e.store.queries.listCases({ limit: 50 })).find((c) => c.title === 'opened from a traced chat')?.id;
    assert.ok(caseId, JSON.stringify(reply));
    const spans = exporter.getFinishedSpans();
    const command = spans.find((s) => s.name === 'chat.command open');
    assert.ok(command);
    assert.equal(command.attributes['opsloop.chat.platform'], 'sim');
    assert.ok(spans.some((s) => s.name === 'opsloop.store.transact' && parentOf(s) === command.spanContext().spanId), 'the write is a child of the chat span');
    const created = (await getTimeline(e2e.url, caseId)).find((e) => e.event === 'case_created') as { trace_id?: string } | undefined;
    assert.equal(created?.trace_id, command.spanContext().traceId);
  });

  test('a button click is one trace: chat.action → store write → relay → the exec job, and the timeline names it', async (t) => {
    if (!run) return t.skip(prometheusSkipReason());
    const caseId = await openAndStart(e2e.url, { title: 'gated restart of svc-gated', tenant: 't-001', service: 'svc-gated', env: 'prod' });
    // At the gate, once the Gatekeeper has asked a human (prod-needs-human).
    const atGate = await waitForCase(e2e.url, caseId, (c, timeline) => c.status === 'WAIT_GATE' && timeline.some((e) => e.event === 'gate_decision'), 'a gate decision', 60_000);
    const chat = new ChatHandler({ orchestrator: e2e.app.orchestrator, queries: e2e.store.queries, startAnalysis: false });
    const reply = await chat.handleAction({ case_id: caseId, event: 'gate_approved', version: atGate.case.version }, { platform: 'sim', id: 'sim-approver' });
    assert.match(reply.text, /approved/i, JSON.stringify(reply));
    const click = exporter.getFinishedSpans().find((s) => s.name === 'chat.action gate_approved' && s.attributes['opsloop.case_id'] === caseId);
    assert.ok(click, 'the click has a span');
    assert.equal(parentOf(click), undefined, 'the click roots its trace');
    const traceId = click.spanContext().traceId;

    const execSpan = await pollSpan((s) => s.name === 'agent.job opsloop.agent.exec' && s.spanContext().traceId === traceId);
    const spans = exporter.getFinishedSpans();
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    const chain = ancestry(execSpan, byId).map((s) => s.name);
    assert.deepEqual([chain[0], chain.at(-1)], ['agent.job opsloop.agent.exec', 'chat.action gate_approved'], JSON.stringify(chain));
    assert.ok(chain.includes('outbox.deliver cmd.exec.run') || chain.some((n) => n.startsWith('outbox.deliver cmd.exec')), JSON.stringify(chain));
    assert.ok(chain.includes('opsloop.store.transact'), JSON.stringify(chain));
    const approved = (await getTimeline(e2e.url, caseId)).find((e) => e.event === 'gate_approved') as { trace_id?: string } | undefined;
    assert.equal(approved?.trace_id, traceId, 'the approval in the timeline names the click\'s trace');
  });
});

/** Wait (up to 30 s) for a finished span matching `match`. */
async function pollSpan(match: (s: ReadableSpan) => boolean): Promise<ReadableSpan> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const found = exporter.getFinishedSpans().find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no such span; finished: ${exporter.getFinishedSpans().map((s) => s.name).join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
