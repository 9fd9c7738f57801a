import { MongoServerError, type Db } from 'mongodb';
import type { MongoMigration } from './migration.js';

/**
 * Mongo schema, version 30: the Sensor's collections mirroring migrations/0030_evidence.sql —
 * evidence (unique dedupe_key), alert_episode (_id = fingerprint@startsAt; group and correlation
 * look-ups), ingest_payload, and ingest_lock (documents written to serialise one alert group).
 * Idempotent: create-if-missing and named indexes.
 */
async function ensureCollection(db: Db, name: string): Promise<void> {
  try {
    await db.createCollection(name);
  } catch (error) {
    if (!(error instanceof MongoServerError && error.codeName === 'NamespaceExists')) throw error;
  }
}

export const migration0030: MongoMigration = {
  version: 30,
  name: 'evidence',
  async up(db: Db): Promise<void> {
    for (const name of ['evidence', 'alert_episode', 'ingest_payload', 'ingest_lock']) await ensureCollection(db, name);
    await db.collection('evidence').createIndex({ dedupe_key: 1 }, { unique: true, name: 'evidence_dedupe_key' });
    await db.collection('evidence').createIndex({ case_id: 1, created_at: 1 }, { name: 'evidence_case' });
    await db.collection('alert_episode').createIndex({ group_key: 1, last_seen: -1 }, { name: 'alert_episode_group' });
    await db.collection('alert_episode').createIndex({ tenant: 1, correlation_key: 1, last_seen: -1 }, { name: 'alert_episode_correlation' });
    await db.collection('alert_episode').createIndex({ case_id: 1 }, { name: 'alert_episode_case' });
  },
};
