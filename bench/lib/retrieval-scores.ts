/** Scoring of ranked document lists against labelled queries (bench:retrieval). */

export interface LabelledQuery {
  query: string;
  /** The right runbook, or the runbooks that are equally right (same problem in two collections). */
  expect: string | string[];
  /** project: ./runbooks; public: the prometheus-operator collection under bench/data. */
  slice: 'project' | 'public';
  kind: 'symptom' | 'paraphrase' | 'alert-name';
}

export interface Scores {
  n: number;
  recall1: number;
  recall3: number;
  mrr10: number;
}

export interface Miss { query: string; expect: string[]; got: string[] }

export function expected(q: LabelledQuery): string[] {
  return (Array.isArray(q.expect) ? q.expect : [q.expect]).map((e) => `runbook:${e}`);
}

/** 1-based rank of the first right document within the first 10, or 0. */
export function rankOf(q: LabelledQuery, ranking: readonly string[]): number {
  const right = new Set(expected(q));
  const at = ranking.slice(0, 10).findIndex((d) => right.has(d));
  return at + 1;
}

/** recall@1, recall@3 and MRR@10 of `rankings` (one per query, same order). */
export function score(queries: readonly LabelledQuery[], rankings: ReadonlyArray<readonly string[]>): Scores {
  let r1 = 0; let r3 = 0; let rr = 0;
  queries.forEach((q, i) => {
    const rank = rankOf(q, rankings[i]!);
    if (rank === 1) r1++;
    if (rank >= 1 && rank <= 3) r3++;
    if (rank >= 1) rr += 1 / rank;
  });
  const n = queries.length || 1;
  return { n: queries.length, recall1: r1 / n, recall3: r3 / n, mrr10: rr / n };
}

export function misses(queries: readonly LabelledQuery[], rankings: ReadonlyArray<readonly string[]>): Miss[] {
  return queries.flatMap((q, i) => rankOf(q, rankings[i]!) === 1 ? [] : [{
    query: q.query, expect: expected(q).map(strip), got: rankings[i]!.slice(0, 3).map(strip),
  }]);
}

const strip = (id: string) => id.replace(/^runbook:/, '');

/**
 * The slices a table shows: everything, the two halves by position in the file (ranking changes
 * are tuned on the even half; the odd half is held out), each collection, each kind, and
 * collection × kind.
 */
export function slices(queries: readonly LabelledQuery[]): Array<{ name: string; pick: (q: LabelledQuery, at: number) => boolean }> {
  const out: Array<{ name: string; pick: (q: LabelledQuery, at: number) => boolean }> = [
    { name: 'all', pick: () => true },
    { name: 'even # (tuned on)', pick: (_q, at) => at % 2 === 0 },
    { name: 'odd # (held out)', pick: (_q, at) => at % 2 === 1 },
  ];
  const collections = [...new Set(queries.map((q) => q.slice))];
  const kinds = [...new Set(queries.map((q) => q.kind))];
  for (const c of collections) out.push({ name: c, pick: (q) => q.slice === c });
  for (const k of kinds) out.push({ name: k, pick: (q) => q.kind === k });
  for (const c of collections) {
    for (const k of kinds) {
      if (queries.some((q) => q.slice === c && q.kind === k)) out.push({ name: `${c} · ${k}`, pick: (q) => q.slice === c && q.kind === k });
    }
  }
  return out;
}
