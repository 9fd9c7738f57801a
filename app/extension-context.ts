import type { Logger } from 'pino';
import type { Config } from '../adapters/config/env.js';
import type { HttpPlugin } from '../adapters/http/server.js';
import type { OutboxRelay } from '../adapters/jobs/outbox-relay.js';
import type { PromMetrics } from '../adapters/metrics/prom-metrics.js';
import type { Orchestrator } from '../core/orchestrator/orchestrator.js';
import type { Clock, IdGen } from '../core/ports/clock.js';
import type { OpsloopBackend } from '../core/ports/backend.js';
import type { CaseStore } from '../core/ports/case-store.js';
import type { ServiceRegistry } from './extension-order.js';
import type { ProcessJobQueue } from './process-job-queue.js';

/** Everything a feature needs to plug into a running opsloop. */
export interface OpsloopContext {
  config: Config;
  /** What the extensions provide each other (`provides`/`needs` in their declarations). */
  services: ServiceRegistry;
  logger: Logger;
  metrics: PromMetrics;
  /** The database: the case store and its sibling stores, the outbox signal, the job queue. */
  backend: OpsloopBackend;
  /** `backend.cases`, the store most features read. */
  store: CaseStore;
  orchestrator: Orchestrator;
  /** Register outbox consumers here (`relay.on(prefix, consumer, name)`) before it starts. */
  relay: OutboxRelay;
  /**
   * Call after committing outbox messages outside the Orchestrator (e.g. the Sensor's ingest):
   * wakes this process's relay and, on a PostgreSQL server, the other processes' relays.
   */
  outboxWritten: () => void;
  clock: Clock;
  ids: IdGen;
  /**
   * The process's one job queue (Agenda on `backend`): define jobs on it while the extension is
   * built, schedule repeating ones (`every`) in `start`. The app starts it after every extension
   * started and stops it before they stop; an extension never starts or stops it.
   */
  jobQueue: ProcessJobQueue;
}

/**
 * A feature of opsloop beyond the core (the agents on Agenda, the Slack and Discord receivers,
 * the local simulator). `startOpsloop` builds each with the context, mounts its HTTP plugins,
 * starts it after the server listens and the relay runs, and stops it (in reverse order)
 * before the relay and the store close.
 */
export interface OpsloopExtension {
  name: string;
  /** HTTP routes, each plugin in its own encapsulated Fastify context. */
  http?: HttpPlugin[];
  /** Called once the server listens (`baseUrl` is where) and the relay runs. */
  start?(info: { baseUrl: string }): Promise<void>;
  /** Called on shutdown, before the relay stops and the store closes. */
  stop?(): Promise<void>;
  /** Extra lines for the start-up banner, e.g. `{ label: 'simulator', path: '/sim' }`. */
  urls?: Array<{ label: string; path: string; browser?: boolean }>;
}

export type ExtensionFactory = (ctx: OpsloopContext) => OpsloopExtension | Promise<OpsloopExtension>;
