import { summariseCase } from '../../core/knowledge/case-summary.js';
import { chunkMarkdown } from '../../core/knowledge/markdown-chunks.js';
import type { CaseQueries } from '../../core/ports/case-store.js';
import type { KbChunk, KbDoc, KnowledgeStore } from '../../core/ports/knowledge-store.js';
import type { IndexSync } from './index-sync.js';
import { contentHash } from './runbook-files.js';

/** Case summaries in the knowledge base: one document per CLOSED or PARKED case. */
export class CaseIndexer {
  constructor(
    private readonly kb: KnowledgeStore,
    private readonly queries: CaseQueries | undefined,
    private readonly sync: IndexSync,
    private readonly now: () => Date,
    /** Called after a summary was stored (start background embedding). */
    private readonly onIndexed: () => void,
  ) {}

  /**
   * Summarise a CLOSED or PARKED case into the knowledge base (doc id `case:<id>`, replaced when
   * the case is summarised again). Returns false when the case is missing or still open.
   */
  indexCase(caseId: string): Promise<boolean> {
    return this.sync.serial(async () => {
      const queries = this.queries;
      if (!queries) return false;
      const c = await queries.getCase(caseId);
      if (!c || (c.status !== 'CLOSED' && c.status !== 'PARKED')) return false;
      const timeline = await queries.listTimeline(caseId);
      const plan = c.plan_id ? await queries.getPlan(c.plan_id) : null;
      const summary = summariseCase(c, timeline, plan);
      const id = `case:${c.id}`;
      const doc: KbDoc = {
        id, kind: 'case', source: `/case/${c.id}`, title: summary.title, services: summary.services, tags: [c.status.toLowerCase()],
        actions: summary.actions, content_hash: contentHash(summary.markdown), updated_at: this.now(),
      };
      if (this.sync.docs.get(id)?.content_hash === doc.content_hash) return true;
      const chunks = toChunks(id, chunkMarkdown(summary.markdown, summary.title));
      await this.kb.putDoc(doc, chunks);
      this.sync.applyDoc(doc, chunks);
      this.onIndexed();
      return true;
    });
  }
}

function toChunks(docId: string, chunks: ReadonlyArray<{ ord: number; heading: string; body: string }>): KbChunk[] {
  return chunks.map((c) => ({ id: `${docId}#${c.ord}`, doc_id: docId, ord: c.ord, heading: c.heading, body: c.body }));
}
