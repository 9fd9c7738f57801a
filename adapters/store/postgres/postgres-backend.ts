import pg from 'pg';
import type { OpsloopBackend } from '../../../core/ports/backend.js';
import type { AgendaBackendBinding } from '../../jobs/agenda-job-queue.js';
import { poolAgendaBinding } from '../sql/sql-agenda.js';
import { sqlBackend } from '../sql/sql-backend.js';
import { PgOutboxSignal } from './pg-outbox-signal.js';
import { createPostgresCaseStore, type PostgresCaseStore, type PostgresCaseStoreOptions } from './postgres-case-store.js';

export type PostgresServerBackend = OpsloopBackend<PostgresCaseStore>;

/**
 * The backend on a PostgreSQL server around its store: LISTEN/NOTIFY wakes the relays of other
 * processes, and Agenda gets a small pool of its own on the same database.
 */
export function postgresBackend(store: PostgresCaseStore): PostgresServerBackend {
  // The LISTEN connection and Agenda's pool are not pipelined (Agenda's queries never are).
  const { pipeline: _pipeline, ...connection }: pg.ClientConfig = store.pool.options;
  return sqlBackend(store, {
    location: `postgres at ${serverLocation(connection)}`,
    outboxSignal: (logger) => new PgOutboxSignal(store.pool, connection, logger),
    agenda: async () => postgresAgendaBackend(connection.connectionString ?? connection),
  });
}

/** Open a PostgreSQL server (DATABASE_URL); `connect` checks it and applies migrations. */
export function openPostgresBackend(options: PostgresCaseStoreOptions): PostgresServerBackend {
  return postgresBackend(createPostgresCaseStore(options));
}

/** Agenda on a PostgreSQL server: a small pool of its own on the same database. */
export function postgresAgendaBackend(connection: string | pg.ClientConfig): AgendaBackendBinding {
  const config = typeof connection === 'string' ? { connectionString: connection } : connection;
  const pool = new pg.Pool({ ...config, max: 4 });
  pool.on('error', () => { /* idle client errors surface on the next query */ });
  // Checked-out clients (Agenda's LISTEN connection, its transactions) have no pool listener; a
  // server restart must not become an unhandled 'error' (the failing query reports it instead).
  pool.on('connect', (client) => { client.on('error', () => undefined); });
  return poolAgendaBinding(pool, { lockSchema: true, wakeUps: 'postgres' });
}

/** host:port/database, without credentials. */
function serverLocation(connection: pg.ClientConfig): string {
  if (connection.connectionString) {
    const url = new URL(connection.connectionString);
    return `${url.hostname}${url.port ? `:${url.port}` : ''}${url.pathname}`;
  }
  return `${connection.host ?? 'localhost'}${connection.port ? `:${connection.port}` : ''}/${connection.database ?? ''}`;
}
