import type { TransitionRequest, WriteOptions } from '../orchestrator/orchestrator.js';
import { FACT_TO_EVENT, type OutboxEnvelope } from '../schemas/outbox.js';

/** The fact a new case is written with when it should be analysed at once (→ start_analysis). */
export const ANALYSIS_REQUESTED_TOPIC = 'evt.analysis.requested.v1';

/**
 * What an agent fact carries into the transition's meta. `evt.plan.proposed.v1` carries the plan
 * itself (the plan_ready guard checks it); the others carry their decision or results.
 */
function factTransitionMeta(topic: string, data: Record<string, unknown>): Record<string, unknown> {
  const { actor: _actor, reason: _reason, ...rest } = data;
  return { fact: topic, ...rest };
}

/**
 * The transition a fact asks for, or null when its topic is not a fact: keyed by the fact's message
 * id (a redelivery replays) and pinned to the case version the fact was written at (a stale fact
 * never applies). Whoever applies a fact first, the fact applier or its writer right after the
 * commit, the other gets the same answer replayed.
 */
export function factTransition(msg: OutboxEnvelope): { request: TransitionRequest; options: WriteOptions } | null {
  const event = FACT_TO_EVENT[msg.topic as keyof typeof FACT_TO_EVENT];
  if (!event) return null;
  return {
    request: {
      event,
      actor: typeof msg.data.actor === 'string' ? msg.data.actor : 'agent',
      reason: typeof msg.data.reason === 'string' ? msg.data.reason : null,
      meta: factTransitionMeta(msg.topic, msg.data),
      traceId: msg.trace_id,
      correlationId: msg.id,
    },
    options: { idempotencyKey: `fact:${msg.id}`, expectedVersion: msg.version, versionSource: 'body' },
  };
}
