import type { CaseStore } from '../../core/ports/case-store.js';
import type { EvidenceStore } from '../../core/ports/evidence-store.js';
import { SqlCaseStore } from './sql/sql-case-store.js';
import { SqlEvidenceStore } from './sql/sql-evidence-store.js';

/**
 * The evidence store on the same backend (and the same transactions) as `store`: SQL for PGlite
 * and the PostgreSQL server, Mongo for MongoDB. Throws for a store it does not know.
 */
export async function evidenceStoreFor(store: CaseStore): Promise<EvidenceStore> {
  if (store instanceof SqlCaseStore) return new SqlEvidenceStore(store);
  if (store.name === 'mongodb') {
    // Loaded lazily: the mongo driver is only needed when MongoDB is configured.
    const { MongoCaseStore } = await import('./mongo/mongo-case-store.js');
    const { MongoEvidenceStore } = await import('./mongo/mongo-evidence-store.js');
    if (store instanceof MongoCaseStore) return new MongoEvidenceStore(store);
  }
  throw new Error(`no evidence store for the ${store.name} case store`);
}
