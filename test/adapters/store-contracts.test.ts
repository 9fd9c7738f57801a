import { describe, it } from 'node:test';
import type { CaseStore } from '../../core/ports/case-store.js';
import { createPostgresCaseStore, type PostgresCaseStore } from '../../adapters/store/postgres/postgres-case-store.js';
import { caseStoreContract } from '../contracts/case-store.contract.js';
import { outboxRelayContract } from '../contracts/outbox-relay.contract.js';
import { evidenceStoreContract } from '../contracts/evidence-store.contract.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { cleanupTestPostgresStore, createTestPostgresStore, testDatabaseUrl } from '../support/postgres.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';

/*
 * The store contracts on every SQL backend: embedded PGlite always, the PostgreSQL server when
 * TEST_DATABASE_URL is set (CI sets it). The Mongo suite runs from test/adapters/mongo.test.ts.
 */

const pglite = {
  name: 'pglite',
  create: (): Promise<CaseStore> => createTestPgliteStore(),
  cleanup: (store: CaseStore) => cleanupTestPgliteStore(store as PgliteCaseStore),
};
caseStoreContract(pglite);
// PGlite has one connection per data dir: "two relays on one database" share the store instance.
outboxRelayContract(pglite);
evidenceStoreContract(pglite);

const POSTGRES_SKIP = 'PostgreSQL suite skipped: TEST_DATABASE_URL is not set';

async function createPostgres(): Promise<CaseStore> {
  const store = await createTestPostgresStore({ max: 60 });
  if (!store) throw new Error(POSTGRES_SKIP);
  return store;
}

if (testDatabaseUrl()) {
  const postgres = {
    name: 'postgres',
    create: createPostgres,
    cleanup: (store: CaseStore) => cleanupTestPostgresStore(store as PostgresCaseStore),
  };
  caseStoreContract(postgres);
  evidenceStoreContract(postgres);
  outboxRelayContract({
    ...postgres,
    // A second opsloop process: its own pool on the same database.
    openSibling: async (store) => {
      const sibling = createPostgresCaseStore({ url: (store as PostgresCaseStore).pool.options.connectionString!, max: 10 });
      await sibling.connect();
      return { store: sibling, close: () => sibling.close() };
    },
  });
} else {
  describe('store contracts: postgres', () => {
    it('PostgreSQL suite', { skip: POSTGRES_SKIP }, () => {});
  });
}
