import { isConsumerGroup, type ConsumerGroup, type OutboxDelivery } from '../../../core/outbox/consumer-groups.js';
import {
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  type Document,
  type ObjectId,
} from 'mongodb';
import { OpsError } from '../../../core/errors.js';
import type { IdempotencyClaim } from '../../../core/ports/case-store.js';
import { storedAnswerOf } from '../stored-answer.js';
import type {
  CaseRecord,
  DecisionRecord,
  NewTimelineEntry,
  PlanRecord,
  TimelineEntry,
  TimelineKind,
} from '../../../core/schemas/case.js';
import type { OutboxEnvelope, OutboxRecord } from '../../../core/schemas/outbox.js';
import { storedOutboxPriority } from '../../../core/outbox/priority.js';

/**
 * Pure mapping between the store port's records and the MongoDB documents that hold them,
 * plus the error classification the Mongo store needs. No I/O here, so it is tested without a server.
 */

/** `ops_case`: one document per case; `_id` is the case uuid. */
export interface CaseDoc {
  _id: string;
  tenant: string;
  title: string;
  severity: number;
  service: string | null;
  env: string | null;
  requester: string | null;
  labels: Record<string, string>;
  status: CaseRecord['status'];
  version: number;
  plan_id: string | null;
  created_at: Date;
  updated_at: Date;
  /** Bumped by `lockCase` so that two transactions locking one case write-conflict. */
  lock_seq: number;
  /** Hash of the case's latest timeline entry (migrations/mongo/0060_audit_chain.ts); absent before the chain. */
  timeline_head?: string | null;
}

/** `case_timeline`: `_id` is the store-wide monotonic timeline id (from `counters`). */
export interface TimelineDoc extends NewTimelineEntry {
  _id: number;
  /** The chain fields (core/audit/hash-chain.ts); absent on entries written before the chain. */
  prev_hash?: string | null;
  hash?: string | null;
}

/** `outbox`: `_id` is the message id consumers dedupe by; `seq` is the delivery order. */
export interface OutboxDoc {
  /** `<message id>` for the side group's copy (as before groups existed), `<message id>:loop` for the loop's. */
  _id: string;
  /** The copy's identity and delivery order (unique). */
  seq: number;
  /** Consumer group of this copy (core/outbox/consumer-groups.ts; migrations/mongo/0090); absent = side. */
  group?: ConsumerGroup;
  topic: string;
  /** Partition key: the case id. */
  key: string;
  envelope: OutboxEnvelope;
  /** Claim lane, higher first (core/outbox/priority.ts; migrations/mongo/0080_outbox_priority.ts). */
  priority?: number;
  created_at: Date;
  /** Present (true) until published; the partial index `outbox_unpublished` covers only these. */
  pending?: true;
  published_at: Date | null;
  lease_owner: string | null;
  lease_until: Date | null;
  attempts: number;
}

/** `idempotency`: `_id` is the Idempotency-Key. `response` is null only inside the claiming transaction. */
export interface IdempotencyDoc {
  _id: string;
  request_hash: string;
  /** The stored answer (adapters/store/stored-answer.ts reads both its forms). */
  response: unknown;
  created_at: Date;
}

export interface PlanDoc {
  _id: string;
  case_id: string;
  plan: unknown;
  source: string;
  created_at: Date;
}

/** `plan_approved`: `seq` orders decisions of one case even when their clocks tie. */
export interface DecisionDoc {
  _id: string;
  case_id: string;
  plan_id: string | null;
  decision: Record<string, unknown>;
  seq: number;
  created_at: Date;
}

export interface InboxDoc {
  _id?: ObjectId;
  consumer: string;
  msg_id: string;
  processed_at: Date;
}

/** `counters`: one document per sequence. */
export interface CounterDoc {
  _id: string;
  value: number;
}

/** Names of the sequences kept in `counters`. */
export const SEQUENCES = {
  timeline: 'case_timeline',
  outbox: 'outbox',
  decision: 'plan_approved',
} as const;

/**
 * What a JSON column holds after a round trip through PostgreSQL `jsonb`: undefined members
 * dropped, Dates as ISO strings, no class instances. Stores apply it to free-form payloads so
 * every backend returns the same values.
 */
export function toStoredJson<T>(value: T): T {
  const text = JSON.stringify(value);
  return (text === undefined ? null : JSON.parse(text)) as T;
}

export function caseToDoc(record: CaseRecord): CaseDoc {
  return {
    _id: record.id,
    tenant: record.tenant,
    title: record.title,
    severity: record.severity,
    service: record.service,
    env: record.env,
    requester: record.requester,
    labels: toStoredJson(record.labels),
    status: record.status,
    version: record.version,
    plan_id: record.plan_id,
    created_at: record.created_at,
    updated_at: record.updated_at,
    lock_seq: 0,
  };
}

export function docToCase(doc: CaseDoc): CaseRecord {
  return {
    id: doc._id,
    tenant: doc.tenant,
    title: doc.title,
    severity: doc.severity,
    service: doc.service ?? null,
    env: doc.env ?? null,
    requester: doc.requester ?? null,
    labels: doc.labels ?? {},
    status: doc.status,
    version: doc.version,
    plan_id: doc.plan_id ?? null,
    created_at: doc.created_at,
    updated_at: doc.updated_at,
  };
}

export function timelineToDoc(entry: NewTimelineEntry, id: number, chain?: { prev_hash: string | null; hash: string }): TimelineDoc {
  return {
    ...chain,
    _id: id,
    case_id: entry.case_id,
    kind: entry.kind,
    event: entry.event,
    actor: entry.actor,
    reason: entry.reason,
    correlation_id: entry.correlation_id,
    trace_id: entry.trace_id,
    from_status: entry.from_status,
    to_status: entry.to_status,
    version: entry.version,
    meta: toStoredJson(entry.meta ?? {}),
    created_at: entry.created_at,
  };
}

export function docToTimeline(doc: TimelineDoc): TimelineEntry {
  return {
    id: doc._id,
    case_id: doc.case_id,
    kind: doc.kind,
    event: doc.event,
    actor: doc.actor,
    reason: doc.reason ?? null,
    correlation_id: doc.correlation_id ?? null,
    trace_id: doc.trace_id ?? null,
    from_status: doc.from_status ?? null,
    to_status: doc.to_status ?? null,
    version: doc.version,
    meta: doc.meta ?? {},
    created_at: doc.created_at,
    ...(doc.hash !== undefined ? { prev_hash: doc.prev_hash ?? null, hash: doc.hash } : {}),
  };
}

/** A new, unleased, unpublished outbox document; `created_at` is the envelope's `occurred_at`. */
/** `_id` of a message's copy for `group`. */
export function outboxDocId(messageId: string, group: ConsumerGroup): string {
  return group === 'side' ? messageId : `${messageId}:${group}`;
}

export function outboxToDoc({ envelope, group }: OutboxDelivery, seq: number): OutboxDoc {
  const occurred = new Date(envelope.occurred_at);
  return {
    _id: outboxDocId(envelope.id, group),
    seq,
    group,
    topic: envelope.topic,
    key: envelope.case_id,
    envelope: toStoredJson(envelope),
    priority: storedOutboxPriority(envelope),
    created_at: Number.isNaN(occurred.getTime()) ? new Date() : occurred,
    pending: true,
    published_at: null,
    lease_owner: null,
    lease_until: null,
    attempts: 0,
  };
}

/**
 * The filter for the pending outbox copies of `groups` (claim and backlog share it); unknown group
 * names are dropped, and null means no group is left, so nothing can match. Every document has
 * its `group` (migrations/mongo/0090_outbox_consumer_group.ts set the older ones).
 */
export function pendingInGroups(groups: readonly ConsumerGroup[]): { pending: true; group: { $in: ConsumerGroup[] } } | null {
  const wanted = groups.filter(isConsumerGroup);
  return wanted.length === 0 ? null : { pending: true, group: { $in: wanted } };
}

export function docToOutboxRecord(doc: OutboxDoc): OutboxRecord {
  return { seq: doc.seq, group: isConsumerGroup(doc.group) ? doc.group : 'side', envelope: doc.envelope, attempts: doc.attempts };
}

export function planToDoc(record: PlanRecord): PlanDoc {
  return {
    _id: record.id,
    case_id: record.case_id,
    plan: toStoredJson(record.plan),
    source: record.source,
    created_at: record.created_at,
  };
}

export function docToPlan(doc: PlanDoc): PlanRecord {
  return { id: doc._id, case_id: doc.case_id, plan: doc.plan, source: doc.source, created_at: doc.created_at };
}

export function decisionToDoc(record: DecisionRecord, seq: number): DecisionDoc {
  return {
    _id: record.id,
    case_id: record.case_id,
    plan_id: record.plan_id,
    decision: toStoredJson(record.decision),
    seq,
    created_at: record.created_at,
  };
}

export function docToDecision(doc: DecisionDoc): DecisionRecord {
  return { id: doc._id, case_id: doc.case_id, plan_id: doc.plan_id ?? null, decision: doc.decision, created_at: doc.created_at };
}

/** The answer `claimIdempotencyKey` gives for a key that is already stored. */
export function claimFromDoc(doc: IdempotencyDoc): IdempotencyClaim {
  // Claim and response are written in one transaction, so a committed key always has one.
  return { claimed: false, requestHash: doc.request_hash, response: storedAnswerOf(doc.response, doc._id) };
}

/** The one line `connect` fails with when the server cannot run multi-document transactions. */
export const REPLICA_SET_REQUIRED =
  'MONGODB_URI must point at a replica set (multi-document transactions need one); start mongod with --replSet and rs.initiate()';

/**
 * Why a server (its `hello` / `isMaster` answer) cannot host this store, or null when it can:
 * a replica-set member (`setName`) or a mongos router (`msg: 'isdbgrid'`), both of which run
 * multi-document transactions. A standalone mongod cannot.
 */
export function replicaSetProblem(hello: Document): string | null {
  if (typeof hello.setName === 'string' && hello.setName.length > 0) return null;
  if (hello.msg === 'isdbgrid') return null;
  return REPLICA_SET_REQUIRED;
}

/**
 * The database named in a connection string's path (`mongodb://h1,h2/opsloop?replicaSet=rs0`),
 * or null when it names none. Parsed by hand: a seed list of several hosts is not a WHATWG URL.
 */
export function databaseNameFromUri(uri: string): string | null {
  const match = /^mongodb(?:\+srv)?:\/\/[^/?#]*\/([^?#]*)/.exec(uri);
  const name = match?.[1] ? decodeURIComponent(match[1]) : '';
  return name.length > 0 ? name : null;
}

/** MongoDB's DuplicateKey server error (a unique index refused an insert). */
export function isDuplicateKeyError(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === 11000;
}

/** Errors that mean "the database cannot be reached", as opposed to a bad request or a bug. */
export function isStoreUnavailableError(error: unknown): boolean {
  return (
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoTopologyClosedError ||
    error instanceof MongoNotConnectedError ||
    error instanceof MongoOperationTimeoutError
  );
}

/** Map driver errors to the catalogue: unreachable database → OPS_STORE_UNAVAILABLE; others pass through. */
export function toStoreError(error: unknown): unknown {
  if (error instanceof OpsError) return error;
  if (isStoreUnavailableError(error)) {
    const reason = error instanceof MongoError ? error.message : String(error);
    return new OpsError('OPS_STORE_UNAVAILABLE', `MongoDB is unavailable: ${reason}`, null, { cause: error });
  }
  return error;
}

/** Run a read or an autocommit write, mapping "database unreachable" to OPS_STORE_UNAVAILABLE. */
export async function guarded<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw toStoreError(error);
  }
}
