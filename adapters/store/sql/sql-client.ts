import type { PGlite, Transaction } from '@electric-sql/pglite';
import type pg from 'pg';
import { pgliteSession } from '../pglite/pglite-session.js';

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
  /**
   * A write whose result the caller does not need. When `pipelines`, it is sent at once and not
   * waited for: it travels with the statements after it (and the COMMIT), and its failure is
   * reported by the next `query` or by the commit, which then rolls back. Otherwise it runs like
   * `query`.
   */
  send(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<void>;
  /** Whether `send` returns before the server answered (a transaction on a pg client in pipeline mode). */
  readonly pipelines: boolean;
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
  // Statements and transactions take turns with pglite-socket's clients on the one session (pglite-session.js).
  const session = pgliteSession(db);
  return {
    query: (sql, params) => session.run(() => pgliteQuery(db, sql, params)),
    send: async (sql, params) => { await session.run(() => pgliteQuery(db, sql, params)); },
    pipelines: false,
    exec: async (sql) => { await session.run(() => db.exec(sql)); },
    // PGlite runs every statement on this thread, and a transaction's statements follow each other
    // in one microtask chain: yield once before each transaction so waiting I/O (an HTTP request
    // to ack) gets in first (bench:clicks).
    transaction: async (fn) => {
      await new Promise((resolve) => setImmediate(resolve));
      return session.run(() => db.transaction((tx) => fn({
        query: (sql, params) => pgliteQuery(tx, sql, params),
        send: async (sql, params) => { await pgliteQuery(tx, sql, params); },
        pipelines: false,
        exec: async (sql) => { await tx.exec(sql); },
      })));
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
 * returned to the pool. On clients in pipeline mode (`pipeline: true`, as `PostgresCaseStore`
 * makes its pool) the transaction pipelines: see `pipelinedTransaction`.
 */
export function pgPoolSqlClient(pool: pg.Pool): SqlClient {
  return {
    query: (sql, params, options) => pgQuery(pool, sql, params, options),
    send: async (sql, params, options) => { await pgQuery(pool, sql, params, options); },
    pipelines: false,
    exec: async (sql) => { await pool.query(sql); },
    transaction: async (fn) => {
      const client = await pool.connect();
      let broken: Error | undefined;
      const rollback = (error: unknown) => rollbackAfter(client, error, (rollbackError) => { broken = rollbackError; });
      try {
        return await (client.pipeline ? pipelinedTransaction(client, fn, rollback) : awaitedTransaction(client, fn, rollback));
      } catch (error) {
        broken ??= isBrokenConnection(error) ? (error as Error) : undefined;
        throw error;
      } finally {
        client.release(broken);
      }
    },
  };
}

/** Rolls back after `error` and rethrows it. */
type Rollback = (error: unknown) => Promise<never>;

/** ROLLBACK, then rethrow `error`; a ROLLBACK that fails too is told to `onFailure` (the client is not fit for the pool). */
async function rollbackAfter(client: pg.PoolClient, error: unknown, onFailure: (rollbackError: Error) => void): Promise<never> {
  await client.query('ROLLBACK').catch((rollbackError: unknown) => {
    onFailure(rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError)));
  });
  throw error;
}

/** BEGIN, then each statement after the one before it answered, then COMMIT. */
async function awaitedTransaction<T>(client: pg.PoolClient, fn: (q: SqlQueryable) => Promise<T>, rollback: Rollback): Promise<T> {
  await client.query('BEGIN');
  try {
    const value = await fn({
      query: (sql, params, options) => pgQuery(client, sql, params, options),
      send: async (sql, params, options) => { await pgQuery(client, sql, params, options); },
      pipelines: false,
      exec: async (sql) => { await client.query(sql); },
    });
    await client.query('COMMIT');
    return value;
  } catch (error) {
    return rollback(error);
  }
}

/**
 * A transaction on a client in pipeline mode: BEGIN is sent with the first statement, `send`
 * writes go out without waiting, and COMMIT follows the last of them, so a transition (claim and
 * lock, then its one write) takes two round trips instead of four. The statements a tick sends
 * leave in one socket write. The server runs them in order; after a failed one it refuses the
 * rest (25P02) and COMMIT answers ROLLBACK, so the first failure, in the order sent, is the one
 * reported.
 */
async function pipelinedTransaction<T>(client: pg.PoolClient, fn: (q: SqlQueryable) => Promise<T>, rollback: Rollback): Promise<T> {
  const inFlight: Promise<unknown>[] = [];
  const corked = corkEachTick(client);
  const track = <R>(statement: () => Promise<R>): Promise<R> => {
    corked();
    const sent = statement();
    sent.catch(() => undefined); // reported by `settle`, in order
    inFlight.push(sent);
    return sent;
  };
  /** Wait for everything sent so far; throw the first failure. */
  const settle = async (): Promise<void> => {
    for (const sent of inFlight.splice(0)) await sent;
  };
  track(() => client.query('BEGIN'));
  try {
    const value = await fn({
      query: async <R>(sql: string, params?: readonly unknown[], options?: QueryOptions) => {
        const result = track(() => pgQuery<R>(client, sql, params, options));
        await settle();
        return result;
      },
      send: async (sql, params, options) => { track(() => pgQuery(client, sql, params, options)); },
      pipelines: true,
      exec: async (sql) => {
        track(() => client.query(sql));
        await settle();
      },
    });
    const commit = track(() => client.query('COMMIT'));
    await settle();
    const { command } = await commit;
    if (command !== 'COMMIT') throw new Error(`COMMIT answered ${command}: the transaction was rolled back`);
    return value;
  } catch (error) {
    await settle().catch(() => undefined);
    return rollback(error);
  }
}

/**
 * Cork the client's socket until the end of the current tick (once per tick), so the statements
 * sent in it leave in one write instead of one `writev` each.
 */
function corkEachTick(client: pg.PoolClient): () => void {
  const stream = (client as unknown as { connection?: { stream?: { cork?: () => void; uncork?: () => void } } }).connection?.stream;
  let corked = false;
  return () => {
    if (corked || !stream?.cork || !stream.uncork) return;
    corked = true;
    stream.cork();
    process.nextTick(() => {
      corked = false;
      stream.uncork!();
    });
  };
}

/**
 * The `{name, text}` of each named statement, as the prototype of the config a query is sent with.
 * node-postgres copies a config object's own properties with `Object.defineProperties` on every
 * query (a measurable share of a transition's CPU); a config with none of its own (the values go
 * as the second argument) makes that copy empty. A name seen with another text gets a plain
 * config, so node-postgres still refuses it as before.
 */
const namedStatements = new Map<string, Readonly<{ name: string; text: string }>>();

function namedConfig(name: string, text: string): { name: string; text: string } {
  let statement = namedStatements.get(name);
  if (!statement) {
    statement = Object.freeze({ name, text });
    namedStatements.set(name, statement);
  }
  return statement.text === text ? Object.create(statement) as { name: string; text: string } : { name, text };
}

async function pgQuery<T>(target: pg.Pool | pg.PoolClient, sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<SqlResult<T>> {
  const values = params ? [...params] : undefined;
  const result = options?.name
    ? await target.query(namedConfig(options.name, sql), values)
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
