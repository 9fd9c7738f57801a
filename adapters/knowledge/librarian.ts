import type { KbDoc } from '../../core/ports/knowledge-store.js';
import { Bm25Index } from './bm25-index.js';
import { CaseIndexer } from './case-indexer.js';
import { IndexSync } from './index-sync.js';
import { LibrarianEmbeddings } from './librarian-embeddings.js';
import { LibrarianSearch } from './librarian-search.js';
import { quiet, type LibrarianOptions, type SearchAnswer, type SearchOptions, type SyncReport } from './librarian-types.js';
import type { Embedder } from './openai-embedder.js';
import { defaultCachePath, loadWordVectors, wordVectorSourcePath } from './word-vector-cache.js';
import { WordVectorIndex } from './word-vector-index.js';
import { WordVectors } from './word-vectors.js';

export type { LibrarianLogger, LibrarianOptions, SearchAnswer, SearchOptions, SyncReport } from './librarian-types.js';

/**
 * The Librarian: keeps runbooks and case summaries in the knowledge store, ranks them with
 * in-process BM25 fused by reciprocal rank with offline word vectors (GloVe, on disk) by default,
 * or with pgvector neighbours when an embeddings endpoint is set,
 * and answers top-K searches. The index is rebuilt from the store at start-up and kept
 * current by file scans, case events and a periodic store refresh (other processes' writes).
 *
 * A façade over four parts: IndexSync (store and runbook folder → index), LibrarianSearch
 * (reads), LibrarianEmbeddings (vectors) and CaseIndexer (case summaries).
 */
export class Librarian {
  readonly index = new Bm25Index();
  private readonly sync: IndexSync;
  private readonly embeddings: LibrarianEmbeddings;
  private readonly reader: LibrarianSearch;
  private readonly cases: CaseIndexer;
  private offline: WordVectorIndex | null = null;
  private offlineLoading: Promise<unknown> | null = null;

  constructor(private readonly options: LibrarianOptions) {
    const logger = options.logger ?? quiet;
    const now = options.clock ?? (() => new Date());
    this.embeddings = new LibrarianEmbeddings(options.kb, this.index, options.embedder ?? null, logger, options.queryEmbedTimeoutMs);
    const onIndexed = (): void => this.embeddings.embedPendingInBackground();
    this.sync = new IndexSync({
      kb: options.kb, index: this.index, runbookDir: options.runbookDir, logger,
      scanIntervalMs: options.scanIntervalMs ?? 5_000, watchFiles: options.watchFiles, now, onIndexed,
    });
    this.reader = new LibrarianSearch(options.kb, this.index, this.sync.docs, this.embeddings, logger, () => this.offline);
    this.cases = new CaseIndexer(options.kb, options.queries, this.sync, now, onIndexed);
  }

  get embedder(): Embedder | null {
    return this.options.embedder ?? null;
  }

  /**
   * Build the index from the store, sync the runbook folder, then keep watching it. Opens the
   * offline word vectors (a missing cache is built in the background; BM25 answers meanwhile).
   */
  async start(): Promise<SyncReport> {
    const report = await this.sync.start();
    this.embeddings.embedPendingInBackground();
    this.startWordVectors();
    return report;
  }

  async stop(): Promise<void> {
    await this.sync.stop();
    await this.embeddings.stop();
  }

  /** The offline ranking in use: 'ready', 'building' (BM25 until then) or 'off' (disabled, replaced by an embedder, or unavailable). */
  get wordVectorState(): 'ready' | 'building' | 'off' {
    return this.offline ? 'ready' : this.offlineLoading ? 'building' : 'off';
  }

  private startWordVectors(): void {
    const setting = this.options.wordVectors ?? true;
    if (setting === false || this.options.embedder || this.offline || this.offlineLoading) return;
    const where = setting === true ? { cachePath: defaultCachePath(), source: wordVectorSourcePath() } : setting;
    const loaded = loadWordVectors(this.options.logger ?? quiet, where);
    const use = (vectors: WordVectors | null) => {
      if (!vectors) return;
      const offline = new WordVectorIndex(this.index, vectors);
      offline.refresh();
      this.offline = offline;
    };
    if (loaded instanceof WordVectors) use(loaded);
    else this.offlineLoading = loaded.then(use).finally(() => { this.offlineLoading = null; });
  }

  /** Compare the runbook folder with the store: index new and changed files, drop deleted ones. */
  syncRunbooks(): Promise<SyncReport> {
    return this.sync.syncRunbooks();
  }

  /** Drop everything the store holds for runbooks and index the folder again (npm run kb:reindex). */
  reindex(onProgress?: (done: number, total: number) => void): Promise<SyncReport> {
    return this.sync.reindex(onProgress);
  }

  /**
   * Summarise a CLOSED or PARKED case into the knowledge base (doc id `case:<id>`, replaced when
   * the case is summarised again). Returns false when the case is missing or still open.
   */
  indexCase(caseId: string): Promise<boolean> {
    return this.cases.indexCase(caseId);
  }

  /** Top-K chunks (one per document) for a free-text query. Never throws for embedding trouble. */
  search(query: string, opts: SearchOptions = {}): Promise<SearchAnswer> {
    return this.reader.search(query, opts);
  }

  /** Chunk text (for the Planner's prompt). */
  chunkText(chunkId: string): { title: string; heading: string; body: string; source: string } | null {
    return this.reader.chunkText(chunkId);
  }

  /** A document rebuilt from its chunks as Markdown, or null when unknown. */
  documentMarkdown(docId: string): string | null {
    return this.reader.documentMarkdown(docId);
  }

  /** Documents currently indexed (for health and tests). */
  documents(): KbDoc[] {
    return [...this.sync.docs.values()];
  }

  /** Embed every chunk without a vector (batches); resolves when done. Errors are logged, not thrown. */
  embedPending(onProgress?: (done: number, total: number) => void): Promise<number> {
    return this.embeddings.embedPending(onProgress);
  }

  /** Wait until background embedding is finished (tests, kb:reindex). */
  async settled(): Promise<void> {
    await this.sync.idle();
    await this.embeddings.settled();
    await this.offlineLoading;
  }
}
