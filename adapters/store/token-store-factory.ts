import type { CaseStore } from '../../core/ports/case-store.js';
import type { TokenStore } from '../../core/ports/token-store.js';
import { SqlCaseStore } from './sql/sql-case-store.js';
import { SqlTokenStore } from './sql/sql-token-store.js';

/**
 * The API-token store in the same database as `store`: SQL for PGlite and the PostgreSQL server,
 * Mongo for MongoDB. Throws for a store it does not know.
 */
export async function tokenStoreFor(store: CaseStore): Promise<TokenStore> {
  if (store instanceof SqlCaseStore) return new SqlTokenStore(store);
  if (store.name === 'mongodb') {
    // Loaded lazily: the mongo driver is only needed when MongoDB is configured.
    const { MongoCaseStore } = await import('./mongo/mongo-case-store.js');
    const { MongoTokenStore } = await import('./mongo/mongo-token-store.js');
    if (store instanceof MongoCaseStore) return new MongoTokenStore(store);
  }
  throw new Error(`no token store for the ${store.name} case store`);
}
