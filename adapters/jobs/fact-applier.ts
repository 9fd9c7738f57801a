import type { Logger } from 'pino';
import type { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';
import { parseEvent } from '../../core/events/typed-events.js';

export interface FactApplierDeps {
  orchestrator: Pick<Orchestrator, 'applyWrittenFact'>;
  logger?: Logger;
}

/**
 * Outbox consumer for facts (`evt.plan.proposed.v1`, `evt.exec.done.v1`, …): the crash fallback.
 * Agents report through `Orchestrator.apply`, which applies a fact's transition in the transaction
 * that records it, and a new case's analysis request is applied right after its commit; either way
 * under the key `fact:<message id>`, so the delivered fact is answered from that key. Only a fact
 * whose writer died before applying it (or one written before `apply` existed) is applied here,
 * pinned to the case version it was written at (a stale fact never applies).
 */
export function factApplier(deps: FactApplierDeps) {
  return async function applyFact(msg: OutboxEnvelope): Promise<void> {
    // A store that cannot be reached throws: the relay retries the delivery.
    const result = await deps.orchestrator.applyWrittenFact(msg);
    if (result === null) {
      const parsed = parseEvent(msg);
      if (!parsed.ok && parsed.code === 'invalid_data') {
        deps.logger?.error({ topic: msg.topic, case_id: msg.case_id, message_id: msg.id, issues: parsed.issues }, 'agent fact does not match its schema; not applied');
      }
      return;
    }
    if (!result.ok) {
      deps.logger?.info({ topic: msg.topic, case_id: msg.case_id, code: result.code, message: result.message }, 'agent fact not applied (case moved on)');
    }
  };
}
