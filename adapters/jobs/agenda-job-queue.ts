import { Agenda, type Job } from 'agenda';
import type { JobWakeChannel } from './agenda-wake-channel.js';
import type { AgentJobData, AgentJobName, EnqueueOptions, JobHandler, JobLogger, JobPriority, JobQueue, JobQueueOptions } from '../../core/ports/job-queue.js';
import { jobDueAt } from '../../core/outbox/delivery-order.js';
import { SpanKind, contextFromTraceparent, withSpan } from '../telemetry/spans.js';

/** The delivery lane of a job priority (core/outbox/priority.ts), for `jobDueAt`. */
const LANE_OF: Record<JobPriority, number> = { urgent: 2, high: 1, normal: 0 };
/** Agenda's own priority field, which orders jobs due at the same instant. */
const AGENDA_PRIORITY: Record<JobPriority, 'highest' | 'high' | 'normal'> = { urgent: 'highest', high: 'high', normal: 'normal' };

/** How often Agenda looks for due jobs unless told otherwise (`processEveryMs`). */
export const DEFAULT_PROCESS_EVERY_MS = 250;

/** Agenda's tuning: the port's job-queue options (see core/ports/job-queue.ts). */
export type AgendaJobQueueOptions = JobQueueOptions;

/**
 * Agenda's backend on one database (built by that database's OpsloopBackend, adapters/store/*), and
 * how to close what was opened for it.
 */
export interface AgendaBackendBinding {
  backend: ConstructorParameters<typeof Agenda>[0]['backend'];
  /**
   * How a saved job wakes the job processors without waiting for their poll (adapters/jobs/
   * agenda-wake-channel.ts); without one, the backend's own channel if it has one.
   */
  notificationChannel?: JobWakeChannel;
  /**
   * Create Agenda's schema before Agenda connects. Agenda's constructor connects without handling
   * errors, and two processes creating the schema at once collide on the catalog; this runs the
   * same `connect` under an advisory lock so only one creates it.
   */
  prepare?(): Promise<void>;
  /**
   * Give orphaned jobs a run time again; returns how many. An orphan is a one-off job that started
   * (so Agenda cleared its next run time), lost its process (SIGKILL), was locked again by another
   * process after the lock expired, and was then unlocked by that process's graceful `stop()`
   * before it ran: Agenda only picks jobs that are locked-and-expired or have a next run time, so
   * such a job would never run again and its case would wait forever. Agent jobs are idempotent
   * (keyed by message id / case version), so running one again is safe.
   */
  requeueOrphans?(): Promise<number>;
  close(): Promise<void>;
}

/** JobQueue over Agenda 6. Agenda itself is created in `start`, after the backend's schema exists. */
export class AgendaJobQueue implements JobQueue {
  private agenda: Agenda | null = null;
  private readonly binding: AgendaBackendBinding;
  private readonly options: AgendaJobQueueOptions;
  private readonly logger: JobLogger | undefined;
  private readonly definitions: Array<{ name: AgentJobName; handler: JobHandler; concurrency: number; lockLifetimeMs: number }> = [];
  /** Resolves with Agenda once `start` finished (the relay may hand over commands before that). */
  private readonly started: Promise<Agenda>;
  private markStarted!: (agenda: Agenda) => void;
  private stopped = false;
  private stopping: Promise<void> | null = null;
  /** Enqueues (and `every`) still talking to Agenda: `stop` lets them finish before closing its pool. */
  private readonly inFlight = new Set<Promise<unknown>>();
  private orphanSweep: NodeJS.Timeout | null = null;

  constructor(binding: AgendaBackendBinding, opts: AgendaJobQueueOptions) {
    this.binding = binding;
    this.options = opts;
    this.logger = opts.logger;
    this.started = new Promise((resolve) => { this.markStarted = resolve; });
  }

  /**
   * Agenda, waiting (up to `startWaitMs`) while the queue is still starting: opsloop starts the
   * outbox relay before the extensions, so the first commands of a restart arrive before Agenda
   * is up. Failing them would only delay them by the relay's backoff.
   */
  private async agendaWhenStarted(): Promise<Agenda> {
    if (this.agenda) return this.agenda;
    if (this.stopped) throw new Error('the job queue is stopped');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the job queue is not started')), this.options.startWaitMs ?? 60_000);
    });
    try {
      return await Promise.race([this.started, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  define(name: AgentJobName, handler: JobHandler, opts: { concurrency?: number; lockLifetimeMs?: number } = {}): void {
    if (this.agenda) throw new Error(`define(${name}) must come before start()`);
    this.definitions.push({ name, handler, concurrency: opts.concurrency ?? 10, lockLifetimeMs: opts.lockLifetimeMs ?? 60_000 });
  }

  enqueue(name: AgentJobName, data: AgentJobData, opts: EnqueueOptions = {}): Promise<string> {
    return this.track(this.enqueueOn(name, data, opts));
  }

  /** Count `work` as in flight until it settles (see `stop`). */
  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    const done = () => { this.inFlight.delete(work); };
    work.then(done, done);
    return work;
  }

  private async enqueueOn(name: AgentJobName, data: AgentJobData, opts: EnqueueOptions): Promise<string> {
    const agenda = await this.agendaWhenStarted();
    if (opts.runAt && opts.runAt.getTime() > Date.now()) return String((await agenda.schedule(opts.runAt, name, data)).attrs._id);
    const priority = opts.priority ?? 'normal';
    // Agenda picks due jobs by next_run_at first (in the database and in its local queue), priority
    // only among equal times. A job due now is therefore given a run time in the past that puts it
    // in delivery order (core/outbox/delivery-order.ts): its lane first, then its case's age. It is
    // due at once either way; the order only matters when more jobs are due than can run.
    const job = agenda.create(name, data);
    job.priority(AGENDA_PRIORITY[priority]);
    job.schedule(jobDueAt({ lane: LANE_OF[priority], openedAt: opts.openedAt, now: new Date() }));
    await job.save();
    return String(job.attrs._id);
  }

  async every(name: AgentJobName, intervalMs: number, data: AgentJobData): Promise<void> {
    const agenda = this.agenda;
    if (!agenda) throw new Error('the job queue is not started');
    if (!(intervalMs >= 1000)) throw new RangeError(`every(${name}): interval must be at least 1000 ms, got ${intervalMs}`);
    await this.track(agenda.every(intervalMs, name, data));
  }

  async start(): Promise<void> {
    if (this.agenda) return;
    await this.binding.prepare?.();
    const agenda = new Agenda({
      backend: this.binding.backend,
      ...(this.binding.notificationChannel ? { notificationChannel: this.binding.notificationChannel } : {}),
      name: this.options.name,
      processEvery: this.options.processEveryMs ?? DEFAULT_PROCESS_EVERY_MS,
      maxConcurrency: this.options.maxConcurrency ?? 20,
      defaultLockLifetime: this.options.defaultLockLifetimeMs ?? 60_000,
      removeOnComplete: true,
    });
    agenda.on('error', (err: Error) => this.logger?.warn({ err }, 'agenda error'));
    this.watchNotificationChannel();
    agenda.on('fail', (err: Error | string, job: { attrs: { name: string } }) =>
      this.logger?.warn({ err: String(err), job: job.attrs.name }, 'agent job failed; agenda retries it'));
    for (const d of this.definitions) {
      agenda.define<AgentJobData>(d.name, async (job: Job<AgentJobData>) => {
        const data = job.attrs.data;
        // One span per job run, continuing the trace of the command that started it.
        await withSpan(`agent.job ${d.name}`, {
          'opsloop.job': d.name, 'opsloop.case_id': data.case_id ?? '', 'messaging.message.id': data.message_id ?? '',
        }, () => d.handler(data, { jobId: String(job.attrs._id), touch: async () => { await job.touch(); } }),
        { kind: SpanKind.CONSUMER, parent: contextFromTraceparent(data.traceparent) });
      // Lock no more than can run: the rest stay in the database, where the next pick takes the
      // first in delivery order (core/outbox/delivery-order.ts), including jobs saved meanwhile; and
      // a fill that locks every due job (one query each) would hold up the first one to start.
      }, { concurrency: d.concurrency, lockLimit: d.concurrency, lockLifetime: d.lockLifetimeMs, backoff: (ctx) => agentJobBackoff(ctx.attempt) });
    }
    // With at most `concurrency` locked, a finished job makes room: look for the next one now
    // rather than at the poll (the wake-up channel's nudge; without one, the poll).
    const channel = this.binding.notificationChannel;
    if (channel) agenda.on('complete', (job: Job) => void afterUnlocked(agenda, job).then(() => channel.nudge(job.attrs.name)));
    await agenda.start();
    this.agenda = agenda;
    this.markStarted(agenda);
    await this.sweepOrphans();
    const sweepMs = this.options.orphanSweepMs ?? 30_000;
    if (this.binding.requeueOrphans && sweepMs > 0) {
      this.orphanSweep = setInterval(() => void this.sweepOrphans(), sweepMs);
      this.orphanSweep.unref();
    }
  }

  /**
   * The PostgreSQL backend LISTENs on a connection of its own and re-emits that connection's errors
   * on its notification channel, an EventEmitter nobody listens to: when the database restarts
   * ("terminating connection due to administrator command") the unhandled 'error' event killed
   * opsloop (found by the database-down fault test). The channel reconnects by itself; we only log.
   */
  private watchNotificationChannel(): void {
    const channel = (this.binding.notificationChannel ?? (this.binding.backend as { notificationChannel?: unknown }).notificationChannel) as
      { on?: (event: 'error', listener: (err: unknown) => void) => unknown; listenerCount?: (event: string) => number } | undefined;
    if (!channel?.on || (channel.listenerCount?.('error') ?? 0) > 0) return;
    let lastLogged = 0;
    channel.on('error', (err: unknown) => {
      if (Date.now() - lastLogged < 10_000) return;
      lastLogged = Date.now();
      this.logger?.warn({ err }, 'agenda notification channel lost its database connection; it reconnects, jobs are polled meanwhile');
    });
  }

  /** Requeue orphaned jobs (see `AgendaBackendBinding.requeueOrphans`); errors are only logged. */
  async sweepOrphans(): Promise<number> {
    if (!this.binding.requeueOrphans || !this.agenda) return 0;
    try {
      const n = await this.binding.requeueOrphans();
      if (n > 0) this.logger?.warn({ jobs: n }, 'requeued agent jobs orphaned by a crash and a later shutdown');
      return n;
    } catch (err) {
      this.logger?.warn({ err }, 'could not look for orphaned agent jobs; trying again later');
      return 0;
    }
  }

  /**
   * Stop in an order that cannot wait on itself: refuse new enqueues, let Agenda start no more jobs
   * (it unlocks the ones it fetched but did not start), wait up to `stopWaitMs` for the enqueues in
   * flight and the running jobs — both need Agenda's pool, the jobs to save their state — and only
   * then close the pool. Jobs still running after that lose their connection; their locks expire
   * and a later start runs them again (agent jobs are idempotent). Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= this.stopInOrder();
    return this.stopping;
  }

  private async stopInOrder(): Promise<void> {
    const agenda = this.agenda;
    this.agenda = null;
    this.stopped = true;
    if (this.orphanSweep) clearInterval(this.orphanSweep);
    this.orphanSweep = null;
    // Agenda.stop() returns while jobs still run and forgets its processor; keep it to count them.
    const processor = (agenda as unknown as { jobProcessor?: { runningJobs?: unknown[] } } | null)?.jobProcessor;
    const running = () => processor?.runningJobs?.length ?? 0;
    if (agenda) await agenda.stop();
    const deadline = Date.now() + (this.options.stopWaitMs ?? 5_000);
    while ((this.inFlight.size > 0 || running() > 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    if (this.inFlight.size > 0 || running() > 0) {
      this.logger?.warn({ enqueues: this.inFlight.size, running_jobs: running(), waited_ms: this.options.stopWaitMs ?? 5_000 },
        'job queue stopping with work still in flight; closing its connections anyway (the jobs run again after their locks expire)');
    }
    await this.binding.close();
  }
}

/**
 * The `jobs` member of an OpsloopBackend: each call opens a new Agenda binding on the backend's
 * database (its own connections, closed by the queue's `stop`) and an AgendaJobQueue on it.
 */
export function agendaJobs(bind: () => Promise<AgendaBackendBinding>): (options: JobQueueOptions) => Promise<JobQueue> {
  return async (options) => new AgendaJobQueue(await bind(), options);
}

/**
 * Resolves once Agenda's processor has let go of `job` (it still counts a finished job as locked
 * while it deletes it, and a fill meanwhile would find no room). Reads the processor's
 * `lockedJobs`, as `stop` reads its `runningJobs`; gives up after 10 s (the poll then finds the
 * next job).
 */
async function afterUnlocked(agenda: Agenda, job: Job): Promise<void> {
  const processor = (agenda as unknown as { jobProcessor?: { lockedJobs?: unknown[] } }).jobProcessor;
  const deadline = Date.now() + 10_000;
  await new Promise((resolve) => setImmediate(resolve));
  while (processor?.lockedJobs?.includes(job) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Retry an agent job that threw (store down, crash): 1 s, 2 s, 4 s … capped at 60 s, up to 8 attempts. */
export function agentJobBackoff(attempt: number): number | null {
  if (attempt > 8) return null;
  return Math.min(60_000, 1000 * 2 ** Math.max(0, attempt - 1));
}
