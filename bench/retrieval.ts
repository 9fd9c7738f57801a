/**
 * Retrieval quality bench (issue 8): the shipped runbooks (./runbooks) and labelled on-call
 * queries (bench/retrieval-queries.json), scored for the Librarian's BM25 ranking and for plain
 * PostgreSQL `ts_rank` (OR of the query's lexemes) on the same kb_chunk rows, side by side —
 * and for hybrid (BM25 + pgvector, reciprocal rank fusion) when OPENAI_EMBEDDINGS_MODEL is set.
 *
 *   npm run bench:retrieval [-- --json --verbose]
 *
 * recall@k: share of queries whose labelled runbook is among the first k documents.
 * MRR: mean of 1/rank of the labelled runbook (0 when not in the first 10).
 */
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../adapters/config/env.js';
import { Librarian } from '../adapters/knowledge/librarian.js';
import { createOpenAiEmbedder } from '../adapters/knowledge/openai-embedder.js';
import { SqlKnowledgeStore } from '../adapters/store/sql/sql-knowledge-store.js';
import { bestChunkPerDoc } from '../adapters/knowledge/bm25-index.js';
import { createPgliteCaseStore } from '../adapters/store/pglite/pglite-case-store.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const asJson = args.includes('--json');
const verbose = args.includes('--verbose');

interface Labelled { query: string; expect: string }
interface Scores { recall1: number; recall3: number; mrr: number; misses: Array<{ query: string; expect: string; got: string[] }> }

function score(queries: Labelled[], rankings: string[][]): Scores {
  let r1 = 0; let r3 = 0; let rr = 0;
  const misses: Scores['misses'] = [];
  queries.forEach((q, i) => {
    const ranked = rankings[i]!.slice(0, 10);
    const rank = ranked.indexOf(`runbook:${q.expect}`) + 1;
    if (rank === 1) r1++;
    if (rank >= 1 && rank <= 3) r3++;
    if (rank >= 1) rr += 1 / rank;
    if (rank !== 1) misses.push({ query: q.query, expect: q.expect, got: ranked.slice(0, 3).map((d) => d.replace(/^runbook:/, '')) });
  });
  const n = queries.length;
  return { recall1: r1 / n, recall3: r3 / n, mrr: rr / n, misses };
}

async function main(): Promise<void> {
  const queries = JSON.parse(await readFile(join(ROOT, 'bench/retrieval-queries.json'), 'utf8')) as Labelled[];
  const config = loadConfig();
  const model = config.openaiEmbeddingsModel;
  const dir = await mkdtemp(join(tmpdir(), 'opsloop-bench-kb-'));
  const extensions = model ? { vector: (await import('@electric-sql/pglite-pgvector')).vector } : undefined;
  const template = process.env.OPSLOOP_BENCH_PGLITE_TEMPLATE;
  if (template) await cp(template, join(dir, 'data'), { recursive: true });
  const store = createPgliteCaseStore({ dataDir: join(dir, 'data'), ...(extensions ? { extensions } : {}) });
  try {
    await store.connect();
    const kb = new SqlKnowledgeStore(store);
    const embedder = model ? createOpenAiEmbedder({
      model, ...(config.openaiApiKey ? { apiKey: config.openaiApiKey } : {}), ...(config.openaiBaseUrl ? { baseURL: config.openaiBaseUrl } : {}), timeoutMs: 30_000,
    }) : null;
    const lexical = new Librarian({ kb, runbookDir: join(ROOT, 'runbooks'), watchFiles: false, scanIntervalMs: 3_600_000 });
    const synced = await lexical.start();
    await lexical.stop();

    const bm25 = await Promise.all(queries.map(async (q) => (await lexical.search(q.query, { k: 10 })).hits.map((h) => h.doc_id)));
    const tsRank = await Promise.all(queries.map(async (q) => bestChunkPerDoc(await kb.tsRank(q.query, 200)).map((h) => h.doc_id)));
    const rows: Array<{ ranking: string; scores: Scores }> = [
      { ranking: 'BM25 (opsloop Librarian)', scores: score(queries, bm25) },
      { ranking: 'ts_rank, OR of lexemes', scores: score(queries, tsRank) },
    ];
    if (embedder) {
      const hybridLib = new Librarian({ kb, embedder, watchFiles: false, scanIntervalMs: 3_600_000, queryEmbedTimeoutMs: 30_000 });
      await hybridLib.start();
      await hybridLib.embedPending();
      const hybrid = [];
      for (const q of queries) hybrid.push((await hybridLib.search(q.query, { k: 10 })).hits.map((h) => h.doc_id));
      await hybridLib.stop();
      rows.push({ ranking: `hybrid BM25 + ${model} (RRF)`, scores: score(queries, hybrid) });
    }
    if (asJson) {
      process.stdout.write(JSON.stringify({ documents: synced.added, queries: queries.length, results: rows }, null, 2) + '\n');
      return;
    }
    process.stdout.write(`retrieval bench: ${synced.added} runbooks, ${queries.length} labelled queries${embedder ? '' : ' (hybrid: set OPENAI_EMBEDDINGS_MODEL and OPENAI_BASE_URL to include it)'}\n\n`);
    process.stdout.write(`${'ranking'.padEnd(36)} ${'recall@1'.padStart(9)} ${'recall@3'.padStart(9)} ${'MRR'.padStart(7)}\n`);
    for (const r of rows) {
      process.stdout.write(`${r.ranking.padEnd(36)} ${r.scores.recall1.toFixed(3).padStart(9)} ${r.scores.recall3.toFixed(3).padStart(9)} ${r.scores.mrr.toFixed(3).padStart(7)}\n`);
    }
    if (verbose) {
      for (const r of rows) {
        process.stdout.write(`\n${r.ranking}: not first for ${r.scores.misses.length} queries\n`);
        for (const m of r.scores.misses) process.stdout.write(`  "${m.query}" → expected ${m.expect}, got ${m.got.join(', ') || '(nothing)'}\n`);
      }
    }
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
