import { cp, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { openPgliteBackend, type PgliteBackend } from '../../adapters/store/pglite/pglite-backend.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { openPgliteWorkerBackend, type PgliteWorkerBackend } from '../../adapters/store/pglite/pglite-worker-store.js';
import { pgliteSqlClient } from '../../adapters/store/sql/sql-client.js';
import { applySqlMigrations, sqlMigrationsFingerprint } from '../../adapters/store/sql/sql-migrate.js';

/*
 * initdb in PGlite takes seconds and ~800 MB; reopening a data dir is fast. So each process
 * builds (or finds) one migrated template data dir, keyed by the migrations' contents, and
 * every test store starts from a copy of it. Several test processes may race to build the
 * template: each builds into its own temp dir and renames it into place; the loser discards
 * its copy and uses the winner's.
 */

let templateDir: Promise<string> | null = null;

/** Path of the migrated template data dir, built on first use. */
export function pgliteTemplateDir(): Promise<string> {
  templateDir ??= buildTemplate().catch((error: unknown) => {
    templateDir = null;
    throw error;
  });
  return templateDir;
}

async function buildTemplate(): Promise<string> {
  const target = join(tmpdir(), `opsloop-pglite-template-${await sqlMigrationsFingerprint()}`);
  if (await isReadyTemplate(target)) return target;
  const building = await mkdtemp(join(tmpdir(), 'opsloop-pglite-build-'));
  const dataDir = join(building, 'data');
  const db = await PGlite.create(dataDir);
  try {
    await applySqlMigrations(pgliteSqlClient(db));
  } finally {
    await db.close();
  }
  try {
    await rename(dataDir, target);
  } catch (error) {
    if (!(await isReadyTemplate(target))) throw error;
  } finally {
    await rm(building, { recursive: true, force: true });
  }
  return target;
}

async function isReadyTemplate(dir: string): Promise<boolean> {
  // rename is atomic, so a dir that exists under the final name is complete.
  return stat(join(dir, 'PG_VERSION')).then(() => true, () => false);
}

/** A fresh, migrated, connected PGlite backend in its own temp data dir. */
export async function createTestPgliteBackend(): Promise<PgliteBackend> {
  const template = await pgliteTemplateDir();
  const dataDir = join(await mkdtemp(join(tmpdir(), 'opsloop-pglite-test-')), 'data');
  await cp(template, dataDir, { recursive: true });
  const backend = openPgliteBackend({ dataDir });
  await backend.connect();
  return backend;
}

/** The case store of a fresh test backend (`pgliteBackend(store)` gives the backend again). */
export async function createTestPgliteStore(): Promise<PgliteCaseStore> {
  return (await createTestPgliteBackend()).cases;
}

/** Disconnect the backend and delete its data dir. */
export function cleanupTestPgliteBackend(backend: PgliteBackend): Promise<void> {
  return cleanupTestPgliteStore(backend.cases);
}

/** Close the store and delete its data dir. */
export async function cleanupTestPgliteStore(store: PgliteCaseStore): Promise<void> {
  await store.close();
  if (store.dataDir.startsWith(tmpdir())) {
    await rm(join(store.dataDir, '..'), { recursive: true, force: true });
  }
}

/** A fresh, migrated, connected backend with PGlite in a worker thread, in its own temp data dir. */
export async function createTestPgliteWorkerBackend(): Promise<PgliteWorkerBackend> {
  const dataDir = join(await mkdtemp(join(tmpdir(), 'opsloop-pglite-worker-test-')), 'data');
  await cp(await pgliteTemplateDir(), dataDir, { recursive: true });
  const backend = openPgliteWorkerBackend({ dataDir });
  try {
    await backend.connect();
  } catch (error) {
    await cleanupTestPgliteWorkerBackend(backend).catch(() => undefined);
    throw error;
  }
  return backend;
}

/** Disconnect the worker backend and delete its data dir. */
export async function cleanupTestPgliteWorkerBackend(backend: PgliteWorkerBackend): Promise<void> {
  await backend.disconnect();
  if (backend.cases.dataDir.startsWith(tmpdir())) await rm(join(backend.cases.dataDir, '..'), { recursive: true, force: true });
}
