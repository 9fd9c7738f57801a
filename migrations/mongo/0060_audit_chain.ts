import type { Db } from 'mongodb';
import type { MongoMigration } from './migration.js';

/**
 * Mongo schema, version 60: the tamper-evident timeline, mirroring migrations/0060_audit_chain.sql.
 * Timeline documents gain `prev_hash` and `hash`, case documents `timeline_head`; the version-1
 * validators do not forbid extra fields, so documents written before keep working ("before the
 * chain") and no collMod is needed. The audit export reads a time range: one index for it.
 */
export const migration0060: MongoMigration = {
  version: 60,
  name: 'audit_chain',
  async up(db: Db): Promise<void> {
    await db.collection('case_timeline').createIndex({ created_at: 1, _id: 1 }, { name: 'case_timeline_created' });
  },
};
