import { z } from 'zod';

/** Topics of fact events (evt.*) the system emits. */
export const EVENT_TOPICS = [
  'evt.case.created.v1',
  'evt.case.transition.v1',
  'evt.case.rejected.v1',
  'evt.analysis.requested.v1',
  'evt.analysis.done.v1',
  'evt.analysis.findings.v1',
  'evt.plan.proposed.v1',
  'evt.plan.invalid.v1',
  'evt.plan.approved.v1',
  'evt.plan.rejected.v1',
  'evt.gate.needs_human.v1',
  'evt.exec.step_result.v1',
  'evt.exec.done.v1',
  'evt.exec.failed.v1',
  'evt.verify.pass.v1',
  'evt.verify.failed.v1',
  'evt.case.note.v1',
  'evt.case.report_requested.v1',
  'evt.alert.firing.v1',
  'evt.alert.resolved.v1',
  'evt.silence.created.v1',
  'evt.silence.ended.v1',
] as const;
export type EventTopic = (typeof EVENT_TOPICS)[number];

/** Agent facts the relay turns into Orchestrator transitions (idempotency key = message id). */
export const FACT_TO_EVENT = {
  'evt.analysis.requested.v1': 'start_analysis',
  'evt.analysis.done.v1': 'analysis_done',
  'evt.plan.proposed.v1': 'plan_ready',
  'evt.plan.approved.v1': 'gate_approved',
  'evt.plan.rejected.v1': 'gate_rejected',
  'evt.exec.done.v1': 'exec_done',
  'evt.exec.failed.v1': 'exec_failed',
  'evt.verify.pass.v1': 'verify_pass',
  'evt.verify.failed.v1': 'verify_failed',
} as const;

/**
 * Every outbox message has this envelope. `id` is the message id consumers dedupe by;
 * `version` is the case version the message was written at.
 */
export const OutboxEnvelopeSchema = z.object({
  id: z.string(),
  topic: z.string(),
  occurred_at: z.string(),
  case_id: z.string(),
  version: z.number().int(),
  trace_id: z.string().nullable(),
  /**
   * W3C `traceparent` of the span that wrote the message (absent when tracing is off): the relay
   * and the agent job continue that trace, in this process or another.
   */
  traceparent: z.string().max(55).optional(),
  correlation_id: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
  /**
   * Delivery lane (core/outbox/priority.ts): the relay claims higher first, then in outbox order.
   * The same for every message of a case; absent on messages written before it existed (= 0).
   */
  priority: z.number().int().min(0).max(2).optional(),
});
export type OutboxEnvelope = z.infer<typeof OutboxEnvelopeSchema>;

/** Outbox consumer groups: a message is stored once per group that must see it (core/outbox/consumer-groups.ts). */
export const CONSUMER_GROUPS = ['loop', 'side'] as const;
export type ConsumerGroup = (typeof CONSUMER_GROUPS)[number];

/**
 * One stored copy of an outbox message, as claimed by the relay: a message is stored once per
 * consumer group that must see it (core/outbox/consumer-groups.ts).
 */
export interface OutboxRecord {
  /** Storage order and the copy's identity (bigserial on SQL, a sequence on Mongo); relays deliver in this order. */
  seq: number;
  /** The consumer group this copy is delivered to. */
  group: ConsumerGroup;
  envelope: OutboxEnvelope;
  /** How many times the message has been claimed (1 on first delivery). */
  attempts: number;
  /**
   * When the message's case was opened (ms since epoch), when the store tells: relays serve older
   * cases first (core/outbox/delivery-order.ts).
   */
  caseOpenedAt?: number;
}
