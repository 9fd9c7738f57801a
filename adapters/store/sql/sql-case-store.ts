import { OpsError, isOpsError } from '../../../core/errors.js';
import type { MigrationProgress } from '../../../core/ports/backend.js';
import type { CaseQueries, CaseStore, CaseTx, OutboxStore } from '../../../core/ports/case-store.js';
import { SqlCaseQueries } from './sql-case-queries.js';
import { SqlCaseTx } from './sql-case-tx.js';
import { isBrokenConnection, type SqlClient, type SqlQueryable } from './sql-client.js';
import { applySqlMigrations } from './sql-migrate.js';
import { SqlOutboxStore } from './sql-outbox-store.js';

export interface SqlCaseStoreOptions {
  /** 'pglite' or 'postgres'. */
  name: string;
  client: SqlClient;
  ownsConnection: boolean;
  /** Opens the connection (before migrations). */
  open?: () => Promise<void>;
  /** Closes the connection; called by `close` only when the store owns it. */
  shutdown?: () => Promise<void>;
  /** Folder of migration files; defaults to `<repo>/migrations`. */
  migrationsDir?: string;
  /** Told before and after each pending migration runs (progress output). */
  onMigration?: MigrationProgress;
}

/**
 * The CaseStore for PostgreSQL, whichever way it is reached (PGlite in-process, or a server via
 * `pg`). Row locks (`SELECT … FOR UPDATE`) and the idempotency table's primary key serialise
 * concurrent writers; the outbox is leased with `FOR UPDATE SKIP LOCKED`.
 * Errors that mean "the database cannot be reached" become `OPS_STORE_UNAVAILABLE` (503).
 */
export class SqlCaseStore implements CaseStore {
  readonly name: string;
  readonly ownsConnection: boolean;
  readonly queries: CaseQueries;
  readonly outbox: OutboxStore;
  /**
   * Autocommit statements for add-on stores (chat, the simulator), with the same connect and error
   * mapping as `queries`.
   */
  readonly sql: SqlQueryable;
  protected readonly client: SqlClient;
  private readonly options: SqlCaseStoreOptions;
  private connecting: Promise<void> | null = null;
  private closed = false;
  /** Migration versions the last `connect` applied (see `migrate`). */
  private appliedOnOpen: string[] = [];

  constructor(options: SqlCaseStoreOptions) {
    this.options = options;
    this.name = options.name;
    this.ownsConnection = options.ownsConnection;
    this.client = options.client;
    const run = <T>(fn: (q: SqlQueryable) => Promise<T>) => this.run(fn);
    this.queries = new SqlCaseQueries(run);
    this.outbox = new SqlOutboxStore(run);
    this.sql = {
      query: (text, params, options) => this.run((q) => q.query(text, params, options)),
      send: (text, params, options) => this.run((q) => q.send(text, params, options)),
      pipelines: false,
      exec: (text) => this.run((q) => q.exec(text)),
    };
  }

  connect(): Promise<void> {
    if (this.closed) return Promise.reject(this.unavailable(new Error('the store is closed')));
    this.connecting ??= this.open().catch((error: unknown) => {
      this.connecting = null;
      throw this.mapError(error);
    });
    return this.connecting;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.connecting?.catch(() => undefined);
    if (this.ownsConnection) await this.options.shutdown?.();
  }

  transact<T>(work: (tx: CaseTx) => Promise<T>): Promise<T> {
    return this.transactSql((tx) => work(tx));
  }

  /**
   * `transact`, also handing `work` the transaction's own connection: for add-on stores (the
   * Sensor's evidence) whose writes must commit or roll back together with the case writes.
   */
  async transactSql<T>(work: (tx: CaseTx, q: SqlQueryable) => Promise<T>): Promise<T> {
    await this.connect();
    try {
      return await this.client.transaction(async (q) => {
        let rollbackRequested = false;
        const value = await work(new SqlCaseTx(q, () => { rollbackRequested = true; }), q);
        if (rollbackRequested) throw new RollbackRequested(value);
        return value;
      });
    } catch (error) {
      if (error instanceof RollbackRequested) return error.value as T;
      throw this.mapError(error);
    }
  }

  async ping(): Promise<void> {
    await this.run((q) => q.query('SELECT 1'));
  }

  /** Run autocommit reads for add-on stores, with the same connect and error mapping as `queries`. */
  runSql<T>(fn: (q: SqlQueryable) => Promise<T>): Promise<T> {
    return this.run(fn);
  }

  /** Connect (which applies pending migrations) and return the versions this store's connect applied. */
  async migrate(): Promise<string[]> {
    await this.connect();
    return [...this.appliedOnOpen];
  }

  private async open(): Promise<void> {
    await this.options.open?.();
    this.appliedOnOpen = await applySqlMigrations(this.client, this.options.migrationsDir, this.options.onMigration);
  }

  /** Run one autocommit statement (or a few) after connecting, mapping connection errors. */
  private async run<T>(fn: (q: SqlQueryable) => Promise<T>): Promise<T> {
    await this.connect();
    try {
      return await fn(this.client);
    } catch (error) {
      throw this.mapError(error);
    }
  }

  private mapError(error: unknown): unknown {
    if (isOpsError(error)) return error;
    if (this.closed || isBrokenConnection(error)) return this.unavailable(error);
    return error;
  }

  private unavailable(cause: unknown): OpsError {
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new OpsError('OPS_STORE_UNAVAILABLE', `the ${this.name} database is unavailable: ${reason}`, { store: this.name }, { cause });
  }
}

/** Thrown inside the driver's transaction to make it roll back, carrying `work`'s value out. */
class RollbackRequested {
  constructor(readonly value: unknown) {}
}
