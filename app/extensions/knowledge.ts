import type { OpsloopContext, OpsloopExtension } from '../extension-context.js';
import type { CaseStore } from '../../core/ports/case-store.js';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';
import { parseEvent } from '../../core/events/typed-events.js';
import { eventSchemaRoutes, kbRoutes } from '../../adapters/http/kb-routes.js';
import { consumeOnce, firstDelivery, type DeliveryInfo } from '../../adapters/jobs/outbox-consumer.js';
import { Librarian, type LibrarianOptions } from '../../adapters/knowledge/librarian.js';
import type { Embedder } from '../../adapters/knowledge/openai-embedder.js';
import { wordVectorOption } from '../../adapters/knowledge/word-vector-cache.js';

/** Inbox consumer name of the case summariser. */
export const LIBRARIAN_CONSUMER = 'librarian.case-summary';

/**
 * Summarise CLOSED and PARKED cases into the knowledge base, once per message id: the summary
 * is an upsert keyed by case (a redelivery rewrites the same document), and the inbox records
 * the message afterwards so later redeliveries skip the work.
 */
export function caseSummaryConsumer(store: CaseStore, librarian: Librarian) {
  return async (msg: OutboxEnvelope, info?: DeliveryInfo): Promise<void> => {
    const parsed = parseEvent(msg);
    if (!parsed.ok || parsed.event.topic !== 'evt.case.transition.v1') return;
    const { to } = parsed.event.data;
    if (to !== 'CLOSED' && to !== 'PARKED') return;
    if (!firstDelivery(info) && await store.queries.inboxHas(LIBRARIAN_CONSUMER, msg.id)) return;
    await librarian.indexCase(msg.case_id);
    await consumeOnce(store, LIBRARIAN_CONSUMER, msg, async () => undefined);
  };
}

export interface KnowledgeExtensionOptions {
  embedder?: Embedder | null;
  librarian?: Partial<LibrarianOptions>;
}

/**
 * Knowledge and history as an opsloop extension: the Librarian (runbooks + case summaries,
 * GET /kb/search), case replay and incident reports (GET /case/{id}/replay, /report).
 */
export async function createKnowledgeExtension(ctx: OpsloopContext, opts: KnowledgeExtensionOptions = {}): Promise<OpsloopExtension> {
  const { config, logger, store, relay } = ctx;
  const log = logger.child({ component: 'librarian' });
  const kb = ctx.backend.knowledge;
  const embedder = opts.embedder !== undefined ? opts.embedder : config.openaiEmbeddingsModel
    // The openai client library is loaded only when embeddings are configured (bench:memory).
    ? (await import('../../adapters/knowledge/openai-embedder.js')).createOpenAiEmbedder({
      model: config.openaiEmbeddingsModel,
      ...(config.openaiApiKey ? { apiKey: config.openaiApiKey } : {}),
      ...(config.openaiBaseUrl ? { baseURL: config.openaiBaseUrl } : {}),
    })
    : null;
  const librarian = new Librarian({
    kb, runbookDir: config.runbookDir, queries: store.queries, embedder, logger: log, wordVectors: wordVectorOption(config), ...opts.librarian,
  });
  ctx.services.provide('librarian', librarian);
  relay.on('evt.case.transition.v1', caseSummaryConsumer(store, librarian), LIBRARIAN_CONSUMER);

  return {
    name: 'knowledge',
    http: [kbRoutes(librarian), eventSchemaRoutes()],
    async start() {
      const report = await librarian.start();
      log.info({ ...report, documents: librarian.documents().length, semantic: embedder ? embedder.model : `word vectors ${librarian.wordVectorState}` }, 'librarian ready');
    },
    async stop() {
      await librarian.stop();
    },
  };
}
