import type { SqlCaseStore } from '../../adapters/store/sql/sql-case-store.js';
import { auditChainContract, type TimelineTamper } from '../contracts/audit-chain.contract.js';
import { caseStoreFixture, pgliteFixture, postgresFixture } from '../support/backends.js';

/* The audit chain contract on every SQL backend, as test/adapters/store-contracts.test.ts runs the store contract. */

/** A direct UPDATE/DELETE on case_timeline, bypassing the store. */
async function tamperSql(store: SqlCaseStore, timelineId: number, change: TimelineTamper): Promise<void> {
  await store.runSql(async (q) => {
    if (change === 'delete') await q.query('DELETE FROM case_timeline WHERE id = $1', [timelineId]);
    else if ('reason' in change) await q.query('UPDATE case_timeline SET reason = $2 WHERE id = $1', [timelineId, change.reason]);
    else await q.query('UPDATE case_timeline SET meta = $2::jsonb WHERE id = $1', [timelineId, JSON.stringify(change.meta)]);
  });
}

auditChainContract({ ...caseStoreFixture(pgliteFixture), tamper: tamperSql });
auditChainContract({ ...caseStoreFixture(postgresFixture({ max: 20 })), tamper: tamperSql });
