import { after, before, describe, test } from 'node:test';
import type { OpsloopBackend } from '../../core/ports/backend.js';
import type { CaseStore } from '../../core/ports/case-store.js';
import type { MongoBackend } from '../../adapters/store/mongo/mongo-backend.js';
import type { PgliteBackend } from '../../adapters/store/pglite/pglite-backend.js';
import type { PostgresServerBackend } from '../../adapters/store/postgres/postgres-backend.js';
import { cleanupTestPgliteBackend, createTestPgliteBackend } from './pglite.js';
import { POSTGRES_SKIP_REASON, cleanupTestPostgresBackend, createTestPostgresBackend, testDatabaseUrl } from './postgres.js';

/**
 * One database for the contract suites (`{name, create, cleanup, skip}`, like agenda's
 * repository-test-suite): `create` gives a connected, migrated, empty backend; `cleanup` disconnects
 * it and removes its data. `skip` is the reason the database is not available here, printed with
 * the skipped suite.
 */
export interface BackendFixture<B extends OpsloopBackend = OpsloopBackend> {
  name: string;
  create(): Promise<B>;
  cleanup(backend: B): Promise<void>;
  skip: string | false;
}

/** Why the MongoDB suites are skipped when TEST_MONGODB_URI is not set. */
export const MONGO_SKIP_REASON = 'TEST_MONGODB_URI is not set (e.g. mongodb://127.0.0.1:27017/?replicaSet=rs0; no MongoDB server can be obtained on this machine); MongoDB suite skipped';

export function testMongoUri(): string | null {
  return process.env.TEST_MONGODB_URI?.trim() || null;
}

/** Embedded PGlite, always available (a copy of the migrated template data dir). */
export const pgliteFixture: BackendFixture<PgliteBackend> = {
  name: 'pglite',
  create: createTestPgliteBackend,
  cleanup: cleanupTestPgliteBackend,
  skip: false,
};

/** A fresh database on the TEST_DATABASE_URL server (pool of `max`), when it is set. */
export function postgresFixture(options: { max?: number } = {}): BackendFixture<PostgresServerBackend> {
  return {
    name: 'postgres',
    async create() {
      const backend = await createTestPostgresBackend(options);
      if (!backend) throw new Error(POSTGRES_SKIP_REASON);
      return backend;
    },
    cleanup: cleanupTestPostgresBackend,
    skip: testDatabaseUrl() ? false : POSTGRES_SKIP_REASON,
  };
}

const mongoRunId = `${process.pid}_${Date.now().toString(36)}`;
let mongoDatabases = 0;

/** A fresh MongoDB backend on its own database of the TEST_MONGODB_URI replica set. */
export async function createTestMongoBackend(uri: string, prefix = 'opsloop_test'): Promise<MongoBackend> {
  const { openMongoBackend } = await import('../../adapters/store/mongo/mongo-backend.js');
  const backend = await openMongoBackend({ uri, dbName: `${prefix}_${mongoRunId}_${++mongoDatabases}` });
  await backend.connect();
  return backend;
}

/** Drop the backend's database and disconnect. */
export async function cleanupTestMongoBackend(backend: MongoBackend): Promise<void> {
  try {
    await backend.cases.db.dropDatabase();
  } finally {
    await backend.disconnect();
  }
}

/** A fresh database on the TEST_MONGODB_URI replica set, when it is set. */
export const mongoFixture: BackendFixture<MongoBackend> = {
  name: 'mongodb',
  create: () => createTestMongoBackend(testMongoUri() ?? ''),
  cleanup: cleanupTestMongoBackend,
  skip: testMongoUri() ? false : MONGO_SKIP_REASON,
};

/** Every backend, in the order the suites run on them. */
export function backendFixtures(options: { postgresMax?: number } = {}): BackendFixture[] {
  return [pgliteFixture, postgresFixture({ ...(options.postgresMax ? { max: options.postgresMax } : {}) }), mongoFixture];
}

/** A fixture of the backend's case store, for the suites written against the CaseStore port. */
export interface CaseStoreFixture<S extends CaseStore> {
  name: string;
  create(): Promise<S>;
  cleanup(store: CaseStore): Promise<void>;
  skip: string | false;
}

/** `fixture`'s case stores; cleaning one up cleans up the backend it came from. */
export function caseStoreFixture<S extends CaseStore>(fixture: BackendFixture<OpsloopBackend<S>>): CaseStoreFixture<S> {
  const open = new Map<CaseStore, OpsloopBackend<S>>();
  return {
    name: fixture.name,
    skip: fixture.skip,
    async create() {
      const backend = await fixture.create();
      open.set(backend.cases, backend);
      return backend.cases;
    },
    async cleanup(store) {
      const backend = open.get(store);
      if (!backend) throw new Error(`cleanup of a ${fixture.name} store this fixture did not create`);
      open.delete(store);
      await fixture.cleanup(backend);
    },
  };
}

/**
 * Declare the suite `title` on `fixture`'s database: a skipped test printing the reason when the
 * database is not available here, else a describe whose `backend()` is a fresh connected backend,
 * cleaned up after the suite's own after-hooks ran.
 */
export function describeOnBackend<B extends OpsloopBackend>(title: string, fixture: BackendFixture<B>, body: (backend: () => B) => void): void {
  const name = `${title} on ${fixture.name}`;
  if (fixture.skip) {
    test(name, { skip: fixture.skip }, () => {});
    return;
  }
  describe(name, () => {
    let backend: B | undefined;
    before(async () => { backend = await fixture.create(); });
    body(() => {
      if (!backend) throw new Error(`no ${fixture.name} backend: its creation failed`);
      return backend;
    });
    after(async () => { if (backend) await fixture.cleanup(backend); });
  });
}
