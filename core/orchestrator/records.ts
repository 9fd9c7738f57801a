/**
 * The rows one Orchestrator write produces, as pure functions: a timeline entry, an outbox
 * envelope, and what a transition's timeline and command messages carry.
 */
import { outboxPriorityOf } from '../outbox/priority.js';
import type { CaseRecord, NewTimelineEntry } from '../schemas/case.js';
import type { OutboxEnvelope } from '../schemas/outbox.js';
import { emit, type Emit, type MessageInput } from '../events/typed-events.js';
import type { CommandTopic } from '../fsm/transitions.js';

/** A timeline entry of case `c` at its current version, with the defaults filled in. */
export function timelineEntry(c: CaseRecord, now: Date, e: Partial<NewTimelineEntry> & Pick<NewTimelineEntry, 'kind' | 'event' | 'actor'>): NewTimelineEntry {
  return {
    case_id: c.id, reason: null, correlation_id: null, trace_id: null, from_status: null, to_status: null,
    version: c.version, meta: {}, created_at: now, ...e,
  };
}

/**
 * An outbox message of case `c` (its lane is the case's own, so a case's messages keep their
 * order); `message` comes from `emit`, which checked its data.
 */
export function outboxEnvelope(id: string, c: CaseRecord, now: Date, message: Emit, traceId: string | null, correlationId: string | null): OutboxEnvelope {
  return {
    id, topic: message.topic, occurred_at: now.toISOString(), case_id: c.id, version: c.version, trace_id: traceId, correlation_id: correlationId,
    data: message.data as Record<string, unknown>, priority: outboxPriorityOf(c),
  };
}

/** The plan itself lives in plan_proposed; the timeline keeps its id, not a second copy. */
export function withoutPlan(meta: Record<string, unknown>, planId: string | null): Record<string, unknown> {
  if (!('plan' in meta)) return meta;
  const { plan: _plan, ...rest } = meta;
  return { ...rest, plan_id: planId };
}

/** The `cmd.*` a status entry enqueues, with what the agent needs to find its work. */
export function commandMessage(topic: CommandTopic, c: CaseRecord, meta: Record<string, unknown>): Emit<CommandTopic> {
  const data: MessageInput<CommandTopic> = { case_id: c.id, plan_id: c.plan_id, status: c.status };
  if (typeof meta.template === 'string') data.template = meta.template;
  return emit(topic, data);
}
