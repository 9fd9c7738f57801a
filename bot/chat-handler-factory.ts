import type { ChatStore } from '../core/ports/chat-store.js';
import { librarianOf } from '../adapters/knowledge/knowledge-extension.js';
import { evidenceStoreFor } from '../adapters/store/evidence-store-factory.js';
import type { EvidenceQueries } from '../core/ports/evidence-store.js';
import { ChatHandler } from './chat-handler.js';
import type { ChatLinks } from './chat-model.js';
import type { OpsloopContext } from './extensions.js';

/**
 * The ChatHandler every chat surface (Slack, Discord, the simulator) uses, with the same reads:
 * cases, timelines and the evidence of `/ops evidence`. The evidence store is opened on first use.
 */
export function chatHandlerFor(ctx: Pick<OpsloopContext, 'orchestrator' | 'store'>, links?: ChatLinks, chatStore?: Pick<ChatStore, 'find'> | null): ChatHandler {
  let evidence: Promise<EvidenceQueries> | undefined;
  const lazyEvidence: Pick<EvidenceQueries, 'listEvidence'> = {
    async listEvidence(caseId) {
      evidence ??= evidenceStoreFor(ctx.store).then((s) => s.evidence);
      return (await evidence).listEvidence(caseId);
    },
  };
  const librarian = librarianOf(ctx);
  return new ChatHandler({
    orchestrator: ctx.orchestrator, queries: ctx.store.queries, evidence: lazyEvidence, ...(links ? { links } : {}),
    ...(librarian ? { knowledge: librarian } : {}),
    ...(chatStore ? { cards: chatStore } : {}),
  });
}
