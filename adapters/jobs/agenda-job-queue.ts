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
  close(): Promise<void>;
}

/** Agenda on a PostgreSQL server: a small pool of its own on the same database. */
export function postgresAgendaBackend(url: string): AgendaBackendBinding {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on('error', () => { /* idle client errors surface on the next query */ });
  return { backend: new PostgresBackend({ pool }), close: () => pool.end() };
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
  return {
    backend: new PostgresBackend({ pool }),
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

/** JobQueue over Agenda 6. */
export class AgendaJobQueue implements JobQueue {
  private readonly agenda: Agenda;
  private readonly binding: AgendaBackendBinding;
  private readonly logger: Logger | undefined;
  private started = false;

  constructor(binding: AgendaBackendBinding, opts: AgendaJobQueueOptions) {
    this.binding = binding;
    this.logger = opts.logger;
    this.agenda = new Agenda({
      backend: binding.backend,
      name: opts.name,
      processEvery: opts.processEveryMs ?? 250,
      maxConcurrency: opts.maxConcurrency ?? 20,
      defaultLockLifetime: opts.defaultLockLifetimeMs ?? 60_000,
      removeOnComplete: true,
    });
    this.agenda.on('error', (err: Error) => this.logger?.warn({ err }, 'agenda error'));
    this.agenda.on('fail', (err: Error | string, job: { attrs: { name: string } }) =>
      this.logger?.warn({ err: String(err), job: job.attrs.name }, 'agent job failed; agenda retries it'));
  }

  define(name: AgentJobName, handler: JobHandler, opts: { concurrency?: number; lockLifetimeMs?: number } = {}): void {
    this.agenda.define<AgentJobData>(name, async (job: Job<AgentJobData>) => {
      await handler(job.attrs.data, {
        jobId: String(job.attrs._id),
        touch: async () => { await job.touch(); },
      });
    }, {
      concurrency: opts.concurrency ?? 10,
      lockLifetime: opts.lockLifetimeMs ?? 60_000,
      backoff: (ctx) => agentJobBackoff(ctx.attempt),
    });
  }

  async enqueue(name: AgentJobName, data: AgentJobData, opts: { runAt?: Date } = {}): Promise<string> {
    const job = opts.runAt && opts.runAt.getTime() > Date.now()
      ? await this.agenda.schedule(opts.runAt, name, data)
      : await this.agenda.now(name, data);
    return String(job.attrs._id);
  }

  async start(): Promise<void> {
    if (this.started) return;
    await this.agenda.start();
    this.started = true;
  }

  async stop(): Promise<void> {
    if (this.started) {
      await this.agenda.stop();
      this.started = false;
    }
    await this.binding.close();
  }
}

/** Retry an agent job that threw (store down, crash): 1 s, 2 s, 4 s … capped at 60 s, up to 8 attempts. */
export function agentJobBackoff(attempt: number): number | null {
  if (attempt > 8) return null;
  return Math.min(60_000, 1000 * 2 ** Math.max(0, attempt - 1));
}
