import { z } from 'zod';
import { CASE_EVENTS, CASE_STATUSES } from '../fsm/states.js';
import { ChangePlanSchema } from './plan.js';
import { OutboxEnvelopeSchema } from './outbox.js';

/**
 * Versioned payloads (`data`) of the fact events opsloop publishes (`evt.*.v1`), as zod schemas;
 * `/schemas/events.json` serves them as JSON Schema (2020-12). A new shape gets a new topic
 * version (`….v2`); fields are only ever added to a version, never removed or retyped.
 * Objects are open (`passthrough`): consumers must ignore fields they do not know.
 */
const Status = z.enum(CASE_STATUSES);
const Actor = z.string().describe('who caused it: a chat user (slack:U123), an agent (planner, gatekeeper, executor, verifier) or api');

const GateDecision = z.object({
  decision: z.enum(['approve', 'needs_human', 'reject']),
  reasons: z.array(z.string()),
  matched_rules: z.array(z.string()),
  approvers: z.record(z.string(), z.array(z.string())),
}).passthrough();

const StepResult = z.object({
  index: z.number().int(), name: z.string(), action: z.string(),
  status: z.enum(['running', 'ok', 'failed', 'timeout', 'refused']), attempt: z.number().int(), duration_ms: z.number(),
  summary: z.string(), output: z.string().optional(), rollback: z.boolean().optional(), locator: z.string().optional(),
}).passthrough();

const CheckResult = z.object({
  name: z.string(), query: z.string(), op: z.string(), threshold: z.number(), window: z.string().nullable(),
  value: z.number().nullable(), pass: z.boolean(), error: z.string().optional(),
}).passthrough();

const Evidence = z.object({ kind: z.string(), title: z.string(), detail: z.string().optional(), value: z.number().nullable().optional(), url: z.string().optional() }).passthrough();

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
  'evt.analysis.findings.v1': z.object({ actor: Actor.optional(), findings: z.array(z.unknown()).optional() }).passthrough(),
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
} as const;

export type EventDataTopic = keyof typeof EVENT_DATA_SCHEMAS;

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
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'opsloop/events.json',
    title: 'opsloop fact events',
    description: 'Every message is an envelope (id, topic, occurred_at, case_id, version, trace_id, correlation_id, data). '
      + 'Dedupe by id: delivery is at least once. On NATS JetStream the subject is opsloop.<topic> and Nats-Msg-Id is the id.',
    envelope: convert(OutboxEnvelopeSchema),
    events,
  };
}
