/**
 * The embedded store with PGlite in a worker_thread (`pglite-worker.ts`): the same SQL store and
 * migrations as `PgliteCaseStore`, but no query runs on the main event loop. Agenda reaches the
 * instance through pglite-socket, served from the worker.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { MigrationProgress } from '../../../core/ports/backend.js';
import { noOutboxSignal } from '../../../core/ports/outbox-signal.js';
import type { OpsloopBackend } from '../../../core/ports/backend.js';
import pg from 'pg';
import { poolAgendaBinding } from '../sql/sql-agenda.js';
import { sqlBackend } from '../sql/sql-backend.js';
import { SqlCaseStore } from '../sql/sql-case-store.js';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.js';
import { startPgliteWorker, type PgliteWorker } from './pglite-worker.js';

export interface PgliteWorkerCaseStoreOptions {
  /** Data directory (created if missing), or `memory://`. */
  dataDir: string;
  /** Extensions by name, loaded in the worker: `vector`. */
  extensions?: string[];
  migrationsDir?: string;
  onMigration?: MigrationProgress;
  /** Told when a stale lock on the data directory is taken over. Default: stderr. */
  warn?: (line: string) => void;
}

const isUrl = (dataDir: string) => /^[a-z]+:\/\//i.test(dataDir);

export class PgliteWorkerCaseStore extends SqlCaseStore {
  readonly worker: PgliteWorker;
  /** Absolute data directory, or the `memory://`-style URL given. */
  readonly dataDir: string;

  constructor(options: PgliteWorkerCaseStoreOptions) {
    const dataDir = isUrl(options.dataDir) ? options.dataDir : resolve(options.dataDir);
    // One process per data directory, locked before PGlite touches the files (see data-dir-lock.ts).
    const lock: DataDirLock | null = isUrl(dataDir) ? null : acquireDataDirLock(dataDir, options.warn ? { warn: options.warn } : {});
    let worker: PgliteWorker;
    try {
      if (!isUrl(dataDir)) mkdirSync(dataDir, { recursive: true });
      worker = startPgliteWorker({ dataDir, ...(options.extensions ? { extensions: options.extensions } : {}) });
    } catch (error) {
      lock?.release();
      throw error;
    }
    super({
      name: 'pglite',
      client: worker.client,
      ownsConnection: true,
      open: () => worker.ready(),
      shutdown: async () => {
        try {
          await worker.close();
        } finally {
          lock?.release();
        }
      },
      ...(options.migrationsDir ? { migrationsDir: options.migrationsDir } : {}),
      ...(options.onMigration ? { onMigration: options.onMigration } : {}),
    });
    this.worker = worker;
    this.dataDir = dataDir;
  }
}

export type PgliteWorkerBackend = OpsloopBackend<PgliteWorkerCaseStore>;

/** The embedded backend around a worker store: no outbox signal (one process), Agenda over pglite-socket. */
export function pgliteWorkerBackend(store: PgliteWorkerCaseStore): PgliteWorkerBackend {
  return sqlBackend(store, {
    location: `embedded PGlite (worker thread) at ${store.dataDir}`,
    outboxSignal: () => noOutboxSignal,
    agenda: async () => {
      await store.connect();
      const port = await store.worker.serve(8);
      const pool = new pg.Pool({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', max: 3 });
      pool.on('error', () => {});
      // PGlite's NOTIFY does not reach pglite-socket's clients: saved jobs wake the processor in-process.
      return poolAgendaBinding(pool, { lockSchema: false, wakeUps: 'in-process', afterClose: () => store.worker.unserve(port) });
    },
  });
}

/** Open embedded PGlite in a worker (the data directory is locked at once; `connect` opens and migrates it). */
export function openPgliteWorkerBackend(options: PgliteWorkerCaseStoreOptions): PgliteWorkerBackend {
  return pgliteWorkerBackend(new PgliteWorkerCaseStore(options));
}
