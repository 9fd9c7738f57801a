import type { Db } from 'mongodb';
import { outboxPriorityOf } from '../../core/outbox/priority.js';
import type { MongoMigration } from './migration.js';

/**
 * Mongo schema, version 80: the outbox priority lane, mirroring migrations/0080_outbox_priority.sql.
 * Outbox documents gain `priority` (core/outbox/priority.ts; the same for every message of a case)
 * and the relay claims by `{ priority: -1, seq: 1 }` through the partial index
 * `outbox_claim`. Unpublished documents written before get their case's priority, so a case with
 * messages on both sides of the upgrade keeps its order (a missing field would sort below 0).
 * The version-1 validator does not forbid extra fields, so no collMod is needed.
 */
export const migration0080: MongoMigration = {
  version: 80,
  name: 'outbox_priority',
  async up(db: Db): Promise<void> {
    const outbox = db.collection<{ _id: string; key: string; pending?: true; priority?: number }>('outbox');
    const cases = db.collection<{ _id: string; requester?: string | null; severity?: number }>('ops_case');
    const keys = await outbox.distinct('key', { pending: true, priority: { $exists: false } });
    for (let i = 0; i < keys.length; i += 500) {
      const chunk = keys.slice(i, i + 500);
      const found = await cases.find({ _id: { $in: chunk } }, { projection: { requester: 1, severity: 1 } }).toArray();
      const byPriority = new Map<number, string[]>();
      for (const c of found) {
        const p = outboxPriorityOf({ requester: c.requester ?? null, severity: c.severity ?? 3 });
        byPriority.set(p, [...(byPriority.get(p) ?? []), c._id]);
      }
      for (const [priority, ids] of byPriority) {
        await outbox.updateMany({ pending: true, priority: { $exists: false }, key: { $in: ids } }, { $set: { priority } });
      }
    }
    await outbox.updateMany({ pending: true, priority: { $exists: false } }, { $set: { priority: 0 } });
    await outbox.createIndex(
      { pending: 1, priority: -1, seq: 1 },
      { name: 'outbox_claim', partialFilterExpression: { pending: true } },
    );
  },
};
