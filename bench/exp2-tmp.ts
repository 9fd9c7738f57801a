import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Bm25Index } from '../adapters/knowledge/bm25-index.js';
import { listRunbookFiles, runbookDocument } from '../adapters/knowledge/runbook-files.js';
import { WordVectors } from '../adapters/knowledge/word-vectors.js';
import { sifWeight, vectorWords } from '../adapters/knowledge/word-vector-index.js';
import { score, type LabelledQuery } from './lib/retrieval-scores.js';
const ROOT = '/work/wt-retrieval';
const dir = process.argv[2]!;
const T = Number(process.argv[3] ?? 0.5);
const queries = JSON.parse(readFileSync(join(ROOT, 'bench/retrieval-queries.json'), 'utf8')) as LabelledQuery[];
const index = new Bm25Index();
for (const f of await listRunbookFiles(dir)) { const { doc, chunks } = runbookDocument(f.rel, readFileSync(f.abs, 'utf8'), new Date()); index.putDoc(doc, chunks); }
const wv = WordVectors.open(join(ROOT, 'node_modules/.cache/opsloop/word-vectors-sg100d.v1.bin'));
const t0 = performance.now();
const vocab = new Map<string, number>(); const words: string[] = [];
const chunkWords: Array<{ id: string; doc: string; ids: Uint32Array }> = [];
const df = new Map<number, number>();
for (const c of index.chunks()) {
  const set = new Set<number>();
  for (const w of vectorWords(`${c.title}\n${c.heading}\n${c.body}`)) { let id = vocab.get(w); if (id === undefined) { id = words.length; vocab.set(w, id); words.push(w); } set.add(id); }
  for (const id of set) df.set(id, (df.get(id) ?? 0) + 1);
  chunkWords.push({ id: c.id, doc: c.doc_id, ids: Uint32Array.from(set) });
}
const mat = new Float32Array(words.length * 100); const has = new Uint8Array(words.length);
words.forEach((w, i) => { const v = wv.lookup(w); if (v) { mat.set(v.vector, i * 100); has[i] = 1; } });
console.log('vocab', words.length, 'chunks', chunkWords.length, 'ms', (performance.now() - t0).toFixed(0));
const N = chunkWords.length;
function rank(q: string, mode: string): string[] {
  const qws = [...new Set(vectorWords(q))];
  const scores = new Float32Array(N); let wsum = 0;
  for (const qw of qws) {
    const v = wv.lookup(qw); const exact = vocab.get(qw);
    const sim = new Float32Array(words.length);
    if (v) { for (let i = 0; i < words.length; i++) { if (!has[i]) continue; let d = 0; const at = i * 100; for (let k = 0; k < 100; k++) d += v.vector[k]! * mat[at + k]!; sim[i] = d > T ? (d - T) / (1 - T) : 0; } }
    if (exact !== undefined) sim[exact] = 1;
    const w = mode.includes('idf') ? Math.log(1 + N / (1 + (exact !== undefined ? df.get(exact)! : 0))) * (v ? sifWeight(v.rank) : 1) : (v ? sifWeight(v.rank) : 1);
    if (!v && exact === undefined) continue;
    wsum += w;
    for (let c = 0; c < N; c++) { let m = 0; const ids = chunkWords[c]!.ids; for (let j = 0; j < ids.length; j++) { const s = sim[ids[j]!]!; if (s > m) m = s; } scores[c]! += w * m; }
  }
  const order = [...scores.keys()].sort((a, b) => scores[b]! - scores[a]!).filter((i) => scores[i]! > 0);
  return [...new Set(order.map((i) => chunkWords[i]!.doc))];
}
const docOf = (id: string) => index.chunk(id)!.doc_id;
const bm = queries.map((q) => [...new Set(index.search(q.query, { limit: 50 }).map((h) => docOf(h.chunk_id)))]);
const show = (name: string, r: string[][]) => { const all = score(queries, r); const per = ['project', 'public'].map((s) => { const idx = queries.flatMap((q, i) => q.slice === s ? [i] : []); const sc = score(idx.map((i) => queries[i]!), idx.map((i) => r[i]!)); return `${s} ${sc.recall1.toFixed(3)}/${sc.recall3.toFixed(3)}/${sc.mrr10.toFixed(3)}`; }); console.log(name.padEnd(30), all.recall1.toFixed(3), all.recall3.toFixed(3), all.mrr10.toFixed(3), per.join('  ')); };
const wrrf = (lists: string[][], w: number[], k = 60) => { const s = new Map<string, number>(); lists.forEach((l, j) => l.forEach((id, i) => s.set(id, (s.get(id) ?? 0) + w[j]! / (k + i + 1)))); return [...s].sort((a, b) => b[1] - a[1]).map((x) => x[0]); };
show('bm25', bm);
for (const mode of ['sif', 'idf']) {
  const t1 = performance.now();
  const soft = queries.map((q) => rank(q.query, mode));
  console.log('ms/query', ((performance.now() - t1) / queries.length).toFixed(2));
  show(`soft ${mode} T=${T}`, soft);
  for (const k of [60, 10]) for (const w of [1, 0.5]) show(`rrf ${mode} k=${k} w=${w}`, queries.map((_, i) => wrrf([bm[i]!, soft[i]!.slice(0, 50)], [1, w], k)));
}
