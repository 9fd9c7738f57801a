import type { KnowledgeStore } from '../../core/ports/knowledge-store.js';
import type { Bm25Index } from './bm25-index.js';
import { CANDIDATES, type LibrarianLogger } from './librarian-types.js';
import type { Embedder } from './openai-embedder.js';

const EMBED_BATCH = 64;

/**
 * The Librarian's embeddings: vectors for indexed chunks (batched, in the background) and the
 * nearest chunks to a query for hybrid search. Absent embedder or pgvector → nothing to do.
 */
export class LibrarianEmbeddings {
  private vectorsReady: boolean | null = null;
  private embedding: Promise<void> | null = null;

  constructor(
    private readonly kb: KnowledgeStore,
    private readonly index: Bm25Index,
    readonly embedder: Embedder | null,
    private readonly logger: LibrarianLogger,
    private readonly queryEmbedTimeoutMs: number | undefined,
  ) {}

  /**
   * Embed every chunk without a vector (batches); resolves when done. Errors are logged, not thrown.
   * `onProgress` hears (chunks embedded, chunks that had no vector) after each batch.
   */
  async embedPending(onProgress?: (done: number, total: number) => void): Promise<number> {
    const embedder = this.embedder;
    const vectors = this.kb.vectors;
    if (!embedder || !vectors) return 0;
    let done = 0;
    try {
      let missing = this.vectorsReady === false ? [] : await this.ensureVectors(embedder).then((ok) => (ok ? vectors.missing(embedder.model) : []));
      const total = missing.length;
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
        onProgress?.(total - missing.length, total);
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

  /** Chunk ids nearest to the query (filtered to a service), or null when pgvector is missing. */
  async vectorCandidates(query: string, embedder: Embedder, service?: string): Promise<string[] | null> {
    const timeoutMs = this.queryEmbedTimeoutMs ?? 2_000;
    const embedded = await withTimeout(embedder.embed([query]), timeoutMs, `the embeddings endpoint did not answer within ${timeoutMs} ms`);
    if (!(await this.ensureVectors(embedder))) return null;
    const near = await this.kb.vectors!.nearest(embedder.model, embedded[0]!, CANDIDATES);
    return near
      .filter((n) => !service || (this.index.chunk(n.chunk_id)?.services ?? []).includes(service))
      .map((n) => n.chunk_id);
  }

  /** Start `embedPending` unless it is running already (or there is nothing to embed with). */
  embedPendingInBackground(): void {
    if (!this.embedder || !this.kb.vectors || this.embedding) return;
    this.embedding = this.embedPending().then(() => undefined).finally(() => { this.embedding = null; });
  }

  /** Wait for the background run in progress, if any. */
  async stop(): Promise<void> {
    await this.embedding?.catch(() => undefined);
  }

  /** Wait until background embedding is finished, including runs started meanwhile. */
  async settled(): Promise<void> {
    while (this.embedding) await this.embedding.catch(() => undefined);
  }
}

function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(message)), ms); });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
