import type { RetrievedChunk } from '../../core/knowledge/plan-annotations.js';
import type { PlannerKnowledge } from '../planner/planner-service.js';
import type { Librarian } from './librarian.js';

/** How many chunks the Planner gets. */
export const PLANNER_TOP_K = 5;

/**
 * The Librarian as the Planner's knowledge source: the query is the case title, service and
 * evidence titles; documents of the case's service come first, other matches fill up to K.
 * Retrieval trouble yields no chunks, never a failed plan.
 */
export function librarianPlannerKnowledge(librarian: Librarian, k = PLANNER_TOP_K): PlannerKnowledge {
  return {
    async retrieve({ case: c, evidence }) {
      const query = [c.title, c.service ?? '', ...evidence.slice(0, 10).map((e) => e.title)].join(' ').slice(0, 480);
      try {
        const forService = c.service ? (await librarian.search(query, { k, service: c.service })).hits : [];
        const general = forService.length < k ? (await librarian.search(query, { k })).hits : [];
        const seen = new Set<string>();
        const hits = [...forService, ...general].filter((h) => (seen.has(h.doc_id) ? false : (seen.add(h.doc_id), true))).slice(0, k);
        return hits.flatMap((h): RetrievedChunk[] => {
          const text = librarian.chunkText(h.chunk_id);
          return text ? [{ chunk_id: h.chunk_id, doc_id: h.doc_id, title: text.heading || text.title, source: h.source, text: text.body }] : [];
        });
      } catch {
        return [];
      }
    },
  };
}
