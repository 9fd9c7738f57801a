import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { OpsloopBackend } from '../../../core/ports/backend.js';
import { noOutboxSignal } from '../../../core/ports/outbox-signal.js';
import type { AgendaBackendBinding } from '../../jobs/agenda-job-queue.js';
import { poolAgendaBinding } from '../sql/sql-agenda.js';
import { sqlBackend } from '../sql/sql-backend.js';
import { servePgliteSocket } from './pglite-session.js';
import { createPgliteCaseStore, type PgliteCaseStore, type PgliteCaseStoreOptions } from './pglite-case-store.js';

export type PgliteBackend = OpsloopBackend<PgliteCaseStore>;

/**
 * The embedded backend around a PGlite store. All relays share the one process that owns the data
 * directory, so no outbox signal; Agenda reaches PGlite through pglite-socket, and its saved jobs
 * wake its processor in-process (PGlite's NOTIFY does not reach pglite-socket's clients).
 */
export function pgliteBackend(store: PgliteCaseStore): PgliteBackend {
  return sqlBackend(store, {
    location: `embedded PGlite at ${store.dataDir}`,
    outboxSignal: () => noOutboxSignal,
    agenda: () => pgliteAgendaBackend(store.db),
  });
}

/** Open embedded PGlite (the data directory is locked at once; `connect` opens and migrates it). */
export function openPgliteBackend(options: PgliteCaseStoreOptions = {}): PgliteBackend {
  return pgliteBackend(createPgliteCaseStore(options));
}

/**
 * Agenda on embedded PGlite: PGlite is served to `pg` through @electric-sql/pglite-socket on a
 * loopback port only this process knows, so the jobs live in the same database as the cases. Its
 * clients and the store take turns on PGlite's one session (pglite-session.js).
 */
export async function pgliteAgendaBackend(db: PGlite): Promise<AgendaBackendBinding> {
  const { server, port } = await servePgliteSocket(db, 8);
  const pool = new pg.Pool({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', max: 3 });
  pool.on('error', () => {});
  return poolAgendaBinding(pool, { lockSchema: false, wakeUps: 'in-process', afterClose: () => server.stop() });
}
