import { describe, it } from 'node:test';
import type { CaseStore } from '../../core/ports/case-store.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import type { PostgresCaseStore } from '../../adapters/store/postgres/postgres-case-store.js';
import type { SqlCaseStore } from '../../adapters/store/sql/sql-case-store.js';
import { auditChainContract, type TimelineTamper } from '../contracts/audit-chain.contract.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { cleanupTestPostgresStore, createTestPostgresStore, testDatabaseUrl } from '../support/postgres.js';

/* The audit chain contract on every SQL backend, as test/adapters/store-contracts.test.ts runs the store contract. */

/** A direct UPDATE/DELETE on case_timeline, bypassing the store. */
async function tamperSql(store: CaseStore, timelineId: number, change: TimelineTamper): Promise<void> {
  await (store as SqlCaseStore).runSql(async (q) => {
    if (change === 'delete') await q.query('DELETE FROM case_timeline WHERE id = $1', [timelineId]);
    else if ('reason' in change) await q.query('UPDATE case_timeline SET reason = $2 WHERE id = $1', [timelineId, change.reason]);
    else await q.query('UPDATE case_timeline SET meta = $2::jsonb WHERE id = $1', [timelineId, JSON.stringify(change.meta)]);
  });
}

auditChainContract({
  name: 'pglite',
  create: () => createTestPgliteStore(),
  cleanup: (store) => cleanupTestPgliteStore(store as PgliteCaseStore),
  tamper: tamperSql,
});

if (testDatabaseUrl()) {
  auditChainContract({
    name: 'postgres',
    create: async () => {
      const store = await createTestPostgresStore({ max: 20 });
      if (!store) throw new Error('TEST_DATABASE_URL is not set');
      return store;
    },
    cleanup: (store) => cleanupTestPostgresStore(store as PostgresCaseStore),
    tamper: tamperSql,
  });
} else {
  describe('audit chain contract: postgres', () => {
    it('PostgreSQL suite', { skip: 'TEST_DATABASE_URL is not set' }, () => {});
  });
}
