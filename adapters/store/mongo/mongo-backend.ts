import type { Db } from 'mongodb';
import type { OpsloopBackend } from '../../../core/ports/backend.js';
import { noOutboxSignal } from '../../../core/ports/outbox-signal.js';
import { agendaJobs, type AgendaBackendBinding } from '../../jobs/agenda-job-queue.js';
import { InProcessJobChannel } from '../../jobs/agenda-wake-channel.js';
import { assembleBackend } from '../assemble-backend.js';
import { createMongoCaseStore, type MongoCaseStore, type MongoCaseStoreOptions } from './mongo-case-store.js';
import { MongoChatStore } from './mongo-chat-store.js';
import { MongoEvidenceStore } from './mongo-evidence-store.js';
import { MongoKnowledgeStore } from './mongo-knowledge-store.js';
import { MongoSilenceStore } from './mongo-silence-store.js';
import { MongoSimMessageStore } from './mongo-sim-message-store.js';
import { MongoTokenStore } from './mongo-token-store.js';

export type MongoBackend = OpsloopBackend<MongoCaseStore>;

/**
 * The backend on a MongoDB replica set around its store: every collection in the store's database
 * (migrations/mongo/). No outbox signal (relays poll); Agenda uses its Mongo backend on the same database.
 */
export function mongoBackend(store: MongoCaseStore): MongoBackend {
  return assembleBackend(store, {
    location: `mongodb at ${mongoHosts(store)}/${store.db.databaseName}`,
    evidence: new MongoEvidenceStore(store),
    knowledge: new MongoKnowledgeStore(store.db),
    tokens: new MongoTokenStore(store),
    chat: new MongoChatStore(store),
    simMessages: new MongoSimMessageStore(store),
    silences: new MongoSilenceStore(store),
    outboxSignal: () => noOutboxSignal,
    jobs: agendaJobs(() => mongoAgendaBackend(store.db)),
  });
}

/** Open MongoDB (MONGODB_URI); `connect` checks for a replica set and applies migrations. */
export async function openMongoBackend(options: MongoCaseStoreOptions): Promise<MongoBackend> {
  return mongoBackend(await createMongoCaseStore(options));
}

/** Agenda on MongoDB (same database as the case store). */
export async function mongoAgendaBackend(db: Db): Promise<AgendaBackendBinding> {
  const { MongoBackend: AgendaMongoBackend } = await import('@agendajs/mongo-backend');
  // Saved jobs wake this process's processor at once; other processes find them at their poll.
  return { backend: new AgendaMongoBackend({ mongo: db }), notificationChannel: new InProcessJobChannel(), close: async () => {} };
}

/** The seed list of the store's client, without credentials. */
function mongoHosts(store: MongoCaseStore): string {
  return store.client.options.hosts.map((h) => h.toString()).join(',');
}
