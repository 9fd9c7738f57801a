import type { Logger } from 'pino';
import type { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';
import { factTransition } from '../../core/agents/facts.js';
import { parseEvent } from '../../core/events/typed-events.js';

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
    if (!fact) {
      const parsed = parseEvent(msg);
      if (!parsed.ok && parsed.code === 'invalid_data') {
        deps.logger?.error({ topic: msg.topic, case_id: msg.case_id, message_id: msg.id, issues: parsed.issues }, 'agent fact does not match its schema; not applied');
      }
      return;
    }
    const result = await deps.orchestrator.transition(msg.case_id, fact.request, fact.options);
    if (result.status >= 500) {
      throw new Error(`transition for ${msg.topic} failed with ${result.status}; the relay will retry`);
    }
    if (result.status >= 400) {
      deps.logger?.info({ topic: msg.topic, case_id: msg.case_id, status: result.status, body: result.body }, 'agent fact not applied (case moved on)');
    }
  };
}
