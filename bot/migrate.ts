import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { acquireDataDirLock } from '../adapters/store/pglite/data-dir-lock.js';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import { loadConfigOrExit, storeKind, type Config } from '../adapters/config.js';
import { applyMongoMigrations } from '../adapters/store/mongo/mongo-migrate.js';
import { pgPoolSqlClient, pgliteSqlClient } from '../adapters/store/sql/sql-client.js';
import { applySqlMigrations } from '../adapters/store/sql/sql-migrate.js';

/** Apply pending migrations on the configured store; returns the versions applied now. */
export async function migrate(config: Config): Promise<{ store: string; applied: string[] }> {
  switch (storeKind(config)) {
    case 'postgres': {
      const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 1, connectionTimeoutMillis: 5000 });
      pool.on('error', () => undefined);
      try {
        return { store: 'postgres', applied: await applySqlMigrations(pgPoolSqlClient(pool)) };
      } finally {
        await pool.end();
      }
    }
    case 'mongodb': {
      const client = new MongoClient(config.mongodbUri!, { serverSelectionTimeoutMS: 5000 });
      try {
        await client.connect();
        const dbName = config.mongodbDb ?? (new URL(config.mongodbUri!).pathname.replace(/^\//, '') || 'opsloop');
        return { store: 'mongodb', applied: (await applyMongoMigrations(client.db(dbName))).map(String) };
      } finally {
        await client.close();
      }
    }
    case 'pglite': {
      const dataDir = resolve(config.dataDir);
      mkdirSync(dataDir, { recursive: true });
      // One process per data directory: refuses (DataDirLockedError) while an opsloop holds it.
      const lock = acquireDataDirLock(dataDir);
      try {
        const db = await PGlite.create(dataDir);
        try {
          return { store: `pglite (${dataDir})`, applied: await applySqlMigrations(pgliteSqlClient(db)) };
        } finally {
          await db.close();
        }
      } finally {
        lock.release();
      }
    }
  }
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  if (!config) return;
  try {
    const { store, applied } = await migrate(config);
    if (applied.length === 0) process.stdout.write(`${store}: up to date, no migration applied\n`);
    else process.stdout.write(`${store}: applied ${applied.join(', ')}\n`);
  } catch (err) {
    process.stderr.write(`migrate failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) await main();
