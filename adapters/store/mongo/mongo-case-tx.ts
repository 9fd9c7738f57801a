import type { ClientSession, Collection } from 'mongodb';
import { deliveriesOf } from '../../../core/outbox/consumer-groups.js';
import type {
  CasePatch,
  CaseTx,
  IdempotencyClaim,
  StoredResponse,
  TransitionWrite,
} from '../../../core/ports/case-store.js';
import { claimAndLockStepwise, writeTransitionStepwise } from '../../../core/orchestrator/write-transition.js';
import type { CaseRecord, DecisionRecord, NewTimelineEntry, PlanRecord } from '../../../core/schemas/case.js';
import type { OutboxEnvelope } from '../../../core/schemas/outbox.js';
import { timelineEntryHash } from '../../audit/audit-chain.js';
import type { MongoCollections } from './mongo-collections.js';
import {
  SEQUENCES,
  caseToDoc,
  claimFromDoc,
  decisionToDoc,
  docToCase,
  isDuplicateKeyError,
  outboxToDoc,
  planToDoc,
  timelineToDoc,
  toStoredJson,
  type CaseDoc,
  type CounterDoc,
} from './mongo-mapping.js';

/**
 * An insert of a key (Idempotency-Key, inbox message) hit a duplicate: a concurrent transaction
 * committed the same key after our snapshot was taken, so our `findOne` missed it. Mongo aborts a
 * transaction on DuplicateKey without the TransientTransactionError label, so `withTransaction`
 * will not retry it; `transact` does, and the new snapshot sees the committed key.
 */
export class ConcurrentInsertRace extends Error {
  constructor(what: string, cause: unknown) {
    super(`a concurrent transaction committed the same ${what} first`, { cause });
    this.name = 'ConcurrentInsertRace';
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
export class MongoCaseTx implements CaseTx {
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

  writeTransition(write: TransitionWrite): Promise<boolean> {
    return writeTransitionStepwise(this, write);
  }

  reserveTimelineId(): Promise<number> {
    return takeSequence(this.c.counters, this.session, SEQUENCES.timeline, 1);
  }

  claimAndLockCase(key: string, requestHash: string, now: Date, caseId: string): Promise<{ claim: IdempotencyClaim; current: CaseRecord | null }> {
    return claimAndLockStepwise(this, key, requestHash, now, caseId);
  }

  /**
   * Chained to the case's previous entry (the head read by `lockCase`, or null after
   * `insertCase`); the case document's `timeline_head` moves with it, so two transactions
   * appending to one case write-conflict even without `lockCase`.
   */
  async appendTimeline(entry: NewTimelineEntry, reservedId?: number): Promise<number> {
    const prevHash = await this.chainHead(entry.case_id);
    const id = reservedId ?? await this.reserveTimelineId();
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
