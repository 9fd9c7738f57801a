import type { MigrationProgress } from '../../../core/ports/backend.js';
import { resolve } from 'node:path';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { pgliteSqlClient } from '../sql/sql-client.js';
import { SqlCaseStore } from '../sql/sql-case-store.js';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.js';
import { DEFAULT_PGLITE_DATA_DIR } from './data-dir-create.js';
import { isUrl, openPglite } from './pglite-settings.js';

export { DEFAULT_PGLITE_DATA_DIR };

export interface PgliteCaseStoreOptions {
  /** Told before and after each pending migration runs (progress output). */
  onMigration?: MigrationProgress;
  /** Data directory (created if missing); `memory://` keeps everything in memory. Default `./.opsloop/data`. */
  dataDir?: string;
  /** An instance the caller opened (and will close); the store then does not close it. */
  db?: PGlite;
  /** Folder of migration files; defaults to `<repo>/migrations`. */
  migrationsDir?: string;
  /** PGlite extensions to load at construction (e.g. `{ vector }` from @electric-sql/pglite-pgvector). */
  extensions?: PGliteOptions['extensions'];
  /** Told when a stale lock on the data directory (a dead PID on this host) is taken over. Default: stderr. */
  warn?: (line: string) => void;
}

/**
 * The embedded store: PostgreSQL running in-process (PGlite), the default when no database URL
 * is configured. `db` is the one PGlite instance; it can also be served to other clients (e.g.
 * Agenda) through @electric-sql/pglite-socket. PGlite has a single connection: transactions
 * queue on its mutex, so never call the store from inside one of its own transactions.
 */
export class PgliteCaseStore extends SqlCaseStore {
  readonly db: PGlite;
  /** Absolute data directory, or the `memory://`-style URL given. */
  readonly dataDir: string;

  constructor(options: PgliteCaseStoreOptions = {}) {
    const dataDir = resolveDataDir(options.dataDir ?? DEFAULT_PGLITE_DATA_DIR);
    const ownsConnection = !options.db;
    // One process per data directory: the lock is taken before PGlite touches the files
    // (DataDirLockedError when a live process holds it). See data-dir-lock.ts.
    const lock: DataDirLock | null = options.db || isUrl(dataDir) ? null : acquireDataDirLock(dataDir, options.warn ? { warn: options.warn } : {});
    let db: PGlite;
    try {
      db = options.db ?? openPglite(dataDir, options.extensions);
    } catch (err) {
      lock?.release();
      throw err;
    }
    super({
      name: 'pglite',
      client: pgliteSqlClient(db),
      ownsConnection,
      open: () => db.waitReady,
      shutdown: async () => {
        try {
          if (!db.closed) await db.close();
        } finally {
          lock?.release();
        }
      },
      ...(options.migrationsDir ? { migrationsDir: options.migrationsDir } : {}),
      ...(options.onMigration ? { onMigration: options.onMigration } : {}),
    });
    this.db = db;
    this.dataDir = options.db ? (options.db.dataDir ?? dataDir) : dataDir;
  }
}

/** Create the embedded store; call `connect()` (or any method) to open it and apply migrations. */
export function createPgliteCaseStore(options: PgliteCaseStoreOptions = {}): PgliteCaseStore {
  return new PgliteCaseStore(options);
}

function resolveDataDir(dataDir: string): string {
  return isUrl(dataDir) ? dataDir : resolve(dataDir);
}
