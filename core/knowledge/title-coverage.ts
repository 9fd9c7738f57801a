/**
 * Pure: a document-level signal beside chunk BM25 — how much of the query a runbook's title
 * (and its declared tags and services) names. Near twins share most of their body text
 * (KubeletClientCertificateExpiration / KubeletServerCertificateExpiration, a project runbook and a
 * public one on the same subject); the title says which problem the runbook is about, so a query
 * word that is in one twin's title and not in the other's decides between them.
 */

/** Weight of full title coverage relative to the best BM25 score (both on a 0…1 scale). */
export const TITLE_COVERAGE_WEIGHT = 1;

/** BM25's inverse document frequency of a term found in `df` of `n` documents (never negative). */
export function inverseDocumentFrequency(df: number, n: number): number {
  return Math.log(1 + (n - df + 0.5) / (df + 0.5));
}

/** A query term with its weight (typed words count their IDF; spelled-out abbreviations less). */
export interface WeightedTerm { term: string; weight: number }

/** Share (0…1) of the query's term weight that `title` holds. */
export function titleCoverage(terms: readonly WeightedTerm[], title: ReadonlySet<string>): number {
  let total = 0;
  let covered = 0;
  for (const { term, weight } of terms) {
    total += weight;
    if (title.has(term)) covered += weight;
  }
  return total > 0 ? covered / total : 0;
}

/**
 * Hits rescored as score / best score + `weight` × their document's title coverage, best first
 * (ties keep the given order). Every chunk of a document gets the same coverage, so a document's
 * best chunk stays its best; only the order of documents changes.
 */
export function withTitleCoverage<H extends { doc_id: string; score: number }>(
  hits: readonly H[], coverageOf: (docId: string) => number, weight = TITLE_COVERAGE_WEIGHT,
): H[] {
  const top = hits.reduce((m, h) => Math.max(m, h.score), 0);
  if (top <= 0) return [...hits];
  const cache = new Map<string, number>();
  const coverage = (doc: string) => cache.get(doc) ?? cache.set(doc, coverageOf(doc)).get(doc)!;
  return hits
    .map((h) => ({ ...h, score: h.score / top + weight * coverage(h.doc_id) }))
    .sort((a, b) => b.score - a.score);
}
