import type { Config } from '../../adapters/config/env.js';
import { pgliteBackend } from '../../adapters/store/pglite/pglite-backend.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { startOpsloop, type OpsloopOverrides, type RunningOpsloop } from '../../app/start-opsloop.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from './pglite.js';

/** A whole opsloop started in-process on a fresh PGlite test store. */
export interface TestOpsloop {
  store: PgliteCaseStore;
  app: RunningOpsloop;
  /** Close opsloop, then remove the store. */
  close(): Promise<void>;
}

/**
 * Start opsloop with `config` on a fresh PGlite test store: no banner, the relay polled every 50 ms,
 * `overrides` on top. The store is removed again when the start fails.
 */
export async function startTestOpsloop(config: Config, overrides: Omit<OpsloopOverrides, 'backend'> = {}): Promise<TestOpsloop> {
  const store = await createTestPgliteStore();
  try {
    const app = await startOpsloop(config, { backend: pgliteBackend(store), print: () => {}, relay: { pollMs: 50 }, ...overrides });
    return { store, app, async close() { await app.close(); await cleanupTestPgliteStore(store); } };
  } catch (err) {
    await cleanupTestPgliteStore(store);
    throw err;
  }
}
