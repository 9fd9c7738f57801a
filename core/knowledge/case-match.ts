/**
 * Free-text matching of cases by what people call them: title words, service, env, labels, an id
 * prefix. Pure; the MCP `search_cases` tool ranks the stored cases with it (past cases' summaries
 * are found by the Librarian besides).
 */
import type { CaseRecord } from '../schemas/case.js';

/** Lower-case words of two or more letters or digits. */
export function queryWords(text: string): string[] {
  return [...new Set(text.toLowerCase().match(/[\p{L}\p{N}][\p{L}\p{N}._-]*/gu) ?? [])].filter((w) => w.length >= 2);
}

/** How many of `words` a case mentions (an id prefix of 4+ characters counts double). */
export function caseMatchScore(c: Pick<CaseRecord, 'id' | 'title' | 'service' | 'env' | 'labels' | 'tenant'>, words: readonly string[]): number {
  const haystack = [c.title, c.service ?? '', c.env ?? '', c.tenant, ...Object.entries(c.labels).flatMap(([k, v]) => [k, v])].join(' ').toLowerCase();
  let score = 0;
  for (const w of words) {
    if (w.length >= 4 && c.id.startsWith(w)) score += 2;
    else if (haystack.includes(w)) score += 1;
  }
  return score;
}

/** The cases matching any word, best first (ties: newest first, as given). */
export function matchCases<C extends Pick<CaseRecord, 'id' | 'title' | 'service' | 'env' | 'labels' | 'tenant'>>(cases: readonly C[], query: string, limit: number): C[] {
  const words = queryWords(query);
  return cases
    .map((c, index) => ({ c, index, score: caseMatchScore(c, words) }))
    .filter((m) => m.score > 0)
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .slice(0, limit)
    .map((m) => m.c);
}
