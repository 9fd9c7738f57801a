import { z } from 'zod';
import { CASE_EVENTS, CASE_STATUSES } from '../fsm/states.js';
import type { CommandTopic } from '../fsm/transitions.js';
import { ChangePlanSchema } from './plan.js';
import { SilenceViewSchema } from './silence.js';
import { OutboxEnvelopeSchema, type EventTopic } from './outbox.js';

/**
 * Versioned payloads (`data`) of the fact events opsloop publishes (`evt.*.v1`) and of the agent
 * commands it enqueues (`cmd.*`), as zod schemas; `/schemas/events.json` serves them as JSON Schema
 * (2020-12), and core/events/typed-events.ts types producers (`emit`) and consumers (`parseEvent`)
 * from them. A new shape gets a new topic version (`….v2`); fields are only ever added to a
 * version, never removed or retyped. Objects are open (`passthrough`): consumers must ignore
 * fields they do not know.
 */
const Status = z.enum(CASE_STATUSES);
const Actor = z.string().describe('who caused it: a chat user (slack:U123), an agent (planner, gatekeeper, executor, verifier) or api');

const GateDecision = z.object({
  decision: z.enum(['approve', 'needs_human', 'reject']),
  reasons: z.array(z.string()),
  matched_rules: z.array(z.string()),
  approvers: z.record(z.string(), z.union([z.array(z.string()), z.number().int()]))
    .describe('who may approve, per kind (slack_users, slack_groups, discord_roles, users, sim_users), and min_approvals'),
}).passthrough();

const GuardTrip = z.object({
  name: z.string(), kind: z.enum(['promql', 'http']),
  observed: z.number().nullable().describe('the last measured value (PromQL) or HTTP status; null when there was none'),
  threshold: z.number().nullable(), op: z.string().nullable(), expect_status: z.string().optional(),
  target: z.string().describe('the rendered query or the probed URL'),
  polls: z.number().int(), consecutive: z.number().int().describe('consecutive failing polls of this guard'), why: z.string(),
}).passthrough().describe('a step guard that tripped: the step was stopped and undone (or the run says why not)');

const StepResult = z.object({
  index: z.number().int(), name: z.string(), action: z.string(),
  status: z.enum(['running', 'ok', 'failed', 'timeout', 'refused']), attempt: z.number().int(), duration_ms: z.number(),
  summary: z.string(), output: z.string().optional(), rollback: z.boolean().optional(), locator: z.string().optional(),
  undo_of: z.number().int().optional().describe('undo steps: the index of the plan step they undo'),
  guard: GuardTrip.optional(),
}).passthrough();

const CheckResult = z.object({
  name: z.string(), query: z.string(), op: z.string(), threshold: z.number(), window: z.string().nullable(),
  value: z.number().nullable(), pass: z.boolean(), error: z.string().optional(),
}).passthrough();

const Evidence = z.object({ id: z.string().optional().describe('the evidence id (ev-<n>) a finding rests on'), kind: z.string(), title: z.string(), detail: z.string().optional(), value: z.number().nullable().optional(), url: z.string().optional() }).passthrough();

/** The Analyst's LLM summary of a case's evidence (core/schemas/findings.ts), as the event carries it. */
const FindingsSummary = z.object({
  summary: z.string(), suspected_causes: z.array(z.unknown()), next_checks: z.array(z.string()),
}).passthrough();

/** An investigation's result (core/schemas/investigation.ts InvestigationFindings) plus the tool calls it made. */
const InvestigationResult = z.object({
  mode: z.enum(['llm', 'playbook']), summary: z.string(),
  findings: z.array(z.unknown()), refuted: z.array(z.unknown()), unsupported: z.array(z.unknown()),
  insufficient_evidence: z.boolean(), tool_calls: z.number().int(), stopped: z.string(),
  calls: z.array(z.object({ evidence_id: z.string(), tool: z.string(), ok: z.boolean() }).passthrough()).optional()
    .describe('the tool calls (ToolCallRecord without output), for the thread'),
}).passthrough();

const AlertView = z.object({
  alertname: z.string().nullable(), status: z.enum(['firing', 'resolved']), fingerprint: z.string(),
  starts_at: z.string(), ends_at: z.string().nullable(), summary: z.string().nullable(),
  labels: z.record(z.string(), z.string()), values: z.record(z.string(), z.number().nullable()).optional(),
}).passthrough();
const AlertEvidence = z.object({
  id: z.string(), kind: z.string(), title: z.string(), url: z.string().nullable(), locator: z.string().nullable(),
}).passthrough();
const AlertSource = z.string().describe('who sent the alerts: alertmanager or grafana');

export const EVENT_DATA_SCHEMAS = {
  'evt.case.created.v1': z.object({ case: z.record(z.string(), z.unknown()).describe('the case as GET /case/{id} shows it') }).passthrough(),
  'evt.case.transition.v1': z.object({
    from: Status, to: Status, event: z.enum(CASE_EVENTS), actor: Actor, reason: z.string().nullable(),
    plan_id: z.string().nullable(), timeline_id: z.number().int(),
  }).passthrough(),
  'evt.case.rejected.v1': z.object({ event: z.string(), actor: Actor, guard: z.string(), issues: z.array(z.unknown()) }).passthrough(),
  'evt.analysis.requested.v1': z.object({
    actor: Actor, reason: z.string().optional(), group_key: z.string().optional(), rule: z.string().nullable().optional(),
  }).passthrough().describe('a new case asks for analysis (the Sensor writes it with the case, so a crash before start_analysis loses nothing)'),
  'evt.analysis.done.v1': z.object({ actor: Actor, reason: z.string().optional(), evidence: z.array(Evidence).optional() }).passthrough(),
  'evt.analysis.findings.v1': z.object({
    actor: Actor.optional(),
    source: z.string().optional().describe('analyst (a detector fired), llm (the LLM summary of the evidence) or investigation (re-checked hypotheses)'),
    findings: z.union([z.array(z.unknown()), FindingsSummary]).optional()
      .describe('the detector findings (a list), or the LLM summary (summary, suspected_causes, next_checks)'),
    investigation: InvestigationResult.optional()
      .describe('source investigation: the hypotheses after opsloop re-checked their claims, and the tool calls made'),
  }).passthrough(),
  'evt.plan.proposed.v1': z.object({ actor: Actor, reason: z.string().optional(), plan: ChangePlanSchema, source: z.enum(['template', 'llm']), template: z.string().nullable() }).passthrough(),
  'evt.plan.invalid.v1': z.object({ actor: Actor, reason: z.string(), attempts: z.array(z.unknown()) }).passthrough(),
  'evt.plan.approved.v1': z.object({ actor: Actor, reason: z.string().optional(), decision: GateDecision.optional() }).passthrough(),
  'evt.plan.rejected.v1': z.object({ actor: Actor, reason: z.string().optional(), decision: GateDecision.optional() }).passthrough(),
  'evt.gate.needs_human.v1': z.object({ actor: Actor, reason: z.string().optional(), decision: GateDecision }).passthrough(),
  'evt.exec.step_result.v1': StepResult.extend({ actor: Actor }),
  'evt.exec.done.v1': z.object({ actor: Actor, reason: z.string(), rolled_back: z.boolean(), results: z.array(StepResult) }).passthrough(),
  'evt.exec.failed.v1': z.object({ actor: Actor, reason: z.string(), rolled_back: z.boolean(), results: z.array(StepResult) }).passthrough(),
  'evt.verify.pass.v1': z.object({ actor: Actor, reason: z.string(), results: z.array(CheckResult) }).passthrough(),
  'evt.verify.failed.v1': z.object({ actor: Actor, reason: z.string(), results: z.array(CheckResult) }).passthrough(),
  'evt.case.note.v1': z.object({ actor: Actor.optional() }).passthrough(),
  'evt.case.report_requested.v1': z.object({
    actor: Actor, platform: z.string().describe('the chat platform whose case thread gets the report file'),
  }).passthrough().describe('someone asked for the incident report in chat; the thread notifier of that platform uploads it'),
  'evt.alert.firing.v1': z.object({
    source: AlertSource, group_key: z.string(),
    matched_by: z.enum(['group', 'correlation']).nullable().describe('how an open case was found (null: the alerts opened it)'),
    summary: z.string(), alerts: z.array(AlertView), evidence: z.array(AlertEvidence),
  }).passthrough().describe('new firing alerts on the case (the Sensor), with the evidence stored for them'),
  'evt.alert.resolved.v1': z.object({
    source: AlertSource, group_key: z.string(), summary: z.string(), alerts: z.array(AlertView),
    status: Status.describe('the case status when they resolved: a resolution never changes it'),
  }).passthrough().describe('alerts of the case resolved (the Sensor)'),
  'evt.silence.created.v1': z.object({ actor: Actor, silence: SilenceViewSchema })
    .passthrough().describe('a silence was made (the envelope\'s case_id carries the silence id)'),
  'evt.silence.ended.v1': z.object({ actor: Actor, end_reason: z.enum(['time', 'hand']), silence: SilenceViewSchema })
    .passthrough().describe('a silence ended: its time ran out or someone expired it; the thread it was made in is told'),
} as const satisfies Record<EventTopic, z.ZodType>;

export type EventDataTopic = keyof typeof EVENT_DATA_SCHEMAS;

/** What every agent command carries: enough for the agent to find its work. */
const CommandData = z.object({
  case_id: z.string(),
  plan_id: z.string().nullable().optional().describe('the case\'s plan when the command was written (status entries)'),
  status: Status.optional().describe('the status the case entered (status entries)'),
  template: z.string().optional().describe('the template the planner must use'),
  requested_by: z.string().optional().describe('the principal that asked through a REST trigger'),
  run_at: z.string().optional().describe('ISO time before which the agent job does not start'),
}).passthrough();

/**
 * Payloads of the agent commands (`cmd.*`): written by the Orchestrator when a case enters a status
 * (core/fsm/transitions.ts) and by the REST triggers; delivered to the agents only, never to NATS.
 */
export const COMMAND_DATA_SCHEMAS = {
  'cmd.analyze': CommandData,
  'cmd.plan.generate': CommandData,
  'cmd.gate.eval': CommandData,
  'cmd.exec.run': CommandData,
  'cmd.verify.run': CommandData,
} as const satisfies Record<CommandTopic, z.ZodType>;

/** The whole catalogue as one JSON Schema document: the envelope, and each topic's data. */
export function eventsJsonSchema(): Record<string, unknown> {
  const convert = (schema: z.ZodType) => {
    const out = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'output', unrepresentable: 'any' }) as Record<string, unknown>;
    delete out.$schema;
    return out;
  };
  const events: Record<string, unknown> = {};
  for (const [topic, schema] of Object.entries(EVENT_DATA_SCHEMAS)) {
    events[topic] = { subject: `opsloop.${topic}`, version: Number(/\.v(\d+)$/.exec(topic)?.[1] ?? 1), data: convert(schema) };
  }
  const commands: Record<string, unknown> = {};
  for (const [topic, schema] of Object.entries(COMMAND_DATA_SCHEMAS)) commands[topic] = { data: convert(schema) };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'opsloop/events.json',
    title: 'opsloop fact events',
    description: 'Every message is an envelope (id, topic, occurred_at, case_id, version, trace_id, traceparent when tracing runs, correlation_id, data). '
      + 'Dedupe by id: delivery is at least once. On NATS JetStream the subject is opsloop.<topic> and Nats-Msg-Id is the id. '
      + 'Commands (cmd.*) are internal: delivered to the agents only, never published on NATS; listed so the catalogue is complete.',
    envelope: convert(OutboxEnvelopeSchema),
    events,
    commands,
  };
}
