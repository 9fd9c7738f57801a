import type { CaseStore } from './case-store.js';
import type { ChatStore } from './chat-store.js';
import type { EvidenceStore } from './evidence-store.js';
import type { JobQueue, JobQueueOptions } from './job-queue.js';
import type { KnowledgeStore } from './knowledge-store.js';
import type { OutboxSignal, SignalLogger } from './outbox-signal.js';
import type { SilenceStore } from './silence-store.js';
import type { SimMessageStore } from './sim-message-store.js';
import type { TokenStore } from './token-store.js';

/**
 * Everything opsloop keeps in one database, as one object (like agenda's `AgendaBackend`): the
 * case store and its sibling stores on the same connection, and the database's own ways of
 * signalling and scheduling. Built by `openBackend` (adapters/store/index.ts) from configuration,
 * one implementation per database in adapters/store/{pglite,postgres,mongo}/, so no code has to
 * find out which database a store is on. Every member works on every backend.
 */
export interface OpsloopBackend<Cases extends CaseStore = CaseStore> {
  /** The database kind: `pglite`, `postgres` or `mongodb` (the case store's name). */
  readonly name: string;
  /** Where the data lives, for people (banner, CLI output): a data directory or host/database, never credentials. */
  readonly location: string;
  /** Whether `disconnect` closes the connection (false when the caller handed one in and closes it). */
  readonly ownsConnection: boolean;
  /** Open the database and apply pending migrations. Idempotent; every member also connects on first use. */
  connect(): Promise<void>;
  /** Close what `connect` opened (when the backend owns the connection). Idempotent. */
  disconnect(): Promise<void>;
  /**
   * Connect (applying pending migrations, as `connect` does) and return the migration versions this
   * backend's connection applied; empty when the schema was up to date (`npm run migrate`).
   */
  migrate(): Promise<string[]>;
  /** Cases, timelines, plans, idempotency keys, the inbox and the outbox: the Orchestrator's store. */
  readonly cases: Cases;
  /** The Sensor's evidence, alert episodes and kept payloads, written in the case store's transactions. */
  readonly evidence: EvidenceStore;
  /** The Librarian's documents and chunks (and vectors where the database has them). */
  readonly knowledge: KnowledgeStore;
  /** API tokens (hashes only). */
  readonly tokens: TokenStore;
  /** What the thread notifier posted on each chat platform: case cards, their threads, edits. */
  readonly chat: ChatStore;
  /** The local chat simulator's channel (/sim). */
  readonly simMessages: SimMessageStore;
  /** Silences (`/ops silence`, `/silences`): matchers, start, end, reason, who made them, how often they suppressed. */
  readonly silences: SilenceStore;
  /**
   * A new signal that wakes the outbox relays of other processes on this database after a commit
   * (LISTEN/NOTIFY on a PostgreSQL server; a no-op where all relays share one process or there is
   * no channel). The caller closes it.
   */
  outboxSignal(logger?: SignalLogger): OutboxSignal;
  /**
   * A new job queue (Agenda) on this database, with connections of its own: every opsloop process on
   * the database shares its jobs. The caller starts and stops it.
   */
  jobs(options: JobQueueOptions): Promise<JobQueue>;
}

/**
 * One step of applying migrations, for progress output (`npm run migrate`, start-up logs):
 * `start` before a pending migration runs, `done` after it committed (with its duration).
 * Migrations already recorded produce no event.
 */
export type MigrationEvent = {
  version: string;
  /** 1-based position among all migrations of the store, and how many there are. */
  index: number;
  total: number;
  phase: 'start' | 'done';
  ms?: number;
};
export type MigrationProgress = (event: MigrationEvent) => void;
