import { watch, type FSWatcher } from 'node:fs';
import { resolve } from 'node:path';
import { summariseCase } from '../../core/knowledge/case-summary.js';
import { chunkMarkdown } from '../../core/knowledge/markdown-chunks.js';
import { reciprocalRankFusion } from '../../core/knowledge/rank-fusion.js';
import type { KbHit } from '../../core/knowledge/search-query.js';
import type { CaseQueries } from '../../core/ports/case-store.js';
import type { KbChunk, KbDoc, KnowledgeStore } from '../../core/ports/knowledge-store.js';
import { Bm25Index, bestChunkPerDoc, snippetOf } from './bm25-index.js';
import type { Embedder } from './openai-embedder.js';
import { contentHash, listRunbookFiles, readRunbook, type RunbookFile } from './runbook-files.js';
import { analyzeQuery } from './text-analyzer.js';

/** The subset of a pino logger the Librarian uses. */
export interface LibrarianLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
const quiet: LibrarianLogger = { info() {}, warn() {}, error() {} };

export interface LibrarianOptions {
  kb: KnowledgeStore;
  /** Folder of Markdown runbooks; absent → runbooks are not indexed. */
  runbookDir?: string;
  /** Needed to summarise cases (`indexCase`). */
  queries?: CaseQueries;
  /** Semantic retrieval; absent → lexical BM25 only. */
  embedder?: Embedder | null;
  logger?: LibrarianLogger;
  /** Period of the runbook mtime scan and the store refresh (default 5 s). */
  scanIntervalMs?: number;
  /** Also react to fs.watch events (debounced); default true. */
  watchFiles?: boolean;
  /** How long a query embedding may take before the search goes lexical (default 2 s). */
  queryEmbedTimeoutMs?: number;
  clock?: () => Date;
}

export interface SearchOptions {
  k?: number;
  service?: string;
}

export interface SearchAnswer {
  hits: KbHit[];
  mode: 'lexical' | 'hybrid';
  /** Why the search is lexical although embeddings are configured. */
  warning?: string;
}

export interface SyncReport {
  added: number;
  updated: number;
  removed: number;
  unchanged: number;
}

/** Candidate chunks taken from each ranking before fusion. */
const CANDIDATES = 50;
const EMBED_BATCH = 64;

/**
 * The Librarian: keeps runbooks and case summaries in the knowledge store, ranks them with
 * in-process BM25 (and pgvector neighbours fused by reciprocal rank when an embedder is set),
 * and answers top-K searches. The index is rebuilt from the store at start-up and kept
 * current by file scans, case events and a periodic store refresh (other processes' writes).
 */
export class Librarian {
  readonly index = new Bm25Index();
  private readonly kb: KnowledgeStore;
  private readonly runbookDir: string | undefined;
  private readonly logger: LibrarianLogger;
  private readonly scanIntervalMs: number;
  private readonly now: () => Date;
  private readonly docs = new Map<string, KbDoc>();
  private readonly fileStats = new Map<string, { mtimeMs: number; size: number }>();
  private vectorsReady: boolean | null = null;
  private timer: NodeJS.Timeout | null = null;
  private watcher: FSWatcher | null = null;
  private debounce: NodeJS.Timeout | null = null;
  /** Syncs never overlap. */
  private chain: Promise<unknown> = Promise.resolve();
  private embedding: Promise<void> | null = null;

  constructor(private readonly options: LibrarianOptions) {
    this.kb = options.kb;
    this.runbookDir = options.runbookDir ? resolve(options.runbookDir) : undefined;
    this.logger = options.logger ?? quiet;
    this.scanIntervalMs = options.scanIntervalMs ?? 5_000;
    this.now = options.clock ?? (() => new Date());
  }

  get embedder(): Embedder | null {
    return this.options.embedder ?? null;
  }

  /** Build the index from the store, sync the runbook folder, then keep watching it. */
  async start(): Promise<SyncReport> {
    await this.serial(() => this.reloadFromStore(true));
    const report = await this.syncRunbooks();
    this.timer = setInterval(() => { void this.tick(); }, this.scanIntervalMs);
    this.timer.unref();
    if (this.runbookDir && this.options.watchFiles !== false) this.startWatcher(this.runbookDir);
    this.embedPendingInBackground();
    return report;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
    this.watcher?.close();
    this.timer = null;
    this.watcher = null;
    await this.chain.catch(() => undefined);
    await this.embedding?.catch(() => undefined);
  }

  /** Compare the runbook folder with the store: index new and changed files, drop deleted ones. */
  syncRunbooks(): Promise<SyncReport> {
    return this.serial(async () => {
      const report: SyncReport = { added: 0, updated: 0, removed: 0, unchanged: 0 };
      if (!this.runbookDir) return report;
      const files = await listRunbookFiles(this.runbookDir);
      const seen = new Set<string>();
      for (const file of files) {
        const id = `runbook:${file.rel}`;
        seen.add(id);
        const known = this.docs.get(id);
        const stat = this.fileStats.get(id);
        if (known && stat && stat.mtimeMs === file.mtimeMs && stat.size === file.size) { report.unchanged++; continue; }
        const outcome = await this.indexRunbookFile(file, known);
        report[outcome]++;
      }
      for (const [id, doc] of this.docs) {
        if (doc.kind !== 'runbook' || seen.has(id)) continue;
        await this.kb.deleteDoc(id);
        this.index.removeDoc(id);
        this.docs.delete(id);
        this.fileStats.delete(id);
        report.removed++;
      }
      if (report.added || report.updated || report.removed) {
        this.logger.info({ ...report, dir: this.runbookDir }, 'runbooks indexed');
        this.embedPendingInBackground();
      }
      return report;
    });
  }

  /** Drop everything the store holds for runbooks and index the folder again (npm run kb:reindex). */
  async reindex(): Promise<SyncReport> {
    await this.serial(async () => {
      for (const doc of await this.kb.listDocs()) if (doc.kind === 'runbook') await this.kb.deleteDoc(doc.id);
      this.fileStats.clear();
      await this.reloadFromStore(true);
    });
    return this.syncRunbooks();
  }

  /**
   * Summarise a CLOSED or PARKED case into the knowledge base (doc id `case:<id>`, replaced when
   * the case is summarised again). Returns false when the case is missing or still open.
   */
  indexCase(caseId: string): Promise<boolean> {
    return this.serial(async () => {
      const queries = this.options.queries;
      if (!queries) return false;
      const c = await queries.getCase(caseId);
      if (!c || (c.status !== 'CLOSED' && c.status !== 'PARKED')) return false;
      const timeline = await queries.listTimeline(caseId);
      const plan = c.plan_id ? await queries.getPlan(c.plan_id) : null;
      const summary = summariseCase(c, timeline, plan);
      const id = `case:${c.id}`;
      const doc: KbDoc = {
        id, kind: 'case', source: `/case/${c.id}`, title: summary.title, services: summary.services, tags: [c.status.toLowerCase()],
        actions: summary.actions, content_hash: contentHash(summary.markdown), updated_at: this.now(),
      };
      if (this.docs.get(id)?.content_hash === doc.content_hash) return true;
      const chunks = toChunks(id, chunkMarkdown(summary.markdown, summary.title));
      await this.kb.putDoc(doc, chunks);
      this.applyDoc(doc, chunks);
      this.embedPendingInBackground();
      return true;
    });
  }

  /** Top-K chunks (one per document) for a free-text query. Never throws for embedding trouble. */
  async search(query: string, opts: SearchOptions = {}): Promise<SearchAnswer> {
    const k = opts.k ?? 5;
    const lexical = this.index.search(query, { limit: CANDIDATES, ...(opts.service ? { service: opts.service } : {}) });
    let ranked: Array<{ chunk_id: string; score: number }> = lexical;
    let mode: SearchAnswer['mode'] = 'lexical';
    let warning: string | undefined;
    const embedder = this.embedder;
    if (embedder && this.kb.vectors) {
      try {
        const neighbours = await this.vectorCandidates(query, embedder, opts.service);
        if (neighbours) {
          ranked = reciprocalRankFusion([lexical.map((h) => h.chunk_id), neighbours]).map((f) => ({ chunk_id: f.id, score: f.score }));
          mode = 'hybrid';
        } else {
          warning = 'vector search is not available on this database (no pgvector); lexical results only';
        }
      } catch (err) {
        warning = `embeddings failed (${err instanceof Error ? err.message : String(err)}); lexical results only`;
        this.logger.warn({ err, model: embedder.model }, 'embeddings endpoint failed or was slow; answering with lexical (BM25) results only');
      }
    }
    const terms = analyzeQuery(query).original;
    const withDocs = ranked
      .map((r) => ({ ...r, data: this.index.chunk(r.chunk_id) }))
      .filter((r): r is typeof r & { data: NonNullable<typeof r.data> } => r.data !== undefined)
      .map((r) => ({ ...r, doc_id: r.data.doc_id }));
    const hits = bestChunkPerDoc(withDocs).slice(0, k).map((r): KbHit => ({
      doc_id: r.doc_id, chunk_id: r.chunk_id, title: r.data.heading || r.data.title, source: r.data.source,
      score: Math.round(r.score * 10_000) / 10_000, snippet: snippetOf(r.data.body, terms),
    }));
    return { hits, mode, ...(warning ? { warning } : {}) };
  }

  /** Chunk text (for the Planner's prompt). */
  chunkText(chunkId: string): { title: string; heading: string; body: string; source: string } | null {
    const data = this.index.chunk(chunkId);
    return data ? { title: data.title, heading: data.heading, body: data.body, source: data.source } : null;
  }

  /** A document rebuilt from its chunks as Markdown, or null when unknown. */
  documentMarkdown(docId: string): string | null {
    const doc = this.docs.get(docId);
    if (!doc) return null;
    const parts = [`# ${doc.title}`, '', `Source: ${doc.source}${doc.services.length ? ` · services: ${doc.services.join(', ')}` : ''}`];
    let heading = '';
    for (const c of this.index.docChunks(docId)) {
      if (c.heading !== heading) { heading = c.heading; parts.push('', `## ${c.heading}`); }
      parts.push('', c.body);
    }
    return parts.join('\n') + '\n';
  }

  /** Documents currently indexed (for health and tests). */
  documents(): KbDoc[] {
    return [...this.docs.values()];
  }

  /** Embed every chunk without a vector (batches); resolves when done. Errors are logged, not thrown. */
  async embedPending(): Promise<number> {
    const embedder = this.embedder;
    const vectors = this.kb.vectors;
    if (!embedder || !vectors) return 0;
    let done = 0;
    try {
      let missing = this.vectorsReady === false ? [] : await this.ensureVectors(embedder).then((ok) => (ok ? vectors.missing(embedder.model) : []));
      while (missing.length) {
        const batch = missing.slice(0, EMBED_BATCH);
        missing = missing.slice(EMBED_BATCH);
        const texts = batch.map((id) => {
          const c = this.index.chunk(id);
          return c ? `${c.heading}\n${c.body}` : '';
        });
        const keep = batch.map((id, i) => ({ id, text: texts[i]! })).filter((x) => x.text);
        const embeddings = await embedder.embed(keep.map((x) => x.text));
        await vectors.upsert(embedder.model, keep.map((x, i) => ({ chunk_id: x.id, embedding: embeddings[i]! })));
        done += keep.length;
      }
    } catch (err) {
      this.logger.warn({ err, model: embedder.model }, 'could not embed chunks; semantic search covers fewer documents until the next attempt');
    }
    return done;
  }

  private async ensureVectors(embedder: Embedder): Promise<boolean> {
    if (this.vectorsReady !== null) return this.vectorsReady;
    const [probe] = await embedder.embed(['dimension probe']);
    const ok = await this.kb.vectors!.prepare(embedder.model, probe!.length);
    if (!ok) this.logger.warn({ model: embedder.model }, 'pgvector is not available on this database; retrieval stays lexical (BM25)');
    this.vectorsReady = ok;
    return ok;
  }

  private async vectorCandidates(query: string, embedder: Embedder, service?: string): Promise<string[] | null> {
    const timeoutMs = this.options.queryEmbedTimeoutMs ?? 2_000;
    const embedded = await withTimeout(embedder.embed([query]), timeoutMs, `the embeddings endpoint did not answer within ${timeoutMs} ms`);
    if (!(await this.ensureVectors(embedder))) return null;
    const near = await this.kb.vectors!.nearest(embedder.model, embedded[0]!, CANDIDATES);
    return near
      .filter((n) => !service || (this.index.chunk(n.chunk_id)?.services ?? []).includes(service))
      .map((n) => n.chunk_id);
  }

  private embedPendingInBackground(): void {
    if (!this.embedder || !this.kb.vectors || this.embedding) return;
    this.embedding = this.embedPending().then(() => undefined).finally(() => { this.embedding = null; });
  }

  /** Wait until background embedding is finished (tests, kb:reindex). */
  async settled(): Promise<void> {
    await this.chain.catch(() => undefined);
    while (this.embedding) await this.embedding.catch(() => undefined);
  }

  private async indexRunbookFile(file: RunbookFile, known: KbDoc | undefined): Promise<'added' | 'updated' | 'unchanged'> {
    const parsed = await readRunbook(file, this.now());
    if (!parsed) {
      this.logger.warn({ file: file.rel, bytes: file.size }, 'runbook skipped (unreadable or larger than the limit)');
      return 'unchanged';
    }
    this.fileStats.set(parsed.doc.id, { mtimeMs: file.mtimeMs, size: file.size });
    if (known && known.content_hash === parsed.doc.content_hash) return 'unchanged';
    await this.kb.putDoc(parsed.doc, parsed.chunks);
    this.applyDoc(parsed.doc, parsed.chunks);
    return known ? 'updated' : 'added';
  }

  /** Load documents from the store whose hash differs from what is indexed (all when `full`). */
  private async reloadFromStore(full: boolean): Promise<void> {
    const stored = await this.kb.listDocs();
    const storedIds = new Set(stored.map((d) => d.id));
    const changed = stored.filter((d) => full || this.docs.get(d.id)?.content_hash !== d.content_hash);
    if (changed.length) {
      const chunks = await this.kb.listChunks(full ? undefined : changed.map((d) => d.id));
      const byDoc = new Map<string, KbChunk[]>();
      for (const c of chunks) (byDoc.get(c.doc_id) ?? byDoc.set(c.doc_id, []).get(c.doc_id)!).push(c);
      for (const doc of changed) this.applyDoc(doc, byDoc.get(doc.id) ?? []);
    }
    for (const id of [...this.docs.keys()]) {
      if (!storedIds.has(id)) { this.index.removeDoc(id); this.docs.delete(id); }
    }
  }

  private applyDoc(doc: KbDoc, chunks: readonly KbChunk[]): void {
    this.docs.set(doc.id, doc);
    this.index.putDoc(doc, chunks);
  }

  private async tick(): Promise<void> {
    try {
      await this.serial(() => this.reloadFromStore(false));
      await this.syncRunbooks();
    } catch (err) {
      this.logger.error({ err }, 'knowledge base refresh failed; retrying at the next scan');
    }
  }

  private startWatcher(dir: string): void {
    try {
      this.watcher = watch(dir, { recursive: true }, () => {
        if (this.debounce) clearTimeout(this.debounce);
        this.debounce = setTimeout(() => { void this.tick(); }, 200);
        this.debounce.unref();
      });
      this.watcher.on('error', () => { this.watcher?.close(); this.watcher = null; });
    } catch {
      this.watcher = null; // the periodic scan still notices changes
    }
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work, work);
    this.chain = next.catch(() => undefined);
    return next;
  }
}

function toChunks(docId: string, chunks: ReadonlyArray<{ ord: number; heading: string; body: string }>): KbChunk[] {
  return chunks.map((c) => ({ id: `${docId}#${c.ord}`, doc_id: docId, ord: c.ord, heading: c.heading, body: c.body }));
}

function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(message)), ms); });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
