import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { isOpsError } from '../../core/errors.js';
import { createPgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { createPostgresCaseStore } from '../../adapters/store/postgres/postgres-case-store.js';
import { pgPoolSqlClient } from '../../adapters/store/sql/sql-client.js';
import { applySqlMigrations, readSqlMigrations } from '../../adapters/store/sql/sql-migrate.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { POSTGRES_SKIP_REASON, testDatabaseUrl, withDatabase } from '../support/postgres.js';

describe('SQL store failures and start-up', () => {
  it('maps an unreachable server to OPS_STORE_UNAVAILABLE', async () => {
    const store = createPostgresCaseStore({ url: 'postgres://postgres@127.0.0.1:1/opsloop' });
    try {
      await assert.rejects(store.connect(), (e: unknown) => isOpsError(e) && e.code === 'OPS_STORE_UNAVAILABLE' && e.status === 503);
      await assert.rejects(store.ping(), (e: unknown) => isOpsError(e) && e.code === 'OPS_STORE_UNAVAILABLE');
      await assert.rejects(store.transact(async () => 1), (e: unknown) => isOpsError(e) && e.code === 'OPS_STORE_UNAVAILABLE');
    } finally {
      await store.close();
    }
  });

  it('maps a closed PGlite store to OPS_STORE_UNAVAILABLE', async () => {
    const store = await createTestPgliteStore();
    await cleanupTestPgliteStore(store);
    await assert.rejects(store.ping(), (e: unknown) => isOpsError(e) && e.code === 'OPS_STORE_UNAVAILABLE');
  });

  it('does not close a PGlite instance the caller passed in', async () => {
    const owner = await createTestPgliteStore();
    try {
      const borrowed = createPgliteCaseStore({ db: owner.db });
      assert.equal(borrowed.ownsConnection, false);
      await borrowed.connect();
      await borrowed.close();
      assert.equal(owner.db.closed, false);
      await owner.ping();
    } finally {
      await cleanupTestPgliteStore(owner);
    }
  });

  it('two processes migrating one fresh server database at once apply each file exactly once',
    { skip: testDatabaseUrl() ? false : POSTGRES_SKIP_REASON }, async () => {
      const adminUrl = testDatabaseUrl()!;
      const database = `opsloop_t_${randomBytes(6).toString('hex')}`;
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${database}`);
      const pools = [0, 1].map(() => new pg.Pool({ connectionString: withDatabase(adminUrl, database), max: 2 }));
      for (const pool of pools) pool.on('error', () => undefined); // idle clients killed by the DROP below
      try {
        const results = await Promise.all(pools.map((pool) => applySqlMigrations(pgPoolSqlClient(pool))));
        const files = (await readSqlMigrations()).map((m) => m.version);
        assert.deepEqual([...results[0]!, ...results[1]!].sort(), files);
        const recorded = await pools[0]!.query('SELECT count(*)::int AS n FROM schema_migrations');
        assert.equal(recorded.rows[0].n, files.length);
      } finally {
        await Promise.all(pools.map((pool) => pool.end()));
        await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
        await admin.end();
      }
    });
});
