import { after, before, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { MongoBackend } from '../../adapters/store/mongo/mongo-backend.js';
import { createMongoCaseStore, type MongoCaseStore } from '../../adapters/store/mongo/mongo-case-store.js';
import { applyMongoMigrations } from '../../adapters/store/mongo/mongo-migrate.js';
import { MONGO_MIGRATIONS } from '../../migrations/mongo/index.js';
import { caseStoreContract } from '../contracts/case-store.contract.js';
import { evidenceStoreContract } from '../contracts/evidence-store.contract.js';
import { caseStoreFixture, cleanupTestMongoBackend, createTestMongoBackend, MONGO_SKIP_REASON, mongoFixture, testMongoUri } from '../support/backends.js';

/**
 * The MongoDB store against a real replica set. No MongoDB server can be obtained on this
 * machine, so the suite runs only when TEST_MONGODB_URI names one (e.g.
 * `mongodb://127.0.0.1:27017/?replicaSet=rs0`); each store gets its own database, dropped after.
 * test/adapters/mongo-mapping.test.ts and mongo-connect.test.ts cover what runs without a server.
 */

const uri = testMongoUri();

if (!uri) {
  test('MongoDB store', { skip: MONGO_SKIP_REASON }, () => {});
} else {
  caseStoreContract(caseStoreFixture(mongoFixture));
  evidenceStoreContract(mongoFixture);

  describe('MongoDB store specifics', () => {
    let backend: MongoBackend;
    let store: MongoCaseStore;
    before(async () => {
      backend = await createTestMongoBackend(uri);
      store = backend.cases;
    });
    after(async () => {
      if (backend) await cleanupTestMongoBackend(backend);
    });

    it('connect applies the migrations once; re-running them changes nothing', async () => {
      const recorded = await store.db.collection('schema_migrations').find().toArray();
      assert.deepEqual(recorded.map((m) => m._id), MONGO_MIGRATIONS.map((m) => m.version));
      const indexesBefore = await store.db.collection('outbox').indexes();
      assert.deepEqual(await applyMongoMigrations(store.db), [], 'nothing left to apply');
      for (const migration of MONGO_MIGRATIONS) await migration.up(store.db);
      assert.deepEqual(await store.db.collection('outbox').indexes(), indexesBefore);
      assert.equal(await store.db.collection('schema_migrations').countDocuments(), MONGO_MIGRATIONS.length);
      await store.connect();
    });

    it('creates the collections and indexes the design names', async () => {
      const names = (await store.db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
      for (const name of ['case_timeline', 'chat_message', 'counters', 'idempotency', 'inbox', 'ops_case', 'outbox', 'plan_approved', 'plan_proposed', 'schema_migrations', 'sim_message']) {
        assert.ok(names.includes(name), `collection ${name} exists (have ${names.join(', ')})`);
      }
      const outboxIndexes = await store.db.collection('outbox').indexes();
      assert.ok(outboxIndexes.some((i) => i.name === 'outbox_seq' && i.unique));
      assert.ok(outboxIndexes.some((i) => i.name === 'outbox_unpublished' && i.partialFilterExpression));
      const inboxIndexes = await store.db.collection('inbox').indexes();
      assert.ok(inboxIndexes.some((i) => i.name === 'inbox_consumer_msg' && i.unique));
      const chatIndexes = await store.db.collection('chat_message').indexes();
      assert.ok(chatIndexes.some((i) => i.name === 'chat_message_platform_key' && i.unique));
      assert.ok(chatIndexes.some((i) => i.name === 'chat_message_thread' && i.partialFilterExpression));
    });

    it('the validator refuses a case with an unknown status or a fractional version', async () => {
      const now = new Date();
      const base = {
        _id: randomUUID(), tenant: 't', title: 'x', severity: 3, service: null, env: null, requester: null,
        labels: {}, status: 'NEW', version: 1, plan_id: null, created_at: now, updated_at: now, lock_seq: 0,
      };
      const cases = store.db.collection<{ _id: string; [field: string]: unknown }>('ops_case');
      await assert.rejects(cases.insertOne({ ...base, status: 'DONE' }), /Document failed validation/);
      await assert.rejects(cases.insertOne({ ...base, _id: randomUUID(), version: 1.5 }), /Document failed validation/);
      await cases.insertOne({ ...base, _id: randomUUID() });
    });

    it('rollbackOnly aborts the transaction and still returns the value', async () => {
      const msg = randomUUID();
      const value = await store.transact(async (tx) => {
        await tx.recordInbox('rollback-test', msg, new Date());
        tx.rollbackOnly();
        return 'kept';
      });
      assert.equal(value, 'kept');
      assert.equal(await store.queries.inboxHas('rollback-test', msg), false);
    });

    it('concurrent inbox records of one message: exactly one wins', async () => {
      const msg = randomUUID();
      const results = await Promise.all(Array.from({ length: 20 }, () =>
        store.transact((tx) => tx.recordInbox('race', msg, new Date()))));
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal(await store.db.collection('inbox').countDocuments({ consumer: 'race', msg_id: msg }), 1);
    });

    it('a client passed in is not closed by the store', async () => {
      const borrowed = await createMongoCaseStore({ uri, client: store.client, dbName: store.db.databaseName });
      assert.equal(borrowed.ownsConnection, false);
      await borrowed.connect();
      await borrowed.close();
      await store.ping();
    });
  });
}
