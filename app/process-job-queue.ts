import type { AgentJobData, AgentJobName, EnqueueOptions, JobHandler, JobQueue, JobQueueOptions } from '../core/ports/job-queue.js';

/** Where the process job queue says what it started (pino's logger fits). */
export interface ProcessJobQueueLogger {
  info(obj: object, msg?: string): void;
}

type Definition = Parameters<JobQueue['define']>;
type Repeating = Parameters<JobQueue['every']>;

/**
 * The one job queue of an opsloop process (Agenda on the backend's database, `backend.jobs`), shared
 * by the extensions: each defines its jobs on it while it is built (`ctx.jobQueue`), and asks how
 * often due jobs must be looked for (`pollAtLeastEvery`). The app owns it: `startOpsloop` starts it
 * once every extension has started and stops it before they stop. The queue itself is opened only
 * at `start`, with the shortest poll asked for, and only when an extension used it — a process
 * without jobs opens no Agenda (and, on PGlite, no pglite-socket server).
 *
 * Until `start`, `define` is recorded, `every` is recorded and scheduled right after the start, and
 * `enqueue` waits for the start (the relay may hand over commands before it) or rejects on `stop`.
 */
export class ProcessJobQueue implements JobQueue {
  private readonly open: (options: JobQueueOptions) => Promise<JobQueue>;
  private readonly options: JobQueueOptions;
  private readonly logger: ProcessJobQueueLogger | undefined;
  private readonly definitions: Definition[] = [];
  private readonly repeating: Repeating[] = [];
  private processEveryMs: number | undefined;
  private used = false;
  /** The backend's queue once opened (closed by `stop`) … */
  private opened: JobQueue | null = null;
  /** … and once started (what `enqueue` and `every` go to). */
  private queue: JobQueue | null = null;
  private starting: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;
  /** Settles once the queue started (with it) or stopped first (rejected). */
  private readonly ready: Promise<JobQueue>;
  private settleReady!: { resolve: (queue: JobQueue) => void; reject: (err: Error) => void };

  constructor(open: (options: JobQueueOptions) => Promise<JobQueue>, options: JobQueueOptions, logger?: ProcessJobQueueLogger) {
    this.open = open;
    this.options = options;
    this.logger = logger;
    this.ready = new Promise((resolve, reject) => { this.settleReady = { resolve, reject }; });
    // A queue stopped before anyone enqueued: nobody waits on `ready`, its rejection is not an error.
    this.ready.catch(() => undefined);
  }

  /** Ask for due jobs to be looked for at least every `ms` (before `start`; the shortest asked wins). Returns the queue. */
  pollAtLeastEvery(ms: number): this {
    if (this.starting) throw new Error('pollAtLeastEvery() must come before start()');
    this.used = true;
    this.processEveryMs = Math.min(this.processEveryMs ?? ms, ms);
    return this;
  }

  /** The poll the queue opens (or opened) with: the shortest asked for, else the backend's default. */
  get pollMs(): number | undefined {
    return this.processEveryMs ?? this.options.processEveryMs;
  }

  define(name: AgentJobName, handler: JobHandler, opts?: { concurrency?: number; lockLifetimeMs?: number }): void {
    if (this.starting) throw new Error(`define(${name}) must come before start()`);
    this.used = true;
    this.definitions.push([name, handler, opts]);
  }

  async enqueue(name: AgentJobName, data: AgentJobData, opts?: EnqueueOptions): Promise<string> {
    this.used = true;
    return (this.queue ?? await this.ready).enqueue(name, data, opts);
  }

  async every(name: AgentJobName, intervalMs: number, data: AgentJobData): Promise<void> {
    this.used = true;
    if (this.queue) return this.queue.every(name, intervalMs, data);
    if (this.starting || this.stopping) throw new Error(`every(${name}): the job queue is starting or stopped`);
    this.repeating.push([name, intervalMs, data]);
  }

  /** Open and start the queue, if an extension used it. Idempotent. */
  start(): Promise<void> {
    this.starting ??= this.startOnce();
    return this.starting;
  }

  private async startOnce(): Promise<void> {
    if (this.stopping || !this.used) return;
    const queue = await this.open({ ...this.options, ...(this.processEveryMs !== undefined ? { processEveryMs: this.processEveryMs } : {}) });
    this.opened = queue;
    for (const definition of this.definitions) queue.define(...definition);
    await queue.start();
    this.queue = queue;
    for (const repeating of this.repeating.splice(0)) await queue.every(...repeating);
    this.settleReady.resolve(queue);
    this.logger?.info({ queue: this.options.name, jobs: this.definitions.map(([name]) => name), process_every_ms: this.pollMs ?? null }, 'job queue started (one per process)');
  }

  /** Stop the queue (waiting enqueues are refused). Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.stopOnce();
    return this.stopping;
  }

  private async stopOnce(): Promise<void> {
    this.settleReady.reject(new Error('the job queue is stopped'));
    // A start in progress finishes first, so the queue it opened is the one closed here.
    await this.starting?.catch(() => undefined);
    await this.opened?.stop();
  }
}
