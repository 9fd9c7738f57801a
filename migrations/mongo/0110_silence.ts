import type { Db } from 'mongodb';
import { ensureCollection, type MongoMigration } from './migration.js';

/**
 * Mongo schema, version 110: the `silence` collection mirroring migrations/0110_silence.sql
 * (`_id` is the silence id). Indexes: the silences not yet ended by end time (the suppressor and
 * the expiry job), and newest first (lists). Idempotent: create-if-missing and named indexes.
 */
export const migration0110: MongoMigration = {
  version: 110,
  name: 'silence',
  async up(db: Db): Promise<void> {
    await ensureCollection(db, 'silence');
    const silences = db.collection('silence');
    await silences.createIndex({ ends_at: 1 }, { name: 'silence_live', partialFilterExpression: { ended_at: null } });
    await silences.createIndex({ created_at: -1, _id: -1 }, { name: 'silence_created' });
  },
};
