/**
 * A claimed batch as delivery chains (pure): one chain per case and consumer group, in outbox
 * order inside, chains started in delivery order (./delivery-order.ts).
 */
import type { OutboxRecord } from '../schemas/outbox.js';
import { compareDelivery } from './delivery-order.js';
import { deliveryRank } from './priority.js';

/** Delivery chains are per case and consumer group: one case's loop copies never wait for its side copies. */
export function chainKey(record: OutboxRecord): string {
  return `${record.group}\u0000${record.envelope.case_id}`;
}

/**
 * Split a claimed batch into delivery chains, one per case and consumer group, keeping outbox (seq)
 * order inside each. Chains are started in delivery order (core/outbox/delivery-order.ts): a higher
 * priority lane first, so a person's case does not wait for `caseConcurrency` slots behind the storm
 * cases claimed in the same batch; then the older case; then outbox order.
 */
export function groupByCase(batch: readonly OutboxRecord[]): OutboxRecord[][] {
  const byCase = new Map<string, OutboxRecord[]>();
  for (const record of [...batch].sort((a, b) => a.seq - b.seq)) {
    const list = byCase.get(chainKey(record));
    if (list) list.push(record);
    else byCase.set(chainKey(record), [record]);
  }
  const rankOf = (chain: OutboxRecord[]) => {
    const first = deliveryRank(chain[0]!);
    return { ...first, lane: Math.max(...chain.map((r) => deliveryRank(r).lane)) };
  };
  return [...byCase.values()]
    .map((chain) => ({ chain, rank: rankOf(chain) }))
    .sort((a, b) => compareDelivery(a.rank, b.rank))
    .map(({ chain }) => chain);
}
