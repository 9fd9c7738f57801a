import type { ChatStore } from '../core/ports/chat-store.js';
import { ChatHandler } from '../bot/chat-handler.js';
import type { ChatLinks } from '../core/chat/message-model.js';
import type { OpsloopContext } from './extension-context.js';

/**
 * The ChatHandler every chat surface (Slack, Discord, the simulator) uses, with the same reads:
 * cases, timelines and the evidence of `/ops evidence`, all from the backend.
 */
export function chatHandlerFor(ctx: Pick<OpsloopContext, 'orchestrator' | 'backend' | 'services'> & Partial<Pick<OpsloopContext, 'clock'>>, links?: ChatLinks, chatStore?: Pick<ChatStore, 'find'> | null): ChatHandler {
  const librarian = ctx.services.get('librarian');
  const demo = ctx.services.get('demo');
  const silences = ctx.services.get('silences');
  return new ChatHandler({
    orchestrator: ctx.orchestrator, queries: ctx.backend.cases.queries, evidence: ctx.backend.evidence.evidence, ...(links ? { links } : {}),
    ...(librarian ? { knowledge: librarian } : {}),
    ...(chatStore ? { cards: chatStore } : {}),
    ...(demo ? { demo } : {}),
    ...(silences ? { silences: { silences: silences.service, clock: ctx.clock ?? { now: () => new Date() } } } : {}),
  });
}
