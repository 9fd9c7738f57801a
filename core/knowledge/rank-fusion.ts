/** Reciprocal rank fusion constant (Cormack et al.): dampens the head of each list. */
export const RRF_K = 60;

/**
 * Pure: fuse ranked lists of ids by reciprocal rank: score(id) = Σ weight / (k + rank), rank from 1
 * (every list weighs 1 unless `weights` says otherwise). Ids only in one list still score. Returns
 * ids with fused scores, best first (ties keep the order of first appearance).
 */
export function reciprocalRankFusion(
  lists: ReadonlyArray<readonly string[]>, k = RRF_K, weights: readonly number[] = [],
): Array<{ id: string; score: number }> {
  const scores = new Map<string, number>();
  lists.forEach((list, j) => {
    const weight = weights[j] ?? 1;
    list.forEach((id, i) => scores.set(id, (scores.get(id) ?? 0) + weight / (k + i + 1)));
  });
  return [...scores.entries()].map(([id, score]) => ({ id, score })).sort((a, b) => b.score - a.score);
}

/** How many of the lexical ranking's first documents the semantic ranking may reorder. */
export const SEMANTIC_HEAD = 3;
/**
 * What the best semantic score adds to a front-runner whose lexical score is scaled to the best
 * lexical one (1): 0.05, so the vectors reorder only documents within 5% of each other.
 */
export const SEMANTIC_WEIGHT = 0.05;

/** A ranked id with its score (higher is better). */
export interface Scored { id: string; score: number }

/**
 * Pure: the lexical ranking with its first `head` ids rescored as lexical / best lexical + `weight` ×
 * semantic / best semantic, so the semantic ranking only breaks near ties among the lexical
 * front-runners (issue 16 §3: the offline vectors are weaker than BM25; a rank-based fusion let
 * them overturn a clear BM25 winner). Below the head the lexical order stays, and ids only the
 * semantic list holds follow all lexical ones, in semantic order (a query without a word in common
 * with any runbook still finds one). Scores fall down the list.
 */
export function breakNearTies(
  lexical: readonly Scored[], semantic: readonly Scored[], head = SEMANTIC_HEAD, weight = SEMANTIC_WEIGHT,
): Scored[] {
  const lexTop = lexical.reduce((m, h) => Math.max(m, h.score), 0) || 1;
  const semTop = semantic.reduce((m, h) => Math.max(m, h.score), 0) || 1;
  const sem = new Map(semantic.map((h) => [h.id, h.score / semTop]));
  const front = lexical.slice(0, head)
    .map((h) => ({ id: h.id, score: h.score / lexTop + weight * (sem.get(h.id) ?? 0) }))
    .sort((a, b) => b.score - a.score);
  const lexicalIds = new Set(lexical.map((h) => h.id));
  const rest = [
    ...lexical.slice(head).map((h) => ({ id: h.id, score: h.score / lexTop })),
    ...semantic.filter((h) => !lexicalIds.has(h.id)).map((h) => ({ id: h.id, score: weight * (sem.get(h.id) ?? 0) })),
  ];
  const out = [...front, ...rest];
  for (let i = 1; i < out.length; i++) out[i]!.score = Math.min(out[i]!.score, out[i - 1]!.score);
  return out;
}
