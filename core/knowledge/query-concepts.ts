/**
 * Pure: coordination by query concept. A query's concepts are the words the user typed, each with
 * its synonyms, plus each word the ops lexicon spelled out. BM25 libraries (MiniSearch among them)
 * multiply a hit's score by how many query terms it matched, so a typed word with five synonyms could
 * count six times: `memory requests overcommitted` ranked a memory-leak runbook (memory, heap, leak,
 * oom…) over KubeMemoryOvercommit (memory, requests, overcommit). Counting each concept once rewards
 * covering more of what was asked, not more ways of saying one word of it.
 */

/** term → the concept it stands for (a typed term stands for itself). */
export type ConceptOf = ReadonlyMap<string, string>;

/** How many distinct concepts `matched` terms cover (a term not in `conceptOf` is its own concept). */
export function conceptCount(matched: readonly string[], conceptOf: ConceptOf): number {
  return new Set(matched.map((t) => conceptOf.get(t) ?? t)).size;
}

/**
 * A score whose coordination counted `matched` terms, re-coordinated by concepts:
 * score / matched.length × concepts covered (never more than the score given).
 */
export function coordinateByConcept(score: number, matched: readonly string[], conceptOf: ConceptOf): number {
  if (matched.length === 0) return score;
  return (score / matched.length) * conceptCount(matched, conceptOf);
}
