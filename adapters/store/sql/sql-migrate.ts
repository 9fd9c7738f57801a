import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MigrationProgress } from '../../../core/ports/backend.js';
import type { SqlClient } from './sql-client.js';

/** `<repo>/migrations`, found from this file so it works from any working directory. */
export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations/', import.meta.url));

/** Any constant works; it only has to be the same for every opsloop process. */
const MIGRATION_LOCK_KEY = 7_310_042_001;
const MIGRATION_FILE = /^(\d{4})_[A-Za-z0-9_-]+\.sql$/;

export interface SqlMigration {
  /** File name without `.sql`, e.g. `0001_init`; recorded in schema_migrations. */
  version: string;
  sql: string;
}

/** The migration files of `dir`, in version order. */
export async function readSqlMigrations(dir = DEFAULT_MIGRATIONS_DIR): Promise<SqlMigration[]> {
  const names = (await readdir(dir)).filter((name) => MIGRATION_FILE.test(name)).sort();
  return Promise.all(names.map(async (name) => ({
    version: name.slice(0, -'.sql'.length),
    sql: await readFile(join(dir, name), 'utf8'),
  })));
}

/** A short hash of the migrations' contents (keys cached template databases in tests). */
export async function sqlMigrationsFingerprint(dir = DEFAULT_MIGRATIONS_DIR): Promise<string> {
  const hash = createHash('sha256');
  for (const m of await readSqlMigrations(dir)) hash.update(m.version).update('\0').update(m.sql).update('\0');
  return hash.digest('hex').slice(0, 16);
}

/**
 * Apply the migrations not yet recorded in schema_migrations, each in its own transaction.
 * Every transaction first takes a transaction-scoped advisory lock, so two processes starting
 * at once apply each file exactly once (the second waits, then sees it recorded).
 * Returns the versions this call applied.
 */
export async function applySqlMigrations(client: SqlClient, dir = DEFAULT_MIGRATIONS_DIR, onProgress?: MigrationProgress): Promise<string[]> {
  const applied: string[] = [];
  const migrations = await readSqlMigrations(dir);
  for (const [i, migration] of migrations.entries()) {
    const step = { version: migration.version, index: i + 1, total: migrations.length };
    const started = Date.now();
    const didApply = await client.transaction(async (q) => {
      await q.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
      await q.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version text PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const done = await q.query('SELECT 1 FROM schema_migrations WHERE version = $1', [migration.version]);
      if (done.rows.length > 0) return false;
      onProgress?.({ ...step, phase: 'start' });
      await q.exec(migration.sql);
      await q.query('INSERT INTO schema_migrations (version) VALUES ($1)', [migration.version]);
      return true;
    });
    if (didApply) {
      applied.push(migration.version);
      onProgress?.({ ...step, phase: 'done', ms: Date.now() - started });
    }
  }
  return applied;
}
