import { breakNearTies, reciprocalRankFusion, type Scored } from '../../core/knowledge/rank-fusion.js';
import type { KbHit } from '../../core/knowledge/search-query.js';
import type { KbDoc, KnowledgeStore } from '../../core/ports/knowledge-store.js';
import { bestChunkPerDoc, snippetOf, type Bm25Index } from './bm25-index.js';
import type { LibrarianEmbeddings } from './librarian-embeddings.js';
import { CANDIDATES, type LibrarianLogger, type SearchAnswer, type SearchOptions } from './librarian-types.js';
import { analyzeQuery } from './text-analyzer.js';
import type { WordVectorIndex } from './word-vector-index.js';

/**
 * Reads of the Librarian's index: top-K search (BM25, fused by reciprocal rank with pgvector
 * neighbours when embeddings are available), chunk text and whole documents as Markdown.
 */
export class LibrarianSearch {
  constructor(
    private readonly kb: KnowledgeStore,
    private readonly index: Bm25Index,
    private readonly docs: ReadonlyMap<string, KbDoc>,
    private readonly embeddings: LibrarianEmbeddings,
    private readonly logger: LibrarianLogger,
    /** The offline word-vector ranking, once its cache is open (null: off or not ready). */
    private readonly offline: () => WordVectorIndex | null = () => null,
  ) {}

  /** Top-K chunks (one per document) for a free-text query. Never throws for embedding trouble. */
  async search(query: string, opts: SearchOptions = {}): Promise<SearchAnswer> {
    const k = opts.k ?? 5;
    const scope = opts.service ? { service: opts.service } : {};
    const lexical = this.index.search(query, { limit: CANDIDATES, ...scope });
    let ranked: Array<{ chunk_id: string; score: number }> = lexical;
    let mode: SearchAnswer['mode'] = 'lexical';
    let warning: string | undefined;
    const embedder = this.embeddings.embedder;
    const offline = embedder ? null : this.offline();
    if (offline) {
      ranked = this.fuse(lexical, offline.scored(query, { limit: CANDIDATES, ...scope }), breakNearTies);
      mode = 'offline-hybrid';
    } else if (embedder && this.kb.vectors) {
      try {
        const neighbours = await this.embeddings.vectorCandidates(query, embedder, opts.service);
        if (neighbours) {
          ranked = this.fuse(lexical, neighbours.map((id) => ({ id, score: 0 })));
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

  /**
   * Fusion of the lexical and a semantic ranking, by document: each list keeps a document's best
   * chunk, and the fused document answers with its best lexical chunk (else its best semantic one),
   * so a runbook both rankings like rises even when they like different sections. `combine` ranks
   * the documents: plain reciprocal rank fusion for pgvector neighbours (the default); for the
   * offline word vectors, weaker than BM25, `breakNearTies` on each document's best chunk score.
   */
  private fuse(
    lexical: ReadonlyArray<{ chunk_id: string; score: number }>, semantic: readonly Scored[],
    combine: (lexical: Scored[], semantic: Scored[]) => Scored[] = (l, s) => reciprocalRankFusion([l.map((d) => d.id), s.map((d) => d.id)]),
  ): Array<{ chunk_id: string; score: number }> {
    const chunkOfDoc = new Map<string, string>();
    const byDoc = (hits: readonly Scored[]) => {
      const docs: Scored[] = [];
      const seen = new Set<string>();
      for (const h of hits) {
        const doc = this.index.chunk(h.id)?.doc_id;
        if (!doc || seen.has(doc)) continue;
        seen.add(doc);
        docs.push({ id: doc, score: h.score });
        if (!chunkOfDoc.has(doc)) chunkOfDoc.set(doc, h.id);
      }
      return docs;
    };
    return combine(byDoc(lexical.map((h) => ({ id: h.chunk_id, score: h.score }))), byDoc(semantic)).map((f) => ({ chunk_id: chunkOfDoc.get(f.id)!, score: f.score }));
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
}
