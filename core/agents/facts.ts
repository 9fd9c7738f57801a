import type { TransitionRequest, WriteOptions } from '../orchestrator/orchestrator.js';
import { FACT_TO_EVENT, type OutboxEnvelope } from '../schemas/outbox.js';
import { isFact, parseEvent, type KnownMessage, type FactTopic } from '../events/typed-events.js';

/** The fact a new case is written with when it should be analysed at once (→ start_analysis). */
export const ANALYSIS_REQUESTED_TOPIC = 'evt.analysis.requested.v1';

/**
 * What an agent fact carries into the transition's meta. `evt.plan.proposed.v1` carries the plan
 * itself (the plan_ready guard checks it); the others carry their decision or results.
 */
function factTransitionMeta(fact: KnownMessage<FactTopic>): Record<string, unknown> {
  const { actor: _actor, reason: _reason, ...rest } = fact.data;
  return { fact: fact.topic, ...rest };
}

/**
 * The transition a fact asks for, or null when the message is not a fact (or its data breaks the
 * fact's schema): keyed by the fact's message id (a redelivery replays) and pinned to the case
 * version the fact was written at (a stale fact never applies). Whoever applies a fact first, the
 * fact applier or its writer right after the commit, the other gets the same answer replayed.
 */
export function factTransition(msg: OutboxEnvelope): { request: TransitionRequest; options: WriteOptions } | null {
  if (!Object.hasOwn(FACT_TO_EVENT, msg.topic)) return null;
  const parsed = parseEvent(msg);
  if (!parsed.ok || !isFact(parsed.event)) return null;
  const fact = parsed.event;
  return {
    request: {
      event: FACT_TO_EVENT[fact.topic],
      actor: fact.data.actor,
      reason: fact.data.reason ?? null,
      meta: factTransitionMeta(fact),
      traceId: msg.trace_id,
      correlationId: msg.id,
    },
    options: { idempotencyKey: `fact:${msg.id}`, expectedVersion: msg.version, versionSource: 'body' },
  };
}
