/**
 * Retrieval quality bench (issues 8 and 16): the project's runbooks (./runbooks) plus a public
 * collection (prometheus-operator/runbooks, Apache-2.0, under bench/data) and the labelled on-call
 * queries of bench/retrieval-queries.json, ranked four ways over the same kb_chunk rows:
 *
 *   BM25            the Librarian's lexical ranking (OPSLOOP_WORD_VECTORS=off)
 *   vectors alone   the offline word vectors (GloVe 100-d, SIF mean, cosine)
 *   BM25 + vectors  the vectors break near ties among BM25's first 3 documents (score-weighted) — the default
 *   ts_rank         plain PostgreSQL full-text ranking (OR of the query's lexemes), for reference
 *
 * (and hybrid BM25 + pgvector when OPENAI_EMBEDDINGS_MODEL is set), per slice (collection, query
 * kind, both) and overall, with the goals beside them; then the memory the vectors add and the
 * query latency over at least 1,000 chunks.
 *
 *   npm run bench:retrieval [-- --json --verbose]
 *
 * recall@k: share of queries whose labelled runbook (or one of its equals) is among the first k
 * documents. MRR@10: mean of 1/rank of the first right runbook (0 when not in the first 10).
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../adapters/config/env.js';
import { bestChunkPerDoc } from '../adapters/knowledge/bm25-index.js';
import { Librarian } from '../adapters/knowledge/librarian.js';
import { createOpenAiEmbedder } from '../adapters/knowledge/openai-embedder.js';
import { defaultCachePath, loadWordVectors, wordVectorSourcePath, type WordVectorLocation } from '../adapters/knowledge/word-vector-cache.js';
import { WordVectorIndex } from '../adapters/knowledge/word-vector-index.js';
import { WordVectors } from '../adapters/knowledge/word-vectors.js';
import { SqlKnowledgeStore } from '../adapters/store/sql/sql-knowledge-store.js';
import { createPgliteCaseStore } from '../adapters/store/pglite/pglite-case-store.js';
import { machineLine, REPO_ROOT, writeResults } from './lib/results.js';
import { misses, score, slices, type LabelledQuery, type Scores } from './lib/retrieval-scores.js';
import { round, summarize } from './lib/stats.js';
import { formatTable } from './lib/table.js';

const run = promisify(execFile);
const args = process.argv.slice(2);
const asJson = args.includes('--json');
const verbose = args.includes('--verbose');
const PUBLIC = join(REPO_ROOT, 'bench/data/prometheus-operator-runbooks/runbooks');
const GOALS = { recall1: 0.9, recall3: 0.97, addedRssMb: 100, p99Ms: 20, latencyChunks: 1000 };
const quietLog = { info() {}, warn(_o: object, m?: string) { process.stderr.write(`warn: ${m}\n`); }, error() {} };

/** The corpus: project runbooks at the root, the public collection under public/ (copies `extra` times more under public-N/). */
async function corpus(extraCopies = 0): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'opsloop-bench-runbooks-'));
  for (const name of await readdir(join(REPO_ROOT, 'runbooks'))) {
    if (name.endsWith('.md')) await cp(join(REPO_ROOT, 'runbooks', name), join(dir, name));
  }
  await cp(PUBLIC, join(dir, 'public'), { recursive: true });
  for (let i = 1; i <= extraCopies; i++) await cp(PUBLIC, join(dir, `public-${i}`), { recursive: true });
  return dir;
}

async function openVectors(where: WordVectorLocation): Promise<WordVectors | null> {
  const started = Date.now();
  const loaded = loadWordVectors(quietLog, where);
  if (loaded instanceof WordVectors) return loaded;
  process.stderr.write(`the word-vector cache is missing or damaged: building ${where.cachePath} …\n`);
  const built = await loaded;
  if (built) process.stderr.write(`built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return built;
}

async function main(): Promise<void> {
  const queries = JSON.parse(await readFile(join(REPO_ROOT, 'bench/retrieval-queries.json'), 'utf8')) as LabelledQuery[];
  const config = loadConfig();
  const model = config.openaiEmbeddingsModel;
  const where: WordVectorLocation = { cachePath: defaultCachePath(), source: wordVectorSourcePath() };
  const tmp = await mkdtemp(join(tmpdir(), 'opsloop-bench-kb-'));
  const dir = await corpus();
  const extensions = model ? { vector: (await import('@electric-sql/pglite-pgvector')).vector } : undefined;
  const template = process.env.OPSLOOP_BENCH_PGLITE_TEMPLATE;
  if (template) await cp(template, join(tmp, 'data'), { recursive: true });
  const store = createPgliteCaseStore({ dataDir: join(tmp, 'data'), ...(extensions ? { extensions } : {}) });
  try {
    await store.connect();
    const kb = new SqlKnowledgeStore(store);
    const common = { kb, watchFiles: false, scanIntervalMs: 3_600_000 } as const;
    const lexical = new Librarian({ ...common, runbookDir: dir, wordVectors: false });
    const synced = await lexical.start();
    await lexical.stop();
    const docs = (hits: Array<{ doc_id: string }>) => hits.map((h) => h.doc_id);
    const rankings: Record<string, string[][]> = {};
    rankings['BM25'] = await Promise.all(queries.map(async (q) => docs((await lexical.search(q.query, { k: 10 })).hits)));

    const vectors = await openVectors(where);
    if (vectors) {
      const alone = new WordVectorIndex(lexical.index, vectors);
      rankings['vectors alone'] = queries.map((q) => bestChunkPerDoc(alone.search(q.query, { limit: 200 }).map((id) => ({ doc_id: lexical.index.chunk(id)!.doc_id }))).map((h) => h.doc_id));
      const fused = new Librarian({ ...common, wordVectors: where });
      await fused.start();
      await fused.settled();
      rankings['BM25 + vectors (fused)'] = await Promise.all(queries.map(async (q) => docs((await fused.search(q.query, { k: 10 })).hits)));
      await fused.stop();
    }
    rankings['ts_rank (PostgreSQL)'] = await Promise.all(queries.map(async (q) => docs(bestChunkPerDoc(await kb.tsRank(q.query, 200)))));
    if (model) {
      const embedder = createOpenAiEmbedder({
        model, ...(config.openaiApiKey ? { apiKey: config.openaiApiKey } : {}), ...(config.openaiBaseUrl ? { baseURL: config.openaiBaseUrl } : {}), timeoutMs: 30_000,
      });
      const hybrid = new Librarian({ ...common, embedder, queryEmbedTimeoutMs: 30_000 });
      await hybrid.start();
      await hybrid.embedPending();
      const ranked: string[][] = [];
      for (const q of queries) ranked.push(docs((await hybrid.search(q.query, { k: 10 })).hits));
      await hybrid.stop();
      rankings[`hybrid BM25 + ${model}`] = ranked;
    }

    const table = slices(queries).map((s) => {
      const picked = queries.flatMap((q, i) => (s.pick(q, i) ? [i] : []));
      const per: Record<string, Scores> = {};
      for (const [name, r] of Object.entries(rankings)) per[name] = score(picked.map((i) => queries[i]!), picked.map((i) => r[i]!));
      return { slice: s.name, n: picked.length, scores: per };
    });
    const cost = vectors ? await measureCost(where, queries) : null;
    const verdicts = verdictsOf(table, cost);

    if (asJson) {
      process.stdout.write(JSON.stringify({ documents: synced.added, chunks: lexical.index.size, queries: queries.length, table, cost, verdicts }, null, 2) + '\n');
    } else {
      printReport(synced.added, lexical.index.size, queries.length, table, cost, verdicts, Boolean(vectors), Boolean(model));
      if (verbose) {
        for (const [name, r] of Object.entries(rankings)) {
          const missed = misses(queries, r);
          process.stdout.write(`\n${name}: not first for ${missed.length} queries\n`);
          for (const m of missed) process.stdout.write(`  "${m.query}" → expected ${m.expect.join(' | ')}, got ${m.got.join(', ') || '(nothing)'}\n`);
        }
      }
    }
    writeResults('retrieval', { queries: queries.length, documents: synced.added, goals: GOALS }, { table, cost, verdicts });
  } finally {
    await store.close();
    await rm(tmp, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  }
}

interface Memory { chunks: number; added_rss_mb: number; added_heap_mb: number; added_external_mb: number; gc: boolean }
type Timing = { wall: ReturnType<typeof summarize>; cpu: ReturnType<typeof summarize> };
interface Cost { chunks: number; load: number[]; memory: Memory; cache_mb: number; fusion_ms: Timing; bm25_ms: Timing }

/**
 * Memory the offline vectors add (measured in a child process: RSS after vs before opening the
 * cache and taking every chunk in, after GC) and query latency of the fusion and of BM25 alone
 * over a corpus of at least 1,000 chunks (the public collection copied).
 */
async function measureCost(where: WordVectorLocation, queries: LabelledQuery[]): Promise<Cost> {
  const tmp = await mkdtemp(join(tmpdir(), 'opsloop-bench-latency-'));
  const store = createPgliteCaseStore({ dataDir: join(tmp, 'data') });
  let dir = await corpus(0);
  try {
    await store.connect();
    const kb = new SqlKnowledgeStore(store);
    const options = { kb, watchFiles: false, scanIntervalMs: 3_600_000 } as const;
    let bm25 = new Librarian({ ...options, runbookDir: dir, wordVectors: false });
    await bm25.start();
    for (let copies = 1; bm25.index.size < GOALS.latencyChunks; copies++) {
      await bm25.stop();
      await rm(dir, { recursive: true, force: true });
      dir = await corpus(copies);
      bm25 = new Librarian({ ...options, runbookDir: dir, wordVectors: false });
      await bm25.start();
    }
    await bm25.stop();
    const memory = await memoryInChild(where.cachePath, dir);
    const fused = new Librarian({ ...options, wordVectors: where });
    await fused.start();
    await fused.settled();
    /** Wall time per query, and this process's CPU time per query (less sensitive to other processes' load). */
    const time = async (lib: Librarian) => {
      const wall: number[] = [];
      const cpu: number[] = [];
      for (let round = 0; round < 3; round++) {
        for (const q of queries) {
          const t = performance.now();
          const c = process.cpuUsage();
          await lib.search(q.query, { k: 5 });
          const used = process.cpuUsage(c);
          wall.push(performance.now() - t);
          cpu.push((used.user + used.system) / 1000);
        }
      }
      return { wall: summarize(wall), cpu: summarize(cpu) };
    };
    await time(fused); // warm-up
    const fusionMs = await time(fused);
    const bm25Ms = await time(bm25);
    await fused.stop();
    const size = (await stat(where.cachePath)).size;
    return { chunks: bm25.index.size, load: loadavg().map((l) => round(l, 1)), memory, cache_mb: round(size / 1e6, 1), fusion_ms: fusionMs, bm25_ms: bm25Ms };
  } finally {
    await store.close();
    await rm(tmp, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  }
}

async function memoryInChild(cachePath: string, dir: string): Promise<Memory> {
  const script = join(REPO_ROOT, 'bench/lib/word-vector-memory.ts');
  const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', script, cachePath, dir, join(REPO_ROOT, 'bench/retrieval-queries.json')], { cwd: REPO_ROOT });
  return JSON.parse(stdout) as Memory;
}

type Table = Array<{ slice: string; n: number; scores: Record<string, Scores> }>;
interface Verdict { goal: string; value: string; met: boolean; gap?: string }

function verdictsOf(table: Table, cost: Cost | null): Verdict[] {
  const fusion = 'BM25 + vectors (fused)';
  const all = table[0]!.scores[fusion];
  if (!all || !cost) return [{ goal: 'offline vectors available', value: 'no', met: false, gap: 'the word-vector cache could not be opened or built' }];
  const worse = table.filter((t) => {
    const f = t.scores[fusion]!; const b = t.scores['BM25']!;
    return f.recall1 < b.recall1 - 1e-9 || f.recall3 < b.recall3 - 1e-9 || f.mrr10 < b.mrr10 - 1e-9;
  }).map((t) => t.slice);
  const v = (goal: string, value: number, target: number, higher: boolean, unit = ''): Verdict => {
    const met = higher ? value >= target : value <= target;
    return { goal, value: `${round(value, 3)}${unit}`, met, ...(met ? {} : { gap: `${round(Math.abs(target - value), 3)}${unit} ${higher ? 'short' : 'over'}` }) };
  };
  return [
    v(`fusion recall@1 ≥ ${GOALS.recall1}`, all.recall1, GOALS.recall1, true),
    v(`fusion recall@3 ≥ ${GOALS.recall3}`, all.recall3, GOALS.recall3, true),
    { goal: 'fusion never worse than BM25 on any slice (r@1, r@3, MRR)', value: worse.length ? `worse on ${worse.join(', ')}` : 'never worse', met: worse.length === 0 },
    v(`added RSS ≤ ${GOALS.addedRssMb} MB`, cost.memory.added_rss_mb, GOALS.addedRssMb, false, ' MB'),
    v(`fusion query p99 ≤ ${GOALS.p99Ms} ms over ${cost.chunks} chunks (wall time, load ${cost.load[0]})`, cost.fusion_ms.wall.p99, GOALS.p99Ms, false, ' ms'),
  ];
}

function printReport(documents: number, chunks: number, n: number, table: Table, cost: Cost | null, verdicts: Verdict[], vectors: boolean, hybrid: boolean): void {
  const out = (s: string) => process.stdout.write(s);
  out(`retrieval bench: ${documents} runbooks (${chunks} chunks: ./runbooks + prometheus-operator/runbooks), ${n} labelled queries${vectors ? '' : ' — offline vectors unavailable'}${hybrid ? '' : '\n(hybrid with an embeddings endpoint: set OPENAI_EMBEDDINGS_MODEL and OPENAI_BASE_URL to include it)'}\n`);
  const names = Object.keys(table[0]!.scores);
  const rows = table.flatMap((t) => names.map((name, i) => [i === 0 ? t.slice : '', i === 0 ? t.n : null, name, t.scores[name]!.recall1, t.scores[name]!.recall3, t.scores[name]!.mrr10]));
  out(`\n${formatTable(['slice', 'n', 'ranking', 'recall@1', 'recall@3', 'MRR@10'], rows.map((r) => r.map((c) => (typeof c === 'number' && !Number.isInteger(c) ? c.toFixed(3) : c))))}\n`);
  if (cost) {
    const m = cost.memory;
    out(`\ncost over ${cost.chunks} chunks: added RSS ${m.added_rss_mb} MB (heap ${m.added_heap_mb} MB, buffers ${m.added_external_mb} MB; child process${m.gc ? ', after GC' : ''}), cache ${cost.cache_mb} MB on disk\n`);
    const line = (name: string, t: Timing) => `  ${name.padEnd(16)} wall p50 ${round(t.wall.p50, 2)}  p99 ${round(t.wall.p99, 2)}  max ${round(t.wall.max, 2)}   CPU p50 ${round(t.cpu.p50, 2)}  p99 ${round(t.cpu.p99, 2)}\n`;
    out(`query latency in ms (load average ${cost.load.join(' ')}; CPU = this process's CPU time per query)\n`);
    out(line('BM25 + vectors', cost.fusion_ms) + line('BM25 alone', cost.bm25_ms));
  }
  out('\ngoals\n');
  for (const v of verdicts) out(`  ${v.met ? 'met ' : 'GAP '} ${v.goal}: ${v.value}${v.gap ? ` (${v.gap})` : ''}\n`);
  out(`\n${machineLine()}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
