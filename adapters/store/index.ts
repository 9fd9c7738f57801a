import type { CaseStore } from '../../core/ports/case-store.js';
import { createPgliteCaseStore } from './pglite/pglite-case-store.js';
import { createPostgresCaseStore } from './postgres/postgres-case-store.js';

export { createPgliteCaseStore, PgliteCaseStore, DEFAULT_PGLITE_DATA_DIR } from './pglite/pglite-case-store.js';
export { createPostgresCaseStore, PostgresCaseStore } from './postgres/postgres-case-store.js';
export { SqlCaseStore } from './sql/sql-case-store.js';
export { applySqlMigrations } from './sql/sql-migrate.js';
export { tokenStoreFor } from './token-store-factory.js';

export interface CaseStoreConfig {
  /** PGlite data directory (used when no URL is set). */
  dataDir?: string;
  /** PostgreSQL server URL (DATABASE_URL). */
  databaseUrl?: string;
  /** MongoDB URL (MONGODB_URI); wins over databaseUrl. */
  mongodbUri?: string;
  /** MongoDB database name (default: the one in the URI). */
  mongodbDb?: string;
  /** PGlite extensions to load (e.g. pgvector when semantic retrieval is configured). */
  pgliteExtensions?: import('./pglite/pglite-case-store.js').PgliteCaseStoreOptions['extensions'];
}

/**
 * Pick the store from configuration: MongoDB when a Mongo URI is set, else the PostgreSQL
 * server when a database URL is set, else embedded PGlite. The store is not connected yet.
 */
export async function createCaseStore(config: CaseStoreConfig = {}): Promise<CaseStore> {
  if (config.mongodbUri) {
    // Loaded lazily: the mongo driver is only needed when MongoDB is configured.
    const { createMongoCaseStore } = await import('./mongo/mongo-case-store.js');
    return createMongoCaseStore({ uri: config.mongodbUri, ...(config.mongodbDb ? { dbName: config.mongodbDb } : {}) });
  }
  if (config.databaseUrl) return createPostgresCaseStore({ url: config.databaseUrl });
  return createPgliteCaseStore({ ...(config.dataDir ? { dataDir: config.dataDir } : {}), ...(config.pgliteExtensions ? { extensions: config.pgliteExtensions } : {}) });
}
