import { MongoServerError, type Db } from 'mongodb';
import type { MongoMigration } from './migration.js';

/**
 * Mongo schema, version 50: the Librarian's collections mirroring migrations/0050_kb.sql —
 * kb_doc (_id = doc id) and kb_chunk (_id = chunk id, looked up by doc_id). Ranking is BM25
 * in-process, so no text index is needed. Idempotent: create-if-missing and named indexes.
 */
async function ensureCollection(db: Db, name: string): Promise<void> {
  try {
    await db.createCollection(name);
  } catch (error) {
    if (!(error instanceof MongoServerError && error.codeName === 'NamespaceExists')) throw error;
  }
}

export const migration0050: MongoMigration = {
  version: 50,
  name: 'kb',
  async up(db: Db): Promise<void> {
    for (const name of ['kb_doc', 'kb_chunk']) await ensureCollection(db, name);
    await db.collection('kb_doc').createIndex({ kind: 1 }, { name: 'kb_doc_kind' });
    await db.collection('kb_chunk').createIndex({ doc_id: 1, ord: 1 }, { name: 'kb_chunk_doc' });
  },
};
