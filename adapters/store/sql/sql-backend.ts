import type { OpsloopBackend } from '../../../core/ports/backend.js';
import type { OutboxSignal, SignalLogger } from '../../../core/ports/outbox-signal.js';
import { agendaJobs, type AgendaBackendBinding } from '../../jobs/agenda-job-queue.js';
import { assembleBackend } from '../assemble-backend.js';
import type { SqlCaseStore } from './sql-case-store.js';
import { SqlChatStore } from './sql-chat-store.js';
import { SqlEvidenceStore } from './sql-evidence-store.js';
import { SqlKnowledgeStore } from './sql-knowledge-store.js';
import { SqlSilenceStore } from './sql-silence-store.js';
import { SqlSimMessageStore } from './sql-sim-message-store.js';
import { SqlTokenStore } from './sql-token-store.js';

/** What differs between the SQL databases (PGlite, a PostgreSQL server). */
export interface SqlBackendParts {
  location: string;
  outboxSignal(logger?: SignalLogger): OutboxSignal;
  /** Open Agenda's binding on this database (connections of its own). */
  agenda(): Promise<AgendaBackendBinding>;
}

/**
 * The backend of a SQL database: the same tables and statements on PGlite and on a PostgreSQL
 * server (migrations/*.sql), every store on the case store's connection.
 */
export function sqlBackend<S extends SqlCaseStore>(store: S, parts: SqlBackendParts): OpsloopBackend<S> {
  return assembleBackend(store, {
    location: parts.location,
    evidence: new SqlEvidenceStore(store),
    knowledge: new SqlKnowledgeStore(store),
    tokens: new SqlTokenStore(store),
    chat: new SqlChatStore(store.sql),
    simMessages: new SqlSimMessageStore(store.sql),
    silences: new SqlSilenceStore(store),
    outboxSignal: (logger) => parts.outboxSignal(logger),
    jobs: agendaJobs(() => parts.agenda()),
  });
}
