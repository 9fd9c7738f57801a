import type { KbHit } from '../../core/knowledge/search-query.js';
import type { CaseQueries } from '../../core/ports/case-store.js';
import type { KnowledgeStore } from '../../core/ports/knowledge-store.js';
import type { Embedder } from './openai-embedder.js';
import type { WordVectorLocation } from './word-vector-cache.js';

/** The subset of a pino logger the Librarian uses. */
export interface LibrarianLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
export const quiet: LibrarianLogger = { info() {}, warn() {}, error() {} };

export interface LibrarianOptions {
  kb: KnowledgeStore;
  /** Folder of Markdown runbooks; absent → runbooks are not indexed. */
  runbookDir?: string;
  /** Needed to summarise cases (`indexCase`). */
  queries?: CaseQueries;
  /** Semantic retrieval through an embeddings endpoint (an upgrade: replaces the offline vectors). */
  embedder?: Embedder | null;
  /**
   * Offline word vectors fused with BM25 when no embedder is set (default on, at the default cache
   * location). false: BM25 only. A location: that cache and source (tests, benchmarks).
   */
  wordVectors?: boolean | WordVectorLocation;
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
  /** lexical: BM25; offline-hybrid: BM25 + offline word vectors; hybrid: BM25 + the embeddings endpoint. */
  mode: 'lexical' | 'offline-hybrid' | 'hybrid';
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
export const CANDIDATES = 50;
