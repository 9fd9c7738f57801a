import { describe, it } from 'node:test';
import { openPostgresBackend } from '../../adapters/store/postgres/postgres-backend.js';
import { caseStoreContract } from '../contracts/case-store.contract.js';
import { outboxRelayContract } from '../contracts/outbox-relay.contract.js';
import { evidenceStoreContract } from '../contracts/evidence-store.contract.js';
import { caseStoreFixture, pgliteFixture, postgresFixture } from '../support/backends.js';

/*
 * The store contracts on every SQL backend: embedded PGlite always, the PostgreSQL server when
 * TEST_DATABASE_URL is set (CI sets it). The Mongo suite runs from test/adapters/mongo.test.ts.
 */

const pglite = caseStoreFixture(pgliteFixture);
caseStoreContract(pglite);
// PGlite has one connection per data dir: "two relays on one database" share the store instance.
outboxRelayContract(pglite);
evidenceStoreContract(pgliteFixture);

const postgresBackends = postgresFixture({ max: 60 });
if (!postgresBackends.skip) {
  const postgres = caseStoreFixture(postgresBackends);
  caseStoreContract(postgres);
  evidenceStoreContract(postgresBackends);
  const urls = new Map<object, string>();
  outboxRelayContract({
    ...postgres,
    create: async () => {
      const store = await postgres.create();
      urls.set(store, store.pool.options.connectionString!);
      return store;
    },
    // A second opsloop process: its own pool on the same database.
    openSibling: async (store) => {
      const sibling = openPostgresBackend({ url: urls.get(store)!, max: 10 });
      await sibling.connect();
      return { store: sibling.cases, close: () => sibling.disconnect() };
    },
  });
} else {
  describe('store contracts: postgres', () => {
    it('PostgreSQL suite', { skip: postgresBackends.skip }, () => {});
  });
}
