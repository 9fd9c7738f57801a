import type { Db } from 'mongodb';
import { FACT_TO_EVENT } from '../../core/schemas/outbox.js';
import type { MongoMigration } from './migration.js';

/**
 * Mongo schema, version 90: outbox consumer groups, mirroring migrations/0090_outbox_consumer_group.sql
 * (core/outbox/consumer-groups.ts). Documents gain `group`; a message's side copy keeps `_id` = the
 * message id, its loop copy is `<id>:loop`. Waiting commands become loop copies, waiting facts get a
 * loop copy (with a fresh seq after every existing one, in seq order), and the claim index leads
 * with the group.
 */
export const migration0090: MongoMigration = {
  version: 90,
  name: 'outbox_consumer_group',
  async up(db: Db): Promise<void> {
    type Doc = { _id: string; seq: number; topic: string; group?: string; pending?: true; [k: string]: unknown };
    const outbox = db.collection<Doc>('outbox');
    const counters = db.collection<{ _id: string; value: number }>('counters');
    await outbox.updateMany({ group: { $exists: false }, topic: { $regex: '^cmd\\.' } }, { $set: { group: 'loop' } });
    await outbox.updateMany({ group: { $exists: false } }, { $set: { group: 'side' } });
    const facts = await outbox.find({ pending: true, group: 'side', topic: { $in: Object.keys(FACT_TO_EVENT) } }).sort({ seq: 1 }).toArray();
    for (const fact of facts) {
      const counter = await counters.findOneAndUpdate({ _id: 'outbox' }, { $inc: { value: 1 } }, { upsert: true, returnDocument: 'after' });
      const seq = counter?.value ?? 1;
      await outbox.updateOne(
        { _id: `${fact._id}:loop` },
        { $setOnInsert: { ...fact, _id: `${fact._id}:loop`, seq, group: 'loop', lease_owner: null, lease_until: null, attempts: 0 } },
        { upsert: true },
      );
    }
    await outbox.createIndex(
      { pending: 1, group: 1, priority: -1, seq: 1 },
      { name: 'outbox_group_claim', partialFilterExpression: { pending: true } },
    );
    await outbox.dropIndex('outbox_claim').catch(() => undefined);
  },
};
