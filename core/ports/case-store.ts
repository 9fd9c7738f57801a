import type {
  CaseRecord,
  DecisionRecord,
  NewTimelineEntry,
  PlanRecord,
  TimelineEntry,
} from '../schemas/case.js';
import type { OutboxEnvelope, OutboxRecord } from '../schemas/outbox.js';
import type { ConsumerGroup } from '../outbox/consumer-groups.js';
import type { Settled } from '../orchestrator/outcome.js';

/** The answer remembered for an Idempotency-Key (core/orchestrator/outcome.ts): the first one, replayed verbatim. */
export type StoredResponse = Settled;

export type IdempotencyClaim =
  | { claimed: true }
  | { claimed: false; requestHash: string; response: StoredResponse };

/** Columns of a case the Orchestrator may change in a transition. */
export interface CasePatch {
  status: CaseRecord['status'];
  version: number;
  plan_id?: string | null;
  updated_at: Date;
}

/**
 * Everything a transition writes once its decision is made, as plain data: the case update (with
 * the optimistic version check), its timeline entry under the id reserved for it
 * (`CaseTx.reserveTimelineId`), its outbox messages and the stored answer, both of which may name
 * that id. The store writes it as given and never calls back.
 */
export interface TransitionWrite {
  caseId: string;
  expectedVersion: number;
  patch: CasePatch;
  /** The id the timeline entry takes, from `reserveTimelineId` in this transaction. */
  timelineId: number;
  timeline: NewTimelineEntry;
  messages: readonly OutboxEnvelope[];
  idempotencyKey: string;
  response: StoredResponse;
  /** The plan `plan_ready` proposes (its plan_proposed row; `patch.plan_id` names it). */
  plan?: PlanRecord;
  /** The gate decision `gate_approved`/`gate_rejected` records (its plan_approved row). */
  decision?: DecisionRecord;
}

/**
 * The writes one transaction may make. Every method runs inside the transaction the store
 * opened for `CaseStore.transact`; nothing is visible to others before it commits.
 */
export interface CaseTx {
  /**
   * Claim an Idempotency-Key for this transaction. Concurrent claims of one key serialise:
   * the second waits until the first commits (then sees its response) or rolls back (then claims).
   */
  claimIdempotencyKey(key: string, requestHash: string, now: Date): Promise<IdempotencyClaim>;
  /**
   * `claimIdempotencyKey`, then (only when claimed) `lockCase`, in as few round trips as the store
   * can. `current` is null when the key was not claimed or the case does not exist.
   */
  claimAndLockCase(key: string, requestHash: string, now: Date, caseId: string): Promise<{ claim: IdempotencyClaim; current: CaseRecord | null }>;
  /** Store the response for a key claimed in this transaction. */
  saveIdempotentResponse(key: string, response: StoredResponse): Promise<void>;
  /** Insert a new case (status NEW, version 1). */
  insertCase(record: CaseRecord): Promise<void>;
  /** Read a case and lock it until the transaction ends (`SELECT … FOR UPDATE`). */
  lockCase(caseId: string): Promise<CaseRecord | null>;
  /**
   * Update a case only if its version is still `expectedVersion` (optimistic check in the
   * filter). Returns false when no row matched.
   */
  updateCase(caseId: string, expectedVersion: number, patch: CasePatch): Promise<boolean>;
  /**
   * Write a transition (see TransitionWrite) in as few round trips as the store can. Returns false
   * when the case was not at `expectedVersion` (then nothing was written).
   */
  writeTransition(write: TransitionWrite): Promise<boolean>;
  /**
   * The id the next timeline entry of `caseId` takes, for a caller that needs it before the entry
   * is written (a transition's messages and answer name it). The id `lockCase`,
   * `claimAndLockCase` or `insertCase` reserved with the lock costs no round trip; otherwise a new
   * one is taken. Pass it to `appendTimeline` or `writeTransition`; an id not used is a gap.
   */
  reserveTimelineId(caseId: string): Promise<number>;
  /** Append a timeline entry, under `id` when one was reserved for it; returns its id (monotonic per store). */
  appendTimeline(entry: NewTimelineEntry, id?: number): Promise<number>;
  /** Append messages to the outbox, in order. */
  appendOutbox(messages: readonly OutboxEnvelope[]): Promise<void>;
  insertPlanProposed(record: PlanRecord): Promise<void>;
  insertPlanApproved(record: DecisionRecord): Promise<void>;
  /**
   * Record that `consumer` processed `messageId`. Returns false when it already had
   * (the caller then skips its work: at-least-once delivery, exactly-once effect).
   */
  recordInbox(consumer: string, messageId: string, now: Date): Promise<boolean>;
  /** Mark the transaction for rollback: `transact` rolls back instead of committing and still returns the value. */
  rollbackOnly(): void;
}

/** Reads outside any transaction. */
export interface CaseQueries {
  getCase(caseId: string): Promise<CaseRecord | null>;
  listCases(filter?: { status?: CaseRecord['status']; limit?: number }): Promise<CaseRecord[]>;
  /** Timeline of a case, oldest first. */
  listTimeline(caseId: string): Promise<TimelineEntry[]>;
  /**
   * Timeline entries of every case with `from <= created_at < to`, in id order, at most `limit`
   * (capped by the store), only ids above `afterId` (for paging): the audit export.
   */
  listTimelineRange(from: Date, to: Date, limit: number, afterId?: number): Promise<TimelineEntry[]>;
  /**
   * The hash the case records as its latest timeline entry's (the chain head), null when the case
   * has no hashed entry yet or does not exist.
   */
  timelineHead(caseId: string): Promise<string | null>;
  getPlan(planId: string): Promise<PlanRecord | null>;
  /** Newest decision recorded for a case, if any. */
  latestDecision(caseId: string): Promise<DecisionRecord | null>;
  /** Whether `consumer` already processed `messageId`. */
  inboxHas(consumer: string, messageId: string): Promise<boolean>;
}

/** What the outbox relay needs from the store. Every method works on stored copies (`OutboxRecord.seq`). */
export interface OutboxStore {
  /**
   * Lease up to `limit` unpublished copies of the consumer `groups` to `owner` for `leaseMs`: the
   * highest priority lane first (`OutboxEnvelope.priority`, core/outbox/priority.ts), oldest first
   * within a lane, and returned in that order. A case's messages share one lane, so they come out in
   * outbox order. Copies leased to another owner whose lease has not expired are skipped, so several
   * relays can share one database; copies of other groups are never claimed (they wait for a relay
   * that has consumers for them).
   */
  claim(owner: string, leaseMs: number, limit: number, groups: readonly ConsumerGroup[]): Promise<OutboxRecord[]>;
  /** Mark copies published (only those still leased to `owner`). */
  markPublished(seqs: readonly number[], owner: string): Promise<void>;
  /** Give a lease back early (e.g. a consumer failed), so the copy is retried soon. */
  release(seqs: readonly number[], owner: string, retryAfterMs: number): Promise<void>;
  /** Number of copies not yet published, of `groups` (default: every group). */
  backlog(groups?: readonly ConsumerGroup[]): Promise<number>;
}

/**
 * The store port: one object per backend (PGlite, PostgreSQL server, MongoDB), like Agenda's
 * backends. All writes go through `transact`.
 */
export interface CaseStore {
  /** Backend name for logs and health: 'pglite' | 'postgres' | 'mongodb'. */
  readonly name: string;
  /** Whether `close` also closes the underlying connection (false when the caller passed one in). */
  readonly ownsConnection: boolean;
  /** Open connections and apply migrations. Idempotent. */
  connect(): Promise<void>;
  close(): Promise<void>;
  /** Run `work` in one transaction: commit when it resolves (unless `rollbackOnly` was called), roll back when it throws. */
  transact<T>(work: (tx: CaseTx) => Promise<T>): Promise<T>;
  readonly queries: CaseQueries;
  readonly outbox: OutboxStore;
  /** Cheap round trip for /healthz; throws when the database cannot be reached. */
  ping(): Promise<void>;
}
