import type { Logger } from 'pino';
import type { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import { FACT_TO_EVENT, type OutboxEnvelope } from '../../core/schemas/outbox.js';
import { factTransitionMeta } from '../../core/agents/facts.js';

export interface FactApplierDeps {
  orchestrator: Orchestrator;
  logger?: Logger;
}

/**
 * Outbox consumer for agent facts (`evt.plan.proposed.v1`, `evt.exec.done.v1`, …): each becomes
 * the matching Orchestrator transition, keyed by the fact's message id (so a redelivery replays)
 * and pinned to the case version the agent saw (so a stale fact never applies).
 */
export function factApplier(deps: FactApplierDeps) {
  return async function applyFact(msg: OutboxEnvelope): Promise<void> {
    const event = FACT_TO_EVENT[msg.topic as keyof typeof FACT_TO_EVENT];
    if (!event) return;
    const result = await deps.orchestrator.transition(msg.case_id, {
      event,
      actor: typeof msg.data.actor === 'string' ? msg.data.actor : 'agent',
      reason: typeof msg.data.reason === 'string' ? msg.data.reason : null,
      meta: factTransitionMeta(msg.topic, msg.data),
      traceId: msg.trace_id,
      correlationId: msg.id,
    }, { idempotencyKey: `fact:${msg.id}`, expectedVersion: msg.version, versionSource: 'body' });
    if (result.status >= 500) {
      throw new Error(`transition for ${msg.topic} failed with ${result.status}; the relay will retry`);
    }
    if (result.status >= 400) {
      deps.logger?.info({ topic: msg.topic, case_id: msg.case_id, status: result.status, body: result.body }, 'agent fact not applied (case moved on)');
    }
  };
}
