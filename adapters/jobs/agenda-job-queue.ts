import { Agenda, type Job } from 'agenda';
import { PostgresBackend } from '@agendajs/postgres-backend';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { Logger } from 'pino';
import type { AgentJobData, AgentJobName, JobHandler, JobQueue } from '../../core/ports/job-queue.js';

export interface AgendaJobQueueOptions {
  /** Name of this process in Agenda's lock columns. */
  name: string;
  /** How often to look for due jobs when no notification arrives (ms). */
  processEveryMs?: number;
  maxConcurrency?: number;
  defaultLockLifetimeMs?: number;
  logger?: Logger;
}

/** The Agenda backend matching the case store, and how to close what we opened for it. */
export interface AgendaBackendBinding {
  backend: ConstructorParameters<typeof Agenda>[0]['backend'];
  /**
   * Create Agenda's schema before Agenda connects. Agenda's constructor connects without handling
   * errors, and two processes creating the schema at once collide on the catalog; this runs the
   * same `connect` under an advisory lock so only one creates it.
   */
  prepare?(): Promise<void>;
  close(): Promise<void>;
}

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

/** Agenda on a PostgreSQL server: a small pool of its own on the same database. */
export function postgresAgendaBackend(url: string): AgendaBackendBinding {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on('error', () => { /* idle client errors surface on the next query */ });
  const backend = new PostgresBackend({ pool });
  return { backend, prepare: () => connectUnderAdvisoryLock(pool, backend), close: () => pool.end() };
}

/**
 * Agenda on embedded PGlite: PGlite is served to `pg` through @electric-sql/pglite-socket on a
 * loopback port only this process knows, so the jobs live in the same database as the cases.
 */
export async function pgliteAgendaBackend(db: PGlite): Promise<AgendaBackendBinding> {
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 8 });
  await server.start();
  const address = (server as unknown as { server?: { address(): { port: number } | string | null } }).server?.address();
  if (!address || typeof address === 'string') throw new Error('pglite-socket did not report a TCP port');
  const pool = new pg.Pool({ host: '127.0.0.1', port: address.port, user: 'postgres', database: 'postgres', max: 3 });
  pool.on('error', () => {});
  const backend = new PostgresBackend({ pool });
  return {
    backend,
    prepare: () => backend.connect(),
    async close() {
      await pool.end();
      await server.stop();
    },
  };
}

/** Agenda on MongoDB (same database as the case store). */
export async function mongoAgendaBackend(db: unknown): Promise<AgendaBackendBinding> {
  const { MongoBackend } = await import('@agendajs/mongo-backend');
  return { backend: new MongoBackend({ mongo: db as never }), close: async () => {} };
}

/** JobQueue over Agenda 6. Agenda itself is created in `start`, after the backend's schema exists. */
export class AgendaJobQueue implements JobQueue {
  private agenda: Agenda | null = null;
  private readonly binding: AgendaBackendBinding;
  private readonly options: AgendaJobQueueOptions;
  private readonly logger: Logger | undefined;
  private readonly definitions: Array<{ name: AgentJobName; handler: JobHandler; concurrency: number; lockLifetimeMs: number }> = [];

  constructor(binding: AgendaBackendBinding, opts: AgendaJobQueueOptions) {
    this.binding = binding;
    this.options = opts;
    this.logger = opts.logger;
  }

  define(name: AgentJobName, handler: JobHandler, opts: { concurrency?: number; lockLifetimeMs?: number } = {}): void {
    if (this.agenda) throw new Error(`define(${name}) must come before start()`);
    this.definitions.push({ name, handler, concurrency: opts.concurrency ?? 10, lockLifetimeMs: opts.lockLifetimeMs ?? 60_000 });
  }

  async enqueue(name: AgentJobName, data: AgentJobData, opts: { runAt?: Date } = {}): Promise<string> {
    const agenda = this.agenda;
    if (!agenda) throw new Error('the job queue is not started');
    const job = opts.runAt && opts.runAt.getTime() > Date.now()
      ? await agenda.schedule(opts.runAt, name, data)
      : await agenda.now(name, data);
    return String(job.attrs._id);
  }

  async every(name: AgentJobName, intervalMs: number, data: AgentJobData): Promise<void> {
    const agenda = this.agenda;
    if (!agenda) throw new Error('the job queue is not started');
    if (!(intervalMs >= 1000)) throw new RangeError(`every(${name}): interval must be at least 1000 ms, got ${intervalMs}`);
    await agenda.every(intervalMs, name, data);
  }

  async start(): Promise<void> {
    if (this.agenda) return;
    await this.binding.prepare?.();
    const agenda = new Agenda({
      backend: this.binding.backend,
      name: this.options.name,
      processEvery: this.options.processEveryMs ?? 250,
      maxConcurrency: this.options.maxConcurrency ?? 20,
      defaultLockLifetime: this.options.defaultLockLifetimeMs ?? 60_000,
      removeOnComplete: true,
    });
    agenda.on('error', (err: Error) => this.logger?.warn({ err }, 'agenda error'));
    agenda.on('fail', (err: Error | string, job: { attrs: { name: string } }) =>
      this.logger?.warn({ err: String(err), job: job.attrs.name }, 'agent job failed; agenda retries it'));
    for (const d of this.definitions) {
      agenda.define<AgentJobData>(d.name, async (job: Job<AgentJobData>) => {
        await d.handler(job.attrs.data, { jobId: String(job.attrs._id), touch: async () => { await job.touch(); } });
      }, { concurrency: d.concurrency, lockLifetime: d.lockLifetimeMs, backoff: (ctx) => agentJobBackoff(ctx.attempt) });
    }
    await agenda.start();
    this.agenda = agenda;
  }

  async stop(): Promise<void> {
    const agenda = this.agenda;
    this.agenda = null;
    if (agenda) await agenda.stop();
    await this.binding.close();
  }
}

/** Retry an agent job that threw (store down, crash): 1 s, 2 s, 4 s … capped at 60 s, up to 8 attempts. */
export function agentJobBackoff(attempt: number): number | null {
  if (attempt > 8) return null;
  return Math.min(60_000, 1000 * 2 ** Math.max(0, attempt - 1));
}
