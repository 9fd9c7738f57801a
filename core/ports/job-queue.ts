import type { CommandTopic } from '../fsm/transitions.js';

/** Names of the agent jobs. Typed constants, never strings built at run time. */
export const AGENT_JOBS = {
  analyze: 'opsloop.agent.analyze',
  plan: 'opsloop.agent.plan',
  gate: 'opsloop.agent.gate',
  exec: 'opsloop.agent.exec',
  verify: 'opsloop.agent.verify',
  verifyMeasure: 'opsloop.agent.verify.measure',
  /** The Analyst's repeating pass over every service's signals (not about one case). */
  analyst: 'opsloop.agent.analyst',
  /** Ends the silences whose time ran out: one job at each silence's end time … */
  silenceExpiry: 'opsloop.silence.expire',
  /** … and a repeating sweep for ends whose job was lost (a silence made while the queue was down). */
  silenceSweep: 'opsloop.silence.sweep',
} as const;
export type AgentJobName = (typeof AGENT_JOBS)[keyof typeof AGENT_JOBS];

/** Which job a command topic starts. */
export const JOB_FOR_COMMAND: Readonly<Record<CommandTopic, AgentJobName>> = {
  'cmd.analyze': AGENT_JOBS.analyze,
  'cmd.plan.generate': AGENT_JOBS.plan,
  'cmd.gate.eval': AGENT_JOBS.gate,
  'cmd.exec.run': AGENT_JOBS.exec,
  'cmd.verify.run': AGENT_JOBS.verify,
};

/** What every agent job carries: the command message it was started by. */
export interface AgentJobData {
  /** Id of the outbox message (the command); agents derive their idempotency keys from it. */
  message_id: string;
  case_id: string;
  topic: string;
  /** Case version the command was written at. */
  version: number;
  trace_id: string | null;
  /** W3C `traceparent` of the relay's delivery span: the job's span continues the trace. */
  traceparent?: string | null;
  data: Record<string, unknown>;
}

export interface JobContext {
  jobId: string;
  /** Extend the job's lock while long work (a rollout, a workflow run) is in progress. */
  touch(): Promise<void>;
}

export type JobHandler = (data: AgentJobData, ctx: JobContext) => Promise<void>;

/**
 * The scheduler the agents run on (Agenda). Several opsloop processes on one database share
 * the jobs; each job runs in one of them at a time.
 */
/**
 * Which jobs run first when many are due (issue 11: an alert storm must not starve a person's
 * case): `urgent` for cases a person opened, `high` for severity 1-2, `normal` for the rest.
 */
export type JobPriority = 'urgent' | 'high' | 'normal';

/** How a job is enqueued (`JobQueue.enqueue`). */
export interface EnqueueOptions {
  /** Run at this time instead of now. */
  runAt?: Date;
  /** The lane among jobs due at once (default `normal`). */
  priority?: JobPriority;
  /**
   * When the job's case was opened: among due jobs of one priority, older cases' jobs run first,
   * so a storm is served case by case rather than stage by stage (core/outbox/delivery-order.ts).
   * Without it the job counts as opened now.
   */
  openedAt?: Date;
}

export interface JobQueue {
  /** Register the handler for a job name; before `start`. */
  define(name: AgentJobName, handler: JobHandler, opts?: { concurrency?: number; lockLifetimeMs?: number }): void;
  /** Enqueue a job to run now, or at `runAt`; returns the job id. */
  enqueue(name: AgentJobName, data: AgentJobData, opts?: EnqueueOptions): Promise<string>;
  /**
   * Run a job repeatedly, every `intervalMs`, shared by every process on the database (one
   * repeating job per name; calling it again updates the interval). After `start`.
   */
  every(name: AgentJobName, intervalMs: number, data: AgentJobData): Promise<void>;
  start(): Promise<void>;
  /** Stop taking jobs and wait for running ones to finish (or to be unlocked for another process). */
  stop(): Promise<void>;
}

/** Where a job queue reports trouble (failed jobs, lost connections); pino's logger fits. */
export interface JobLogger {
  warn(obj: object, msg?: string): void;
}

/** How a job queue on a backend is tuned (`OpsloopBackend.jobs`). */
export interface JobQueueOptions {
  /** Name of this process in the scheduler's locks (e.g. `opsloop-<pid>`). */
  name: string;
  /** How often to look for due jobs when no notification arrives (ms). */
  processEveryMs?: number;
  maxConcurrency?: number;
  defaultLockLifetimeMs?: number;
  /** How long `enqueue` waits for a queue that is still starting (default 60 s). */
  startWaitMs?: number;
  /** How often to requeue orphaned jobs (default 30 s; 0 = only at start). */
  orphanSweepMs?: number;
  /**
   * How long `stop` waits for what still uses the queue's connections — enqueues in flight and
   * jobs running (they save their state when they finish) — before it closes them anyway (default 5 s).
   */
  stopWaitMs?: number;
  logger?: JobLogger;
}
