import type { Logger } from 'pino';
import type { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';
import { factTransition } from '../../core/agents/facts.js';

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
    const fact = factTransition(msg);
    if (!fact) return;
    // A store that cannot be reached throws: the relay retries the delivery.
    const result = await deps.orchestrator.transition(msg.case_id, fact.request, fact.options);
    if (!result.ok) {
      deps.logger?.info({ topic: msg.topic, case_id: msg.case_id, code: result.code, message: result.message }, 'agent fact not applied (case moved on)');
    }
  };
}
