import type { ConsumerGroup } from '../../../core/outbox/consumer-groups.js';
import type { OutboxStore } from '../../../core/ports/case-store.js';
import type { OutboxRecord } from '../../../core/schemas/outbox.js';
import type { MongoCollections } from './mongo-collections.js';
import { docToOutboxRecord, guarded, pendingInGroups } from './mongo-mapping.js';

/**
 * Leases use the server's clock (`$$NOW`), so relays on machines with skewed clocks agree on
 * when a lease has expired.
 */
export class MongoOutboxStore implements OutboxStore {
  constructor(private readonly c: MongoCollections) {}

  /**
   * One `findOneAndUpdate` per message: each is atomic on its document, and a relay that loses a
   * race for a message has the filter re-evaluated by the server and moves on to the next one,
   * so no message is handed to two owners at once.
   */
  claim(owner: string, leaseMs: number, limit: number, groups: readonly ConsumerGroup[]): Promise<OutboxRecord[]> {
    const inGroups = pendingInGroups(groups);
    if (!inGroups) return Promise.resolve([]);
    return guarded(async () => {
      const claimed: OutboxRecord[] = [];
      while (claimed.length < limit) {
        const doc = await this.c.outbox.findOneAndUpdate(
          // Aggregation order puts null (and a missing field) below every date, so this also
          // matches messages that were never leased. `$lte`: a lease ends at `lease_until`, and
          // `release(…, 0)` makes a message claimable within the same millisecond.
          { ...inGroups, published_at: null, $expr: { $lte: ['$lease_until', '$$NOW'] } },
          [{
            $set: {
              lease_owner: owner,
              lease_until: { $add: ['$$NOW', leaseMs] },
              attempts: { $add: [{ $ifNull: ['$attempts', 0] }, 1] },
            },
          }],
          // The priority lane first (index outbox_claim); one case's messages share a priority, so
          // they still come out in seq order.
          { sort: { priority: -1, seq: 1 }, returnDocument: 'after' },
        );
        if (!doc) break;
        claimed.push(docToOutboxRecord(doc));
      }
      return claimed;
    });
  }

  markPublished(seqs: readonly number[], owner: string): Promise<void> {
    if (seqs.length === 0) return Promise.resolve();
    return guarded(async () => {
      await this.c.outbox.updateMany(
        { seq: { $in: [...seqs] }, lease_owner: owner, pending: true },
        { $set: { published_at: new Date(), lease_until: null }, $unset: { pending: '' } },
      );
    });
  }

  /** Shortens the lease to `retryAfterMs` from now; the owner stays until someone claims it again. */
  release(seqs: readonly number[], owner: string, retryAfterMs: number): Promise<void> {
    if (seqs.length === 0) return Promise.resolve();
    return guarded(async () => {
      await this.c.outbox.updateMany(
        { seq: { $in: [...seqs] }, lease_owner: owner, pending: true },
        [{ $set: { lease_until: { $add: ['$$NOW', Math.max(0, retryAfterMs)] } } }],
      );
    });
  }

  backlog(groups?: readonly ConsumerGroup[]): Promise<number> {
    if (!groups) return guarded(() => this.c.outbox.countDocuments({ pending: true }));
    const inGroups = pendingInGroups(groups);
    return inGroups ? guarded(() => this.c.outbox.countDocuments(inGroups)) : Promise.resolve(0);
  }
}
