/** The Librarian's documents and chunks, as the store holds them (kb_doc / kb_chunk). */

export const KB_DOC_KINDS = ['runbook', 'case'] as const;
export type KbDocKind = (typeof KB_DOC_KINDS)[number];

export interface KbDoc {
  /** `runbook:<relative path>` or `case:<case id>`. */
  id: string;
  kind: KbDocKind;
  /** Where it came from: a runbook's relative path, or `/case/<id>`. */
  source: string;
  title: string;
  services: string[];
  tags: string[];
  /** Plan actions the document talks about (front matter `actions`). */
  actions: string[];
  /** sha256 of the source text: unchanged hash → nothing to re-index. */
  content_hash: string;
  updated_at: Date;
}

export interface KbChunk {
  /** `<doc id>#<ord>`. */
  id: string;
  doc_id: string;
  /** Position in the document, from 0. */
  ord: number;
  /** Heading path, e.g. "Checkout latency › Roll back". */
  heading: string;
  body: string;
}

/** One full-text baseline hit (PostgreSQL `ts_rank`), for the retrieval bench. */
export interface TsRankHit {
  chunk_id: string;
  doc_id: string;
  score: number;
}

/**
 * Where the knowledge base lives. The ranking is the same on every store (BM25 in-process,
 * built from `listChunks`); the store only keeps documents durable and shared.
 */
export interface KnowledgeStore {
  /** Every document (no chunks), for change detection at start-up and on file events. */
  listDocs(): Promise<KbDoc[]>;
  /** Chunks of the given documents (all when omitted), ordered by document and position. */
  listChunks(docIds?: readonly string[]): Promise<KbChunk[]>;
  /** Insert or replace a document and all of its chunks, atomically. */
  putDoc(doc: KbDoc, chunks: readonly KbChunk[]): Promise<void>;
  /** Remove a document and its chunks (and vectors). No-op when absent. */
  deleteDoc(docId: string): Promise<void>;
  /**
   * PostgreSQL full-text `ts_rank` over the chunks with OR-matching of the query's lexemes
   * (the bench's baseline). Absent on stores without full-text search.
   */
  tsRank?(query: string, limit: number): Promise<TsRankHit[]>;
  /** Vector storage, when the store supports it (pgvector); absent otherwise. */
  readonly vectors?: VectorStore;
}

/** Embeddings of chunks with cosine-distance nearest-neighbour search (pgvector + HNSW). */
export interface VectorStore {
  /**
   * Prepare storage for `dimensions`-long vectors of `model`. Returns false when the database
   * has no vector support (the extension is not available): callers fall back to lexical.
   */
  prepare(model: string, dimensions: number): Promise<boolean>;
  /** Chunk ids that have no vector for `model` yet. */
  missing(model: string): Promise<string[]>;
  /** Insert or replace chunk vectors. */
  upsert(model: string, items: ReadonlyArray<{ chunk_id: string; embedding: number[] }>): Promise<void>;
  /** The `limit` nearest chunks by cosine distance, nearest first; score = 1 - distance. */
  nearest(model: string, embedding: number[], limit: number): Promise<Array<{ chunk_id: string; score: number }>>;
}
