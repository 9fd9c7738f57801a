import { PostgresBackend } from '@agendajs/postgres-backend';
import type pg from 'pg';
import type { AgendaBackendBinding } from '../../jobs/agenda-job-queue.js';
import { InProcessJobChannel, PostgresJobWakeChannel } from '../../jobs/agenda-wake-channel.js';

/** The statement behind `requeueOrphans` for Agenda's PostgreSQL table. */
const REQUEUE_ORPHANS_SQL = `UPDATE agenda_jobs SET next_run_at = now()
  WHERE next_run_at IS NULL AND locked_at IS NULL
    AND (last_finished_at IS NULL OR last_run_at > last_finished_at)
    AND repeat_interval IS NULL AND repeat_at IS NULL AND disabled = FALSE AND name LIKE 'opsloop.%'`;

/**
 * `pool.end()`, failing the `connect()` calls still queued for a client. pg-pool 3.x stops serving
 * its wait queue once `end()` was called but never settles it either, so whoever waited there (an
 * enqueue, a job saving its state) waited forever — and with it whatever awaited them: that is how
 * a shutdown during an alert storm hung in the outbox relay's `stop()`.
 */
function endPool(pool: pg.Pool): Promise<void> {
  const waiting = (pool as unknown as { _pendingQueue?: Array<{ callback?: (err: Error) => void }> })._pendingQueue;
  const ended = pool.end();
  for (const item of Array.isArray(waiting) ? waiting.splice(0) : []) item.callback?.(new Error('the job queue is stopped'));
  return ended;
}

/**
 * Create Agenda's schema under an advisory lock: two processes creating it at once collide on the
 * catalog (see `AgendaBackendBinding.prepare`).
 */
async function connectUnderAdvisoryLock(pool: pg.Pool, backend: PostgresBackend): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("SELECT pg_advisory_lock(hashtext('opsloop.agenda.schema'))");
    try {
      await backend.connect();
    } finally {
      await client.query("SELECT pg_advisory_unlock(hashtext('opsloop.agenda.schema'))");
    }
  } finally {
    client.release();
  }
}

export interface PoolAgendaOptions {
  /** Create the schema under an advisory lock (a server shared by several processes). */
  lockSchema: boolean;
  /**
   * How a saved job wakes the processors (adapters/jobs/agenda-wake-channel.ts): `postgres` —
   * LISTEN/NOTIFY, every process on the server; `in-process` — this process only (PGlite, whose
   * notifications do not reach pglite-socket's clients). Either way Agenda still polls as a fallback.
   */
  wakeUps: 'postgres' | 'in-process';
  /** Run after the pool ended (PGlite: stop the socket server). */
  afterClose?: () => Promise<void>;
}

/**
 * Agenda's PostgreSQL backend on a `pg` pool of its own (PGlite through pglite-socket, or a
 * server): orphans are requeued with one UPDATE, and `close` ends the pool.
 */
export function poolAgendaBinding(pool: pg.Pool, options: PoolAgendaOptions): AgendaBackendBinding {
  // The backend's own channel is replaced by ours (same channel name on PostgreSQL, so processes of
  // older versions still hear and wake each other).
  const backend = new PostgresBackend({ pool, disableNotifications: true });
  const notificationChannel = options.wakeUps === 'postgres' ? new PostgresJobWakeChannel(pool) : new InProcessJobChannel();
  return {
    backend,
    notificationChannel,
    prepare: () => (options.lockSchema ? connectUnderAdvisoryLock(pool, backend) : backend.connect()),
    requeueOrphans: async () => (await pool.query(REQUEUE_ORPHANS_SQL)).rowCount ?? 0,
    async close() {
      await endPool(pool);
      await options.afterClose?.();
    },
  };
}
