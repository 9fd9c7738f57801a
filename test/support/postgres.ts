import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openPostgresBackend, type PostgresServerBackend } from '../../adapters/store/postgres/postgres-backend.js';
import type { PostgresCaseStore } from '../../adapters/store/postgres/postgres-case-store.js';

/** Why server tests are skipped when TEST_DATABASE_URL is not set (print it with the skip). */
export const POSTGRES_SKIP_REASON = 'TEST_DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/test); PostgreSQL server tests skipped';

/** The server tests' admin URL, or null when they should be skipped. */
export function testDatabaseUrl(): string | null {
  return process.env.TEST_DATABASE_URL?.trim() || null;
}

/** `url` with its database name replaced. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = '/' + database;
  return parsed.toString();
}

/** Run `fn` on a short-lived connection to the admin database. */
async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: testDatabaseUrl()! });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * A backend on a fresh database of the TEST_DATABASE_URL server (created here, migrated by
 * `connect`), or null when TEST_DATABASE_URL is unset: the caller skips with POSTGRES_SKIP_REASON.
 */
export async function createTestPostgresBackend(options: { max?: number } = {}): Promise<PostgresServerBackend | null> {
  const adminUrl = testDatabaseUrl();
  if (!adminUrl) return null;
  const database = `opsloop_t_${randomBytes(6).toString('hex')}`;
  await withAdmin((client) => client.query(`CREATE DATABASE ${database}`));
  const backend = openPostgresBackend({ url: withDatabase(adminUrl, database), max: options.max ?? 20 });
  try {
    await backend.connect();
  } catch (error) {
    await dropDatabase(database, backend.cases);
    throw error;
  }
  return backend;
}

/** The case store of a fresh test backend, or null when TEST_DATABASE_URL is unset. */
export async function createTestPostgresStore(options: { max?: number } = {}): Promise<PostgresCaseStore | null> {
  return (await createTestPostgresBackend(options))?.cases ?? null;
}

/** Disconnect the backend and drop its database. */
export function cleanupTestPostgresBackend(backend: PostgresServerBackend | null): Promise<void> {
  return cleanupTestPostgresStore(backend?.cases ?? null);
}

/** Close the store and drop its database. */
export async function cleanupTestPostgresStore(store: PostgresCaseStore | null): Promise<void> {
  if (!store) return;
  const database = databaseOf(store);
  await dropDatabase(database, store);
}

function databaseOf(store: PostgresCaseStore): string {
  const url = store.pool.options.connectionString;
  if (!url) throw new Error('the test store has no connection string');
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

async function dropDatabase(database: string, store: PostgresCaseStore): Promise<void> {
  if (!/^opsloop_t_[0-9a-f]+$/.test(database)) throw new Error(`refusing to drop ${database}: not a test database`);
  await store.close();
  await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
}
