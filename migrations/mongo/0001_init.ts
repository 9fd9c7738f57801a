import { MongoServerError, type CreateIndexesOptions, type Db, type Document } from 'mongodb';
import type { MongoMigration } from './migration.js';

/**
 * Mongo schema, version 1: the collections that mirror migrations/0001_init.sql, their
 * $jsonSchema validators and indexes, and the sequence counters. Every step is idempotent
 * (create-if-missing, collMod, createIndex with a fixed name), so a re-run is a no-op.
 *
 * The enums are written out here on purpose: a migration is a snapshot of the schema at its
 * version, not a view of today's code (test/adapters/mongo-mapping.test.ts keeps them in step).
 */

export const CASE_STATUS_ENUM = ['NEW', 'ANALYZING', 'PLANNING', 'WAIT_GATE', 'EXECUTING', 'VERIFYING', 'CLOSED', 'PARKED'];
export const TIMELINE_KIND_ENUM = ['created', 'transition', 'rejected', 'note'];

const INTEGER = ['int', 'long'];
const NULLABLE_STRING = ['string', 'null'];
const NULLABLE_DATE = ['date', 'null'];

export const VALIDATORS: Record<string, Document> = {
  ops_case: {
    bsonType: 'object',
    required: ['_id', 'tenant', 'title', 'severity', 'labels', 'status', 'version', 'created_at', 'updated_at'],
    properties: {
      _id: { bsonType: 'string' },
      tenant: { bsonType: 'string' },
      title: { bsonType: 'string' },
      severity: { bsonType: INTEGER, minimum: 1, maximum: 4 },
      service: { bsonType: NULLABLE_STRING },
      env: { bsonType: NULLABLE_STRING },
      requester: { bsonType: NULLABLE_STRING },
      labels: { bsonType: 'object' },
      status: { enum: CASE_STATUS_ENUM },
      version: { bsonType: INTEGER, minimum: 1 },
      plan_id: { bsonType: NULLABLE_STRING },
      created_at: { bsonType: 'date' },
      updated_at: { bsonType: 'date' },
      lock_seq: { bsonType: INTEGER },
    },
  },
  case_timeline: {
    bsonType: 'object',
    required: ['_id', 'case_id', 'kind', 'event', 'actor', 'version', 'meta', 'created_at'],
    properties: {
      _id: { bsonType: INTEGER },
      case_id: { bsonType: 'string' },
      kind: { enum: TIMELINE_KIND_ENUM },
      event: { bsonType: 'string' },
      actor: { bsonType: 'string' },
      reason: { bsonType: NULLABLE_STRING },
      correlation_id: { bsonType: NULLABLE_STRING },
      trace_id: { bsonType: NULLABLE_STRING },
      from_status: { bsonType: NULLABLE_STRING },
      to_status: { bsonType: NULLABLE_STRING },
      version: { bsonType: INTEGER },
      meta: { bsonType: 'object' },
      created_at: { bsonType: 'date' },
    },
  },
  outbox: {
    bsonType: 'object',
    required: ['_id', 'seq', 'topic', 'key', 'envelope', 'created_at', 'attempts'],
    properties: {
      _id: { bsonType: 'string' },
      seq: { bsonType: INTEGER },
      topic: { bsonType: 'string' },
      key: { bsonType: 'string' },
      envelope: { bsonType: 'object', required: ['id', 'topic', 'occurred_at', 'case_id', 'version', 'data'] },
      created_at: { bsonType: 'date' },
      pending: { enum: [true] },
      published_at: { bsonType: NULLABLE_DATE },
      lease_owner: { bsonType: NULLABLE_STRING },
      lease_until: { bsonType: NULLABLE_DATE },
      attempts: { bsonType: INTEGER, minimum: 0 },
    },
  },
  idempotency: {
    bsonType: 'object',
    required: ['_id', 'request_hash', 'created_at'],
    properties: {
      _id: { bsonType: 'string' },
      request_hash: { bsonType: 'string' },
      response: { bsonType: ['object', 'null'] },
      created_at: { bsonType: 'date' },
    },
  },
  plan_proposed: {
    bsonType: 'object',
    required: ['_id', 'case_id', 'plan', 'source', 'created_at'],
    properties: {
      _id: { bsonType: 'string' },
      case_id: { bsonType: 'string' },
      plan: { bsonType: 'object' },
      source: { bsonType: 'string' },
      created_at: { bsonType: 'date' },
    },
  },
  plan_approved: {
    bsonType: 'object',
    required: ['_id', 'case_id', 'decision', 'seq', 'created_at'],
    properties: {
      _id: { bsonType: 'string' },
      case_id: { bsonType: 'string' },
      plan_id: { bsonType: NULLABLE_STRING },
      decision: { bsonType: 'object' },
      seq: { bsonType: INTEGER },
      created_at: { bsonType: 'date' },
    },
  },
  inbox: {
    bsonType: 'object',
    required: ['consumer', 'msg_id', 'processed_at'],
    properties: {
      consumer: { bsonType: 'string' },
      msg_id: { bsonType: 'string' },
      processed_at: { bsonType: 'date' },
    },
  },
  counters: {
    bsonType: 'object',
    required: ['_id', 'value'],
    properties: { _id: { bsonType: 'string' }, value: { bsonType: INTEGER } },
  },
};

interface IndexDef {
  collection: string;
  keys: Record<string, 1 | -1>;
  options: CreateIndexesOptions & { name: string };
}

export const INDEXES: readonly IndexDef[] = [
  { collection: 'ops_case', keys: { status: 1, created_at: -1 }, options: { name: 'ops_case_status' } },
  { collection: 'ops_case', keys: { created_at: -1, _id: -1 }, options: { name: 'ops_case_created' } },
  { collection: 'case_timeline', keys: { case_id: 1, _id: 1 }, options: { name: 'case_timeline_case', unique: true } },
  // Message id is `_id` (unique by itself); seq is the delivery order and must be unique too.
  { collection: 'outbox', keys: { seq: 1 }, options: { name: 'outbox_seq', unique: true } },
  // Only unpublished messages carry `pending: true`, so this index stays as small as the backlog.
  {
    collection: 'outbox',
    keys: { pending: 1, seq: 1 },
    options: { name: 'outbox_unpublished', partialFilterExpression: { pending: true } },
  },
  { collection: 'plan_proposed', keys: { case_id: 1 }, options: { name: 'plan_proposed_case' } },
  { collection: 'plan_approved', keys: { case_id: 1, created_at: -1, seq: -1 }, options: { name: 'plan_approved_case' } },
  { collection: 'inbox', keys: { consumer: 1, msg_id: 1 }, options: { name: 'inbox_consumer_msg', unique: true } },
];

/** Sequences the store increments inside its transactions; seeded here so no transaction has to upsert them. */
export const COUNTERS = ['case_timeline', 'outbox', 'plan_approved'];

const NAMESPACE_EXISTS = 48;

/** Create the collection with its validator, or bring an existing one's validator up to date. */
async function ensureCollection(db: Db, name: string, validator: Document): Promise<void> {
  const options = { validator: { $jsonSchema: validator }, validationLevel: 'strict', validationAction: 'error' } as const;
  const existing = await db.listCollections({ name }, { nameOnly: true }).toArray();
  if (existing.length === 0) {
    try {
      await db.createCollection(name, options);
      return;
    } catch (error) {
      // Another process created it between our check and our create: fall through to collMod.
      if (!(error instanceof MongoServerError && error.code === NAMESPACE_EXISTS)) throw error;
    }
  }
  await db.command({ collMod: name, ...options });
}

export const migration0001: MongoMigration = {
  version: 1,
  name: 'init',
  async up(db: Db): Promise<void> {
    for (const [name, validator] of Object.entries(VALIDATORS)) {
      await ensureCollection(db, name, validator);
    }
    for (const index of INDEXES) {
      await db.collection(index.collection).createIndex(index.keys, index.options);
    }
    for (const name of COUNTERS) {
      await db.collection<{ _id: string; value: number }>('counters').updateOne(
        { _id: name },
        { $setOnInsert: { value: 0 } },
        { upsert: true },
      );
    }
  },
};
