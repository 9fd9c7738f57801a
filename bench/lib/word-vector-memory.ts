/**
 * Child process of bench:retrieval: the resident memory the offline word vectors add to a process
 * that already holds the BM25 index. Builds the index from a runbook folder, collects garbage,
 * reads RSS; opens the cache, takes every chunk in and answers every query; collects and reads
 * again. Prints one JSON line. Run with --expose-gc (the parent does).
 *
 *   node --expose-gc --import tsx bench/lib/word-vector-memory.ts CACHE RUNBOOK_DIR QUERIES_JSON
 */
import { readFileSync } from 'node:fs';
import { Bm25Index } from '../../adapters/knowledge/bm25-index.js';
import { listRunbookFiles, runbookDocument } from '../../adapters/knowledge/runbook-files.js';
import { WordVectorIndex } from '../../adapters/knowledge/word-vector-index.js';
import { WordVectors } from '../../adapters/knowledge/word-vectors.js';

const [cache, dir, queriesPath] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc;
const settle = () => { for (let i = 0; i < 3; i++) gc?.(); };
const mb = (n: number) => Math.round(n / 1e5) / 10;

const index = new Bm25Index();
for (const file of await listRunbookFiles(dir!)) {
  const { doc, chunks } = runbookDocument(file.rel, readFileSync(file.abs, 'utf8'), new Date());
  index.putDoc(doc, chunks);
}
const queries = (JSON.parse(readFileSync(queriesPath!, 'utf8')) as Array<{ query: string }>).map((q) => q.query);
for (const q of queries) index.search(q, { limit: 50 });
settle();
const before = process.memoryUsage();
const vectors = WordVectors.open(cache!);
const semantic = new WordVectorIndex(index, vectors);
semantic.refresh();
for (const q of queries) semantic.search(q, { limit: 50 });
settle();
const after = process.memoryUsage();
process.stdout.write(JSON.stringify({
  chunks: index.size, gc: Boolean(gc), rss_before_mb: mb(before.rss), rss_after_mb: mb(after.rss), added_rss_mb: mb(after.rss - before.rss),
  added_heap_mb: mb(after.heapUsed - before.heapUsed), added_external_mb: mb(after.external + after.arrayBuffers - before.external - before.arrayBuffers),
}) + '\n');
vectors.close();
