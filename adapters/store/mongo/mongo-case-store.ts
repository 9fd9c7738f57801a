import { deliveriesOf, isConsumerGroup, type ConsumerGroup } from '../../../core/outbox/consumer-groups.js';
import { setTimeout as delay } from 'node:timers/promises';
import { MongoClient, MongoServerError, type ClientSession, type Collection, type Db, type Document, type TransactionOptions } from 'mongodb';
import type {
  CasePatch,
  CaseQueries,
  CaseStore,
  CaseTx,
  IdempotencyClaim,
  OutboxStore,
  StoredResponse,
  TransitionWrite,
} from '../../../core/ports/case-store.js';
import { claimAndLockStepwise, writeTransitionStepwise } from '../../../core/orchestrator/write-transition.js';
import type {
  CaseRecord,
  DecisionRecord,
  NewTimelineEntry,
  PlanRecord,
  TimelineEntry,
} from '../../../core/schemas/case.js';
import type { OutboxEnvelope, OutboxRecord } from '../../../core/schemas/outbox.js';
import { applyMongoMigrations } from './mongo-migrate.js';
import { timelineEntryHash } from '../../audit/audit-chain.js';
import {
  SEQUENCES,
  caseToDoc,
  databaseNameFromUri,
  claimFromDoc,
  decisionToDoc,
  docToCase,
  docToDecision,
  docToOutboxRecord,
  docToPlan,
  docToTimeline,
  isDuplicateKeyError,
  outboxToDoc,
  planToDoc,
  replicaSetProblem,
  timelineToDoc,
  toStoreError,
  toStoredJson,
  type CaseDoc,
  type CounterDoc,
  type DecisionDoc,
  type IdempotencyDoc,
  type InboxDoc,
  type OutboxDoc,
  type PlanDoc,
  type TimelineDoc,
} from './mongo-mapping.js';

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
}

export interface MongoCollections {
  cases: Collection<CaseDoc>;
  timeline: Collection<TimelineDoc>;
  outbox: Collection<OutboxDoc>;
  idempotency: Collection<IdempotencyDoc>;
  plans: Collection<PlanDoc>;
  decisions: Collection<DecisionDoc>;
  inbox: Collection<InboxDoc>;
  counters: Collection<CounterDoc>;
}

/** Majority reads and writes: a committed transition survives a primary failover. */
const TRANSACTION_OPTIONS: TransactionOptions = {
  readConcern: { level: 'majority' },
  writeConcern: { w: 'majority' },
  readPreference: 'primary',
};

const DEFAULT_DB_NAME = 'opsloop';
const COMMAND_NOT_FOUND = 59;
const DEFAULT_LIST_LIMIT = 100;
const MAX_LIST_LIMIT = 1000;

/** How often `transact` re-runs a transaction that lost an insert race (see `ConcurrentInsertRace`). */
const MAX_INSERT_RACE_ATTEMPTS = 5;

/**
 * An insert of a key (Idempotency-Key, inbox message) hit a duplicate: a concurrent transaction
 * committed the same key after our snapshot was taken, so our `findOne` missed it. Mongo aborts a
 * transaction on DuplicateKey without the TransientTransactionError label, so `withTransaction`
 * will not retry it; `transact` does, and the new snapshot sees the committed key.
 */
class ConcurrentInsertRace extends Error {
  constructor(what: string, cause: unknown) {
    super(`a concurrent transaction committed the same ${what} first`, { cause });
    this.name = 'ConcurrentInsertRace';
  }
}

export function mongoCollections(db: Db): MongoCollections {
  return {
    cases: db.collection<CaseDoc>('ops_case'),
    timeline: db.collection<TimelineDoc>('case_timeline'),
    outbox: db.collection<OutboxDoc>('outbox'),
    idempotency: db.collection<IdempotencyDoc>('idempotency'),
    plans: db.collection<PlanDoc>('plan_proposed'),
    decisions: db.collection<DecisionDoc>('plan_approved'),
    inbox: db.collection<InboxDoc>('inbox'),
    counters: db.collection<CounterDoc>('counters'),
  };
}

/** `listCases` page size, clamped like the SQL stores (and never 0, which Mongo reads as "no limit"). */
function listLimit(requested: number | undefined): number {
  const limit = Math.trunc(requested ?? DEFAULT_LIST_LIMIT);
  return Number.isFinite(limit) ? Math.min(Math.max(limit, 1), MAX_LIST_LIMIT) : DEFAULT_LIST_LIMIT;
}

/** Run a read or an autocommit write, mapping "database unreachable" to OPS_STORE_UNAVAILABLE. */
async function guarded<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw toStoreError(error);
  }
}

/** Take `count` consecutive numbers from a sequence, inside the session's transaction; returns the first. */
async function takeSequence(counters: Collection<CounterDoc>, session: ClientSession, name: string, count: number): Promise<number> {
  const counter = await counters.findOneAndUpdate(
    { _id: name },
    { $inc: { value: count } },
    { session, upsert: true, returnDocument: 'after' },
  );
  if (!counter) throw new Error(`sequence ${name} could not be incremented`);
  return counter.value - count + 1;
}

/** The writes of one transaction; every call carries the transaction's session. */
class MongoCaseTx implements CaseTx {
  private rollbackRequested = false;
  /** Chain heads (hash of the latest timeline entry) of the cases this transaction locked or inserted. */
  private readonly heads = new Map<string, string | null>();

  constructor(
    private readonly c: MongoCollections,
    private readonly session: ClientSession,
  ) {}

  get shouldRollBack(): boolean {
    return this.rollbackRequested;
  }

  /**
   * A duplicate-key error inside a transaction aborts it, so look the key up first and insert only
   * when it is absent. Two claimers racing for one key: both miss it in their snapshots; the second
   * insert then collides with the first claimer's uncommitted insert and fails with WriteConflict
   * (TransientTransactionError), so `withTransaction` re-runs the second transaction, which by then
   * sees the committed key and replays its response. If the first committed before the second
   * inserted, the insert fails with DuplicateKey instead; `transact` re-runs that case itself.
   */
  async claimIdempotencyKey(key: string, requestHash: string, now: Date): Promise<IdempotencyClaim> {
    const stored = await this.c.idempotency.findOne({ _id: key }, { session: this.session });
    if (stored) return claimFromDoc(stored);
    await this.insertClaim('Idempotency-Key', () =>
      this.c.idempotency.insertOne({ _id: key, request_hash: requestHash, response: null, created_at: now }, { session: this.session }));
    return { claimed: true };
  }

  async saveIdempotentResponse(key: string, response: StoredResponse): Promise<void> {
    const result = await this.c.idempotency.updateOne(
      { _id: key },
      { $set: { response: toStoredJson(response) } },
      { session: this.session },
    );
    if (result.matchedCount !== 1) throw new Error(`idempotency key '${key}' was not claimed in this transaction`);
  }

  async insertCase(record: CaseRecord): Promise<void> {
    await this.c.cases.insertOne(caseToDoc(record), { session: this.session });
    this.heads.set(record.id, null);
  }

  /**
   * Mongo has no `SELECT … FOR UPDATE`; writing the document is what makes a concurrent
   * transaction on the same case conflict (and retry), so the read bumps `lock_seq`.
   */
  async lockCase(caseId: string): Promise<CaseRecord | null> {
    const doc = await this.c.cases.findOneAndUpdate(
      { _id: caseId },
      { $inc: { lock_seq: 1 } },
      { session: this.session, returnDocument: 'after' },
    );
    if (doc) this.heads.set(caseId, doc.timeline_head ?? null);
    return doc ? docToCase(doc) : null;
  }

  async updateCase(caseId: string, expectedVersion: number, patch: CasePatch): Promise<boolean> {
    const set: Partial<CaseDoc> = { status: patch.status, version: patch.version, updated_at: patch.updated_at };
    if (patch.plan_id !== undefined) set.plan_id = patch.plan_id;
    const result = await this.c.cases.updateOne(
      { _id: caseId, version: expectedVersion },
      { $set: set },
      { session: this.session },
    );
    return result.matchedCount === 1;
  }

  writeTransition(write: TransitionWrite): Promise<number | null> {
    return writeTransitionStepwise(this, write);
  }

  claimAndLockCase(key: string, requestHash: string, now: Date, caseId: string): Promise<{ claim: IdempotencyClaim; current: CaseRecord | null }> {
    return claimAndLockStepwise(this, key, requestHash, now, caseId);
  }

  /**
   * Chained to the case's previous entry (the head read by `lockCase`, or null after
   * `insertCase`); the case document's `timeline_head` moves with it, so two transactions
   * appending to one case write-conflict even without `lockCase`.
   */
  async appendTimeline(entry: NewTimelineEntry): Promise<number> {
    const prevHash = await this.chainHead(entry.case_id);
    const id = await takeSequence(this.c.counters, this.session, SEQUENCES.timeline, 1);
    const unchained = timelineToDoc(entry, id);
    const hash = timelineEntryHash({ ...entry, id, meta: unchained.meta }, prevHash);
    await this.c.timeline.insertOne(timelineToDoc(entry, id, { prev_hash: prevHash, hash }), { session: this.session });
    await this.c.cases.updateOne({ _id: entry.case_id }, { $set: { timeline_head: hash } }, { session: this.session });
    this.heads.set(entry.case_id, hash);
    return id;
  }

  /** The case's chain head; locks the case (as `lockCase` does) when this transaction has not. */
  private async chainHead(caseId: string): Promise<string | null> {
    const known = this.heads.get(caseId);
    if (known !== undefined) return known;
    if (!(await this.lockCase(caseId))) throw new Error(`cannot append a timeline entry: no case has id ${caseId}`);
    return this.heads.get(caseId) ?? null;
  }

  async appendOutbox(messages: readonly OutboxEnvelope[]): Promise<void> {
    const copies = deliveriesOf(messages);
    if (copies.length === 0) return;
    const first = await takeSequence(this.c.counters, this.session, SEQUENCES.outbox, copies.length);
    const docs = copies.map((copy, i) => outboxToDoc(copy, first + i));
    await this.c.outbox.insertMany(docs, { session: this.session, ordered: true });
  }

  async insertPlanProposed(record: PlanRecord): Promise<void> {
    await this.c.plans.insertOne(planToDoc(record), { session: this.session });
  }

  async insertPlanApproved(record: DecisionRecord): Promise<void> {
    const seq = await takeSequence(this.c.counters, this.session, SEQUENCES.decision, 1);
    await this.c.decisions.insertOne(decisionToDoc(record, seq), { session: this.session });
  }

  /** Same look-up-then-insert as `claimIdempotencyKey`, for the same reason. */
  async recordInbox(consumer: string, messageId: string, now: Date): Promise<boolean> {
    const seen = await this.c.inbox.findOne({ consumer, msg_id: messageId }, { session: this.session, projection: { _id: 1 } });
    if (seen) return false;
    await this.insertClaim('inbox message', () =>
      this.c.inbox.insertOne({ consumer, msg_id: messageId, processed_at: now }, { session: this.session }));
    return true;
  }

  rollbackOnly(): void {
    this.rollbackRequested = true;
  }

  private async insertClaim(what: string, insert: () => Promise<unknown>): Promise<void> {
    try {
      await insert();
    } catch (error) {
      if (isDuplicateKeyError(error)) throw new ConcurrentInsertRace(what, error);
      throw error;
    }
  }
}

class MongoCaseQueries implements CaseQueries {
  constructor(private readonly c: MongoCollections) {}

  getCase(caseId: string): Promise<CaseRecord | null> {
    return guarded(async () => {
      const doc = await this.c.cases.findOne({ _id: caseId });
      return doc ? docToCase(doc) : null;
    });
  }

  /** Newest first, like the SQL stores. */
  listCases(filter: { status?: CaseRecord['status']; limit?: number } = {}): Promise<CaseRecord[]> {
    return guarded(async () => {
      const query = filter.status ? { status: filter.status } : {};
      const docs = await this.c.cases.find(query).sort({ created_at: -1, _id: -1 }).limit(listLimit(filter.limit)).toArray();
      return docs.map(docToCase);
    });
  }

  listTimeline(caseId: string): Promise<TimelineEntry[]> {
    return guarded(async () => {
      const docs = await this.c.timeline.find({ case_id: caseId }).sort({ _id: 1 }).toArray();
      return docs.map(docToTimeline);
    });
  }

  listTimelineRange(from: Date, to: Date, limit: number, afterId = 0): Promise<TimelineEntry[]> {
    return guarded(async () => {
      const docs = await this.c.timeline.find({ created_at: { $gte: from, $lt: to }, _id: { $gt: Math.trunc(afterId) } })
        .sort({ _id: 1 }).limit(listLimit(limit)).toArray();
      return docs.map(docToTimeline);
    });
  }

  timelineHead(caseId: string): Promise<string | null> {
    return guarded(async () => {
      const doc = await this.c.cases.findOne({ _id: caseId }, { projection: { timeline_head: 1 } });
      return doc?.timeline_head ?? null;
    });
  }

  getPlan(planId: string): Promise<PlanRecord | null> {
    return guarded(async () => {
      const doc = await this.c.plans.findOne({ _id: planId });
      return doc ? docToPlan(doc) : null;
    });
  }

  latestDecision(caseId: string): Promise<DecisionRecord | null> {
    return guarded(async () => {
      const doc = await this.c.decisions.find({ case_id: caseId }).sort({ created_at: -1, seq: -1 }).limit(1).next();
      return doc ? docToDecision(doc) : null;
    });
  }

  inboxHas(consumer: string, messageId: string): Promise<boolean> {
    return guarded(async () => (await this.c.inbox.countDocuments({ consumer, msg_id: messageId }, { limit: 1 })) > 0);
  }
}

/**
 * Leases use the server's clock (`$$NOW`), so relays on machines with skewed clocks agree on
 * when a lease has expired.
 */
class MongoOutboxStore implements OutboxStore {
  constructor(private readonly c: MongoCollections) {}

  /**
   * One `findOneAndUpdate` per message: each is atomic on its document, and a relay that loses a
   * race for a message has the filter re-evaluated by the server and moves on to the next one,
   * so no message is handed to two owners at once.
   */
  claim(owner: string, leaseMs: number, limit: number, groups: readonly ConsumerGroup[]): Promise<OutboxRecord[]> {
    const wanted = groups.filter(isConsumerGroup);
    // Every document has its `group` (migrations/mongo/0090_outbox_consumer_group.ts set the older ones).
    const groupFilter = { group: { $in: wanted } };
    if (wanted.length === 0) return Promise.resolve([]);
    return guarded(async () => {
      const claimed: OutboxRecord[] = [];
      while (claimed.length < limit) {
        const doc = await this.c.outbox.findOneAndUpdate(
          // Aggregation order puts null (and a missing field) below every date, so this also
          // matches messages that were never leased. `$lte`: a lease ends at `lease_until`, and
          // `release(…, 0)` makes a message claimable within the same millisecond.
          { pending: true, published_at: null, ...groupFilter, $expr: { $lte: ['$lease_until', '$$NOW'] } },
          [{
            $set: {
              lease_owner: owner,
              lease_until: { $add: ['$$NOW', leaseMs] },
              attempts: { $add: [{ $ifNull: ['$attempts', 0] }, 1] },
            },
          }],
          // The priority lane first (index outbox_claim); one case's messages share a priority, so
          // they still come out in seq order.
          { sort: { priority: -1, seq: 1 }, returnDocument: 'after' },
        );
        if (!doc) break;
        claimed.push(docToOutboxRecord(doc));
      }
      return claimed;
    });
  }

  markPublished(seqs: readonly number[], owner: string): Promise<void> {
    if (seqs.length === 0) return Promise.resolve();
    return guarded(async () => {
      await this.c.outbox.updateMany(
        { seq: { $in: [...seqs] }, lease_owner: owner, pending: true },
        { $set: { published_at: new Date(), lease_until: null }, $unset: { pending: '' } },
      );
    });
  }

  /** Shortens the lease to `retryAfterMs` from now; the owner stays until someone claims it again. */
  release(seqs: readonly number[], owner: string, retryAfterMs: number): Promise<void> {
    if (seqs.length === 0) return Promise.resolve();
    return guarded(async () => {
      await this.c.outbox.updateMany(
        { seq: { $in: [...seqs] }, lease_owner: owner, pending: true },
        [{ $set: { lease_until: { $add: ['$$NOW', Math.max(0, retryAfterMs)] } } }],
      );
    });
  }

  backlog(groups?: readonly ConsumerGroup[]): Promise<number> {
    if (!groups) return guarded(() => this.c.outbox.countDocuments({ pending: true }));
    return guarded(() => this.c.outbox.countDocuments({ pending: true, group: { $in: groups.filter(isConsumerGroup) } }));
  }
}

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

  constructor(opts: MongoCaseStoreOptions) {
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
    this.appliedOnOpen = (await applyMongoMigrations(this.db)).map(String);
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
