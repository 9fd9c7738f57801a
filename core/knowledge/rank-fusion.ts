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
/** Weight of the semantic list in that reordering (the lexical list weighs 1). */
export const SEMANTIC_WEIGHT = 0.2;

/**
 * Pure: the lexical ranking with its first `head` ids reordered by weighted reciprocal rank fusion
 * with a semantic ranking; the rest keeps the lexical order, and ids only the semantic list holds
 * follow all lexical ones, in semantic order (a query without a word in common with any runbook
 * still finds one). The vectors only break near ties among the lexical front-runners, so
 * recall@head is the lexical one (issue 16 §3: on the bench the vectors were weaker than BM25 and
 * plain RRF pushed out runbooks BM25 had ranked 3rd–9th). Scores fall down the list.
 */
export function rerankLexicalHead(
  lexical: readonly string[], semantic: readonly string[], head = SEMANTIC_HEAD, weight = SEMANTIC_WEIGHT, k = RRF_K,
): Array<{ id: string; score: number }> {
  const front = new Set(lexical.slice(0, head));
  const reordered = reciprocalRankFusion([lexical, semantic], k, [1, weight]).filter((f) => front.has(f.id));
  const lexicalIds = new Set(lexical);
  const rest = [...lexical.slice(head), ...semantic.filter((id) => !lexicalIds.has(id))];
  return [...reordered, ...rest.map((id, i) => ({ id, score: 1 / (k + head + i + 1) }))];
}
