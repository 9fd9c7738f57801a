import type { MigrationProgress } from '../../../core/ports/backend.js';
import pg from 'pg';
import { pgPoolSqlClient } from '../sql/sql-client.js';
import { SqlCaseStore } from '../sql/sql-case-store.js';

export interface PostgresCaseStoreOptions {
  /** Told before and after each pending migration runs (progress output). */
  onMigration?: MigrationProgress;
  /** postgres://user@host:port/db */
  url: string;
  /** A pool the caller owns (and will end); `url` and `max` are then ignored. Its transactions pipeline only if its clients are in pipeline mode. */
  pool?: pg.Pool;
  /** Pool size (default 10). */
  max?: number;
  /** Folder of migration files; defaults to `<repo>/migrations`. */
  migrationsDir?: string;
}

/** How long a new connection may take before the store answers OPS_STORE_UNAVAILABLE. */
const CONNECT_TIMEOUT_MS = 5_000;

/** The store on a PostgreSQL server (DATABASE_URL), same SQL and migrations as PGlite. */
export class PostgresCaseStore extends SqlCaseStore {
  readonly pool: pg.Pool;

  constructor(options: PostgresCaseStoreOptions) {
    const pool = options.pool ?? new pg.Pool({
      connectionString: options.url,
      max: options.max ?? 10,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      // A transaction pipelines its statements (sql-client.ts `pipelinedTransaction`); a client
      // used by one caller at a time, as pool clients are, behaves as without it.
      pipeline: true,
    });
    // An idle client losing its server (restart, admin shutdown) emits 'error' on the pool;
    // unhandled it would crash the process. The next query reports it as OPS_STORE_UNAVAILABLE.
    pool.on('error', () => undefined);
    // A client checked out of the pool (inside a transaction, between two statements) has no pool
    // listener: the server's "terminating connection" message then became an unhandled 'error' and
    // killed opsloop (found by the database-down fault test). Its next statement fails instead,
    // and the transaction destroys the broken client.
    pool.on('connect', (client) => { client.on('error', () => undefined); });
    super({
      name: 'postgres',
      client: pgPoolSqlClient(pool),
      ownsConnection: !options.pool,
      open: async () => { await pool.query('SELECT 1'); },
      shutdown: () => pool.end(),
      ...(options.migrationsDir ? { migrationsDir: options.migrationsDir } : {}),
      ...(options.onMigration ? { onMigration: options.onMigration } : {}),
    });
    this.pool = pool;
  }
}

/** Create the server store; call `connect()` (or any method) to check the server and apply migrations. */
export function createPostgresCaseStore(options: PostgresCaseStoreOptions): PostgresCaseStore {
  return new PostgresCaseStore(options);
}
