import type { MigrationProgress } from '../../../core/ports/backend.js';
import { setTimeout as delay } from 'node:timers/promises';
import { MongoClient, MongoServerError, type ClientSession, type Db, type Document, type TransactionOptions } from 'mongodb';
import type { CaseQueries, CaseStore, CaseTx, OutboxStore } from '../../../core/ports/case-store.js';
import { applyMongoMigrations } from './mongo-migrate.js';
import { ConcurrentInsertRace, MongoCaseTx } from './mongo-case-tx.js';
import { MongoCaseQueries } from './mongo-case-queries.js';
import { mongoCollections, type MongoCollections } from './mongo-collections.js';
import { databaseNameFromUri, guarded, replicaSetProblem, toStoreError } from './mongo-mapping.js';
import { MongoOutboxStore } from './mongo-outbox-store.js';

/**
 * The MongoDB backend of the store port. Requires a replica set (or mongos): every write runs in
 * a multi-document transaction through `session.withTransaction`.
 *
 * Concurrency model (Mongo has no `SELECT … FOR UPDATE` and no lock waits inside transactions):
 * two transactions that write the same document conflict, and the later one fails with
 * WriteConflict, labelled TransientTransactionError; `withTransaction` then re-runs the whole
 * callback on a fresh snapshot. The store therefore turns every "lock" into a write:
 * `lockCase` bumps `lock_seq`, sequences are counters incremented in the transaction, and an
 * Idempotency-Key or inbox claim is an insert. The Orchestrator's callback is safe to re-run:
 * it derives everything from what it reads and generates fresh ids each time.
 */

export interface MongoCaseStoreOptions {
  /** mongodb:// or mongodb+srv:// URI of a replica set. */
  uri: string;
  /** Database name; defaults to the URI's path, else `opsloop`. */
  dbName?: string;
  /** An already-built client to use; the store then does not close it (`ownsConnection` false). */
  client?: MongoClient;
  /** Told before and after each pending migration runs (progress output). */
  onMigration?: MigrationProgress;
}

/** Majority reads and writes: a committed transition survives a primary failover. */
const TRANSACTION_OPTIONS: TransactionOptions = {
  readConcern: { level: 'majority' },
  writeConcern: { w: 'majority' },
  readPreference: 'primary',
};

const DEFAULT_DB_NAME = 'opsloop';
const COMMAND_NOT_FOUND = 59;

/** How often `transact` re-runs a transaction that lost an insert race (see `ConcurrentInsertRace`). */
const MAX_INSERT_RACE_ATTEMPTS = 5;

export class MongoCaseStore implements CaseStore {
  readonly name = 'mongodb';
  readonly ownsConnection: boolean;
  readonly client: MongoClient;
  readonly db: Db;
  readonly queries: CaseQueries;
  readonly outbox: OutboxStore;
  private readonly collections: MongoCollections;
  private connecting: Promise<void> | null = null;
  /** Migration versions the last `connect` applied (see `migrate`). */
  private appliedOnOpen: string[] = [];
  private readonly onMigration: MigrationProgress | undefined;

  constructor(opts: MongoCaseStoreOptions) {
    this.onMigration = opts.onMigration;
    this.ownsConnection = !opts.client;
    this.client = opts.client ?? new MongoClient(opts.uri);
    this.db = this.client.db(opts.dbName ?? databaseNameFromUri(opts.uri) ?? DEFAULT_DB_NAME);
    this.collections = mongoCollections(this.db);
    this.queries = new MongoCaseQueries(this.collections);
    this.outbox = new MongoOutboxStore(this.collections);
  }

  /** Connect, refuse a server that cannot run transactions, apply migrations. Idempotent. */
  connect(): Promise<void> {
    this.connecting ??= this.open().catch(async (error: unknown) => {
      this.connecting = null;
      if (this.ownsConnection) await this.client.close().catch(() => undefined);
      throw toStoreError(error);
    });
    return this.connecting;
  }

  async close(): Promise<void> {
    this.connecting = null;
    if (this.ownsConnection) await this.client.close();
  }

  /**
   * `withTransaction` commits when `work` resolves and re-runs it on TransientTransactionError
   * (write conflicts, failovers). When `work` asked for `rollbackOnly`, the callback aborts the
   * transaction itself, and `withTransaction` returns the value without committing.
   */
  transact<T>(work: (tx: CaseTx) => Promise<T>): Promise<T> {
    return this.transactWithSession((tx) => work(tx));
  }

  /**
   * `transact`, also handing `work` the transaction's session: for add-on stores (the Sensor's
   * evidence) whose writes must commit or abort together with the case writes.
   */
  async transactWithSession<T>(work: (tx: CaseTx, session: ClientSession) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const session = this.client.startSession();
      try {
        return await session.withTransaction(async (s) => {
          const tx = new MongoCaseTx(this.collections, s);
          const value = await work(tx, s);
          if (tx.shouldRollBack) await s.abortTransaction();
          return value;
        }, TRANSACTION_OPTIONS);
      } catch (error) {
        if (error instanceof ConcurrentInsertRace && attempt < MAX_INSERT_RACE_ATTEMPTS) {
          await delay(Math.random() * 10 * attempt);
          continue;
        }
        throw toStoreError(error);
      } finally {
        await session.endSession().catch(() => undefined);
      }
    }
  }

  ping(): Promise<void> {
    return guarded(async () => {
      await this.db.command({ ping: 1 });
    });
  }

  /** Connect (which applies pending migrations) and return the versions this store's connect applied. */
  async migrate(): Promise<string[]> {
    await this.connect();
    return [...this.appliedOnOpen];
  }

  /**
   * Run an autocommit operation for add-on stores (tokens, chat, the simulator): connect (and
   * migrate) first, and map "database unreachable" to OPS_STORE_UNAVAILABLE.
   */
  async runMongo<T>(operation: () => Promise<T>): Promise<T> {
    await this.connect();
    return guarded(operation);
  }

  private async open(): Promise<void> {
    await this.client.connect();
    const problem = replicaSetProblem(await this.hello());
    if (problem) throw new Error(problem);
    this.appliedOnOpen = (await applyMongoMigrations(this.db, undefined, this.onMigration)).map(String);
  }

  /** The server's `hello` answer; `isMaster` on servers older than 4.4.2 that lack `hello`. */
  private async hello(): Promise<Document> {
    const admin = this.db.admin();
    try {
      return await admin.command({ hello: 1 });
    } catch (error) {
      if (error instanceof MongoServerError && error.code === COMMAND_NOT_FOUND) return admin.command({ isMaster: 1 });
      throw error;
    }
  }
}

/** Build the MongoDB store. Call `connect()` before use (it checks the replica set and migrates). */
export async function createMongoCaseStore(opts: MongoCaseStoreOptions): Promise<MongoCaseStore> {
  return new MongoCaseStore(opts);
}
