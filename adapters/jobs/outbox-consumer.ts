/**
 * What an outbox consumer sees of the relay: the delivery info handed with each message, and
 * `consumeOnce`, the inbox dedupe every consumer with its own writes runs its work through.
 */
import type { CaseStore, CaseTx } from '../../core/ports/case-store.js';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';

/** What the relay hands a consumer besides the message. */
export interface DeliveryInfo {
  /**
   * How many times the message has been claimed, this delivery included (1 the first time). A
   * copy claimed for the first time was never handed to any consumer of its group, so a consumer
   * may skip its inbox lookup then (`firstDelivery`).
   */
  attempts: number;
  /** When the message's case was opened (ms since epoch), when the store told (OutboxRecord.caseOpenedAt). */
  caseOpenedAt?: number;
}

/**
 * Whether this is the copy's first claim: no consumer of its group can have seen it (every
 * delivery claims first, and each claim counts), so its id is in no inbox of that group yet.
 * Without delivery info (a direct call) the answer is no: look in the inbox.
 */
export function firstDelivery(info: DeliveryInfo | undefined): boolean {
  return info?.attempts === 1;
}

export type OutboxConsumer = (msg: OutboxEnvelope, info: DeliveryInfo) => Promise<void>;

/**
 * Run `work` for a message exactly once per consumer: the inbox record and the consumer's own
 * writes commit in ONE store transaction, so a redelivered message finds its id recorded and
 * `work` is skipped (counted as inbox_dedup_total). Returns whether `work` ran.
 */
export async function consumeOnce(
  store: CaseStore,
  consumer: string,
  msg: Pick<OutboxEnvelope, 'id'>,
  work: (tx: CaseTx) => Promise<void>,
  metrics?: { inboxDedup(): void },
): Promise<boolean> {
  const ran = await store.transact(async (tx) => {
    const fresh = await tx.recordInbox(consumer, msg.id, new Date());
    if (!fresh) return false;
    await work(tx);
    return true;
  });
  if (!ran) metrics?.inboxDedup();
  return ran;
}
