import type { PGlite, Transaction } from '@electric-sql/pglite';
import type pg from 'pg';

/** Rows of one statement, plus how many rows it changed (INSERT/UPDATE/DELETE). */
export interface SqlResult<T> {
  rows: T[];
  rowCount: number;
}

export interface QueryOptions {
  /** Prepared-statement name, unique per statement text. */
  name?: string;
}

/** Something SQL can be sent to: a connection, or the connection a transaction holds. */
export interface SqlQueryable {
  /**
   * One statement with `$1…` parameters. A `name` makes it a prepared statement on a PostgreSQL
   * server connection (parsed and planned once per connection, then only bound and executed):
   * give one only to hot statements whose text never changes. PGlite ignores it.
   */
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<SqlResult<T>>;
  /** Several statements separated by `;`, no parameters (migrations). */
  exec(sql: string): Promise<void>;
}

/**
 * The little the SQL stores need from a driver, so PGlite and `pg` share one store.
 * Statements outside `transaction` run in autocommit.
 */
export interface SqlClient extends SqlQueryable {
  /** Run `fn` in BEGIN … COMMIT; ROLLBACK when it throws (the error is rethrown). */
  transaction<T>(fn: (q: SqlQueryable) => Promise<T>): Promise<T>;
}

/**
 * A SqlClient over one PGlite instance. PGlite has one connection; `db.transaction` holds its
 * transaction mutex, so concurrent transactions (and autocommit queries) queue instead of
 * interleaving their statements.
 */
export function pgliteSqlClient(db: PGlite): SqlClient {
  return {
    query: (sql, params) => pgliteQuery(db, sql, params),
    exec: async (sql) => { await db.exec(sql); },
    // PGlite runs every statement on this thread, and a transaction's statements follow each other
    // in one microtask chain: yield once before each transaction so waiting I/O (an HTTP request
    // to ack) gets in first (bench:clicks).
    transaction: async (fn) => {
      await new Promise((resolve) => setImmediate(resolve));
      return db.transaction((tx) => fn({
        query: (sql, params) => pgliteQuery(tx, sql, params),
        exec: async (sql) => { await tx.exec(sql); },
      }));
    },
  };
}

async function pgliteQuery<T>(target: PGlite | Transaction, sql: string, params?: readonly unknown[]): Promise<SqlResult<T>> {
  const result = await target.query<T>(sql, params ? [...params] : undefined);
  return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
}

/**
 * A SqlClient over a `pg.Pool`. A transaction checks out one client, sends BEGIN/COMMIT (or
 * ROLLBACK) on it and always releases it; a client whose connection broke is destroyed, not
 * returned to the pool.
 */
export function pgPoolSqlClient(pool: pg.Pool): SqlClient {
  return {
    query: (sql, params, options) => pgQuery(pool, sql, params, options),
    exec: async (sql) => { await pool.query(sql); },
    transaction: async (fn) => {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        try {
          const value = await fn({
            query: (sql, params, options) => pgQuery(client, sql, params, options),
            exec: async (sql) => { await client.query(sql); },
          });
          await client.query('COMMIT');
          return value;
        } catch (error) {
          await client.query('ROLLBACK').catch((rollbackError: unknown) => {
            broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
          });
          throw error;
        }
      } catch (error) {
        broken ??= isBrokenConnection(error) ? (error as Error) : undefined;
        throw error;
      } finally {
        client.release(broken);
      }
    },
  };
}

async function pgQuery<T>(target: pg.Pool | pg.PoolClient, sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<SqlResult<T>> {
  const values = params ? [...params] : undefined;
  const result = options?.name
    ? await target.query({ name: options.name, text: sql, ...(values ? { values } : {}) })
    : await target.query(sql, values);
  return { rows: result.rows as T[], rowCount: result.rowCount ?? result.rows.length };
}

const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
]);
const CONNECTION_ERROR_MESSAGES = [
  /connection terminated/i,
  /connection (?:error|ended|closed)/i,
  /timeout exceeded when trying to connect/i,
  /not queryable/i,
  /cannot use a pool after calling end/i,
  /client was closed/i,
  /pglite is closed/i,
  /database is closed/i,
];

/** Whether `error` says the database cannot be reached (rather than that a statement failed). */
export function isBrokenConnection(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (CONNECTION_ERROR_CODES.has(code) || code.startsWith('08'))) return true;
  const nested = (error as { errors?: unknown }).errors; // AggregateError from net (IPv4 + IPv6 refused)
  if (Array.isArray(nested) && nested.some(isBrokenConnection)) return true;
  const message = (error as { message?: unknown }).message;
  return typeof message === 'string' && CONNECTION_ERROR_MESSAGES.some((pattern) => pattern.test(message));
}
