import type { MigrationProgress, OpsloopBackend } from '../../core/ports/backend.js';
import { openPostgresBackend } from './postgres/postgres-backend.js';
import { openPgliteWorkerBackend } from './pglite/pglite-worker-store.js';

import { DEFAULT_PGLITE_DATA_DIR } from './pglite/data-dir-create.js';

export { DEFAULT_PGLITE_DATA_DIR };

/** Which database to open; opsloop's Config fits as it is. */
export interface BackendConfig {
  /** PGlite data directory (used when neither URL is set). */
  dataDir?: string | undefined;
  /** Where PGlite runs: `worker` (a worker thread, the default) or `main` (in-process). */
  pgliteThread?: 'worker' | 'main' | undefined;
  /** PostgreSQL server URL (DATABASE_URL). */
  databaseUrl?: string | undefined;
  /** MongoDB URL (MONGODB_URI); wins over databaseUrl. */
  mongodbUri?: string | undefined;
  /** MongoDB database name (default: the one in the URI, else `opsloop`). */
  mongodbDb?: string | undefined;
  /** Set when semantic retrieval is configured (OPENAI_EMBEDDINGS_MODEL): embedded PGlite then loads pgvector. */
  openaiEmbeddingsModel?: string | undefined;
  /** Told before and after each pending migration runs (`npm run migrate` prints progress from it). */
  onMigration?: MigrationProgress | undefined;
}

/**
 * THE place that picks the database: MongoDB when a Mongo URI is set, else the PostgreSQL server
 * when a database URL is set, else embedded PGlite. Returns the backend not yet connected (PGlite's
 * data directory is locked already). A new database is one more branch here and one folder in
 * adapters/store/ exporting its OpsloopBackend (see README, "Stores").
 */
export async function openBackend(config: BackendConfig = {}): Promise<OpsloopBackend> {
  const progress = config.onMigration ? { onMigration: config.onMigration } : {};
  if (config.mongodbUri) {
    // Loaded lazily: the mongo driver is only needed when MongoDB is configured.
    const { openMongoBackend } = await import('./mongo/mongo-backend.js');
    return openMongoBackend({ uri: config.mongodbUri, ...(config.mongodbDb ? { dbName: config.mongodbDb } : {}), ...progress });
  }
  if (config.databaseUrl) return openPostgresBackend({ url: config.databaseUrl, ...progress });
  // Semantic retrieval on the embedded store needs pgvector loaded when PGlite starts.
  if ((config.pgliteThread ?? 'main') === 'worker') {
    return openPgliteWorkerBackend({
      dataDir: config.dataDir ?? DEFAULT_PGLITE_DATA_DIR, ...(config.openaiEmbeddingsModel ? { extensions: ['vector'] } : {}), ...progress,
    });
  }
  // Loaded lazily: PGlite's module costs ~40 MB RSS in a process that uses a server or the worker (bench:memory).
  const { openPgliteBackend } = await import('./pglite/pglite-backend.js');
  const extensions = config.openaiEmbeddingsModel ? { vector: (await import('@electric-sql/pglite-pgvector')).vector } : undefined;
  return openPgliteBackend({ ...(config.dataDir ? { dataDir: config.dataDir } : {}), ...(extensions ? { extensions } : {}), ...progress });
}
