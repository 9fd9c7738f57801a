/** Reciprocal rank fusion constant (Cormack et al.): dampens the head of each list. */
export const RRF_K = 60;

/**
 * Pure: fuse ranked lists of ids by reciprocal rank: score(id) = Σ 1 / (k + rank), rank from 1.
 * Ids only in one list still score. Returns ids with fused scores, best first (ties keep the
 * order of first appearance).
 */
export function reciprocalRankFusion(lists: ReadonlyArray<readonly string[]>, k = RRF_K): Array<{ id: string; score: number }> {
  const scores = new Map<string, number>();
  for (const list of lists) {
    list.forEach((id, i) => scores.set(id, (scores.get(id) ?? 0) + 1 / (k + i + 1)));
  }
  return [...scores.entries()].map(([id, score]) => ({ id, score })).sort((a, b) => b.score - a.score);
}
