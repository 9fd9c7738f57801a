import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MongoNetworkError, MongoServerError } from 'mongodb';
import { OpsError } from '../../core/errors.js';
import { CASE_STATUSES } from '../../core/fsm/states.js';
import { TIMELINE_KINDS, type CaseRecord, type NewTimelineEntry } from '../../core/schemas/case.js';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';
import {
  REPLICA_SET_REQUIRED,
  caseToDoc,
  claimFromDoc,
  databaseNameFromUri,
  decisionToDoc,
  docToCase,
  docToDecision,
  docToOutboxRecord,
  docToPlan,
  docToTimeline,
  isDuplicateKeyError,
  isStoreUnavailableError,
  outboxToDoc,
  pendingInGroups,
  planToDoc,
  replicaSetProblem,
  timelineToDoc,
  toStoreError,
  toStoredJson,
} from '../../adapters/store/mongo/mongo-mapping.js';
import { CASE_STATUS_ENUM, COUNTERS, INDEXES, TIMELINE_KIND_ENUM, VALIDATORS } from '../../migrations/mongo/0001_init.js';
import { MONGO_MIGRATIONS } from '../../migrations/mongo/index.js';

const T0 = new Date('2026-11-25T10:00:00.000Z');
const T1 = new Date('2026-11-25T10:05:00.000Z');

const aCase: CaseRecord = {
  id: '7d7c7f52-5a0e-4a37-9d0b-6f3f3f0d2a11',
  tenant: 't-001',
  title: 'p95 spike',
  severity: 2,
  service: 'checkout-api',
  env: null,
  requester: 'alice@example.com',
  labels: { 'app.kubernetes.io/name': 'checkout', team: 'payments' },
  status: 'WAIT_GATE',
  version: 4,
  plan_id: '0b7f4c1e-3a57-4c5e-9b7d-1f5d9d0f7e21',
  created_at: T0,
  updated_at: T1,
};

test('a case survives the round trip to its document, and the lock counter stays inside the store', () => {
  const doc = caseToDoc(aCase);
  assert.equal(doc._id, aCase.id);
  assert.equal(doc.lock_seq, 0);
  assert.ok(doc.created_at instanceof Date, 'dates are stored as BSON dates, not strings');
  assert.deepEqual(docToCase({ ...doc, lock_seq: 17 }), aCase);
});

test('documents written before a field existed read back with nulls, not undefined', () => {
  const { service: _s, env: _e, requester: _r, plan_id: _p, ...partial } = caseToDoc(aCase);
  const record = docToCase(partial as ReturnType<typeof caseToDoc>);
  assert.equal(record.service, null);
  assert.equal(record.env, null);
  assert.equal(record.requester, null);
  assert.equal(record.plan_id, null);
});

test('a timeline entry keeps every field and its id, with meta stored as JSON would be', () => {
  const entry: NewTimelineEntry = {
    case_id: aCase.id, kind: 'transition', event: 'gate_approved', actor: 'bob', reason: 'looks fine',
    correlation_id: 'c-1', trace_id: 'tr-1', from_status: 'WAIT_GATE', to_status: 'EXECUTING', version: 5,
    meta: { at: T1, skipped: undefined, nested: { n: 1.5, list: [1, 'two', null] } },
    created_at: T1,
  };
  const doc = timelineToDoc(entry, 42);
  assert.equal(doc._id, 42);
  assert.deepEqual(docToTimeline(doc), {
    ...entry,
    id: 42,
    meta: { at: '2026-11-25T10:05:00.000Z', nested: { n: 1.5, list: [1, 'two', null] } },
  });
});

test('a new outbox document is pending, unleased and ordered by its seq', () => {
  const envelope: OutboxEnvelope = {
    id: 'msg-1', topic: 'cmd.exec.run', occurred_at: T1.toISOString(), case_id: aCase.id, version: 5,
    trace_id: null, correlation_id: 'c-1', data: { case_id: aCase.id, plan_id: aCase.plan_id },
  };
  const doc = outboxToDoc({ envelope, group: 'loop' }, 9);
  assert.equal(doc._id, 'msg-1:loop', 'a loop copy is named after its message and group');
  assert.equal(doc.group, 'loop');
  assert.equal(outboxToDoc({ envelope, group: 'side' }, 10)._id, 'msg-1', 'the side copy keeps the message id');
  assert.equal(doc.key, aCase.id);
  assert.equal(doc.pending, true);
  assert.equal(doc.published_at, null);
  assert.equal(doc.lease_owner, null);
  assert.equal(doc.lease_until, null);
  assert.equal(doc.attempts, 0);
  assert.deepEqual(doc.created_at, T1);
  assert.deepEqual(docToOutboxRecord({ ...doc, attempts: 2 }), { seq: 9, group: 'loop', envelope, attempts: 2 });
});

test('an envelope with an unparsable occurred_at still gets a created_at', () => {
  const doc = outboxToDoc({ group: 'side', envelope: {
    id: 'm', topic: 't', occurred_at: 'not a date', case_id: 'c', version: 1, trace_id: null, correlation_id: null, data: {},
  } }, 1);
  assert.ok(!Number.isNaN(doc.created_at.getTime()));
});

test('plans and decisions round-trip', () => {
  const plan = { id: 'p-1', case_id: aCase.id, plan: { title: 'roll back', steps: [{ action: 'noop', timeout_s: 10, retry: 0 }] }, source: 'planner', created_at: T0 };
  assert.deepEqual(docToPlan(planToDoc(plan)), plan);
  const decision = { id: 'd-1', case_id: aCase.id, plan_id: null, decision: { outcome: 'approved', actor: 'bob' }, created_at: T1 };
  const doc = decisionToDoc(decision, 3);
  assert.equal(doc.seq, 3);
  assert.deepEqual(docToDecision(doc), decision);
});

test('toStoredJson behaves like a jsonb round trip', () => {
  assert.deepEqual(toStoredJson({ a: undefined, b: T0, c: [undefined] }), { b: T0.toISOString(), c: [null] });
  assert.equal(toStoredJson(undefined), null);
});

test('a stored key answers with its response; a key without one is a bug, not a replay', () => {
  const response = { ok: true, kind: 'created', data: { case_id: aCase.id } };
  assert.deepEqual(claimFromDoc({ _id: 'k', request_hash: 'h', response, created_at: T0 }), { claimed: false, requestHash: 'h', response });
  // Stored before outcomes: the HTTP answer, read as the outcome it was.
  const legacy = { status: 201, body: { data: { case_id: aCase.id } } };
  assert.deepEqual(claimFromDoc({ _id: 'k', request_hash: 'h', response: legacy, created_at: T0 }), { claimed: false, requestHash: 'h', response });
  const legacyError = { status: 403, body: { error: { code: 'OPS_FORBIDDEN', message: 'no', details: { rule: 'requester' } } } };
  assert.deepEqual(claimFromDoc({ _id: 'k', request_hash: 'h', response: legacyError, created_at: T0 }),
    { claimed: false, requestHash: 'h', response: { ok: false, code: 'OPS_FORBIDDEN', message: 'no', details: { rule: 'requester' } } });
  assert.throws(() => claimFromDoc({ _id: 'k', request_hash: 'h', response: null, created_at: T0 }), /without a response/);
});

test('only replica-set members and mongos routers can host the store', () => {
  assert.equal(replicaSetProblem({ isWritablePrimary: true, setName: 'rs0' }), null);
  assert.equal(replicaSetProblem({ isWritablePrimary: true, msg: 'isdbgrid' }), null);
  assert.equal(replicaSetProblem({ isWritablePrimary: true, maxWireVersion: 21 }), REPLICA_SET_REQUIRED);
  assert.equal(replicaSetProblem({ setName: '' }), REPLICA_SET_REQUIRED);
  assert.ok(!REPLICA_SET_REQUIRED.includes('\n'), 'the start-up error is one line');
  assert.match(REPLICA_SET_REQUIRED, /MONGODB_URI/);
  assert.match(REPLICA_SET_REQUIRED, /--replSet/);
  assert.match(REPLICA_SET_REQUIRED, /rs\.initiate\(\)/);
});

test('the database name comes from the URI path when there is one', () => {
  assert.equal(databaseNameFromUri('mongodb://127.0.0.1:27017/opsloop?replicaSet=rs0'), 'opsloop');
  assert.equal(databaseNameFromUri('mongodb://u:p@h1:1,h2:2,h3:3/ops_db'), 'ops_db');
  assert.equal(databaseNameFromUri('mongodb+srv://cluster0.example.net/x%2Dy?retryWrites=true'), 'x-y');
  assert.equal(databaseNameFromUri('mongodb://127.0.0.1:27017/?replicaSet=rs0'), null);
  assert.equal(databaseNameFromUri('mongodb://127.0.0.1:27017'), null);
});

test('driver errors are classified: duplicate key, unreachable database, everything else', () => {
  const duplicate = new MongoServerError({ message: 'E11000 duplicate key error', code: 11000 });
  const conflict = new MongoServerError({ message: 'WriteConflict', code: 112 });
  assert.equal(isDuplicateKeyError(duplicate), true);
  assert.equal(isDuplicateKeyError(conflict), false);
  assert.equal(isDuplicateKeyError(new Error('E11000')), false);

  const network = new MongoNetworkError('connection reset');
  assert.equal(isStoreUnavailableError(network), true);
  assert.equal(isStoreUnavailableError(conflict), false);
  const mapped = toStoreError(network);
  assert.ok(mapped instanceof OpsError);
  assert.equal(mapped.code, 'OPS_STORE_UNAVAILABLE');
  assert.equal(mapped.status, 503);
  assert.equal(mapped.cause, network);
  assert.equal(toStoreError(conflict), conflict);
  const ops = new OpsError('OPS_CASE_NOT_FOUND');
  assert.equal(toStoreError(ops), ops);
});

test('the Mongo schema snapshot matches the statuses and timeline kinds the core knows', () => {
  assert.deepEqual(CASE_STATUS_ENUM, [...CASE_STATUSES]);
  assert.deepEqual(TIMELINE_KIND_ENUM, [...TIMELINE_KINDS]);
  assert.deepEqual(VALIDATORS.ops_case?.properties.status, { enum: CASE_STATUS_ENUM });
});

test('the migration creates every collection the store uses, with unique keys where the design needs them', () => {
  for (const name of ['ops_case', 'case_timeline', 'outbox', 'idempotency', 'plan_proposed', 'plan_approved', 'inbox', 'counters']) {
    assert.ok(VALIDATORS[name], `validator for ${name}`);
  }
  const unique = INDEXES.filter((i) => i.options.unique).map((i) => `${i.collection}:${Object.keys(i.keys).join(',')}`);
  assert.deepEqual(unique.sort(), ['case_timeline:case_id,_id', 'inbox:consumer,msg_id', 'outbox:seq']);
  const names = INDEXES.map((i) => i.options.name);
  assert.equal(new Set(names).size, names.length, 'index names are unique');
  const partial = INDEXES.find((i) => i.options.name === 'outbox_unpublished');
  assert.deepEqual(partial?.options.partialFilterExpression, { pending: true });
  assert.deepEqual([...COUNTERS].sort(), ['case_timeline', 'outbox', 'plan_approved']);
});

test('Mongo migrations are in ascending order with distinct versions', () => {
  const versions = MONGO_MIGRATIONS.map((m) => m.version);
  assert.ok(versions.length >= 1);
  assert.deepEqual(versions, [...new Set(versions)].sort((a, b) => a - b));
});

test('claim and backlog select pending copies of the wanted groups; unknown groups are dropped, none left matches nothing', () => {
  assert.deepEqual(pendingInGroups(['loop']), { pending: true, group: { $in: ['loop'] } });
  assert.deepEqual(pendingInGroups(['loop', 'side']), { pending: true, group: { $in: ['loop', 'side'] } });
  assert.deepEqual(pendingInGroups(['side', 'nope' as never]), { pending: true, group: { $in: ['side'] } });
  assert.equal(pendingInGroups([]), null);
  assert.equal(pendingInGroups(['nope' as never]), null);
});
