import MiniSearch from 'minisearch';
import { coordinateByConcept } from '../../core/knowledge/query-concepts.js';
import { inverseDocumentFrequency, titleCoverage, withTitleCoverage, type WeightedTerm } from '../../core/knowledge/title-coverage.js';
import type { KbChunk, KbDoc } from '../../core/ports/knowledge-store.js';
import { analyze, analyzeQuery, indexTerm, splitWords } from './text-analyzer.js';

/** Field weights: a word in the title or heading says more than one in the body. */
export const FIELD_BOOST = { title: 5, heading: 2, meta: 2, body: 1 } as const;
/** Weight of a synonym expansion relative to a word the user typed. */
export const SYNONYM_WEIGHT = 0.2;
/** Weight of an ops-lexicon expansion (an abbreviation spelled out) relative to a typed word. */
export const LEXICON_WEIGHT = 0.6;

export interface IndexedChunk {
  id: string;
  doc_id: string;
  kind: string;
  title: string;
  source: string;
  heading: string;
  body: string;
  meta: string;
  services: string[];
}

/** A ranked chunk. */
export interface Bm25Hit {
  chunk_id: string;
  doc_id: string;
  score: number;
  /** Index terms of the query that matched. */
  terms: string[];
}

/**
 * In-process BM25 (MiniSearch's BM25+) over kb_chunk rows: OR semantics, IDF, per-field length
 * normalisation, field boosts (title, heading, services/tags/actions over body), camelCase and
 * snake_case splitting and English (Porter) stemming through `analyze`, synonyms at query time.
 * Built from the store at start-up and kept current by `putDoc`/`removeDoc`.
 */
export class Bm25Index {
  private readonly mini: MiniSearch<IndexedChunk>;
  private readonly chunksByDoc = new Map<string, string[]>();
  private readonly chunkData = new Map<string, IndexedChunk>();
  /** Per document: the terms of its title, tags and services (title coverage). */
  private readonly titleTerms = new Map<string, Set<string>>();
  /** Per document: its distinct terms; and per term, how many documents hold it (IDF by document). */
  private readonly docTerms = new Map<string, string[]>();
  private readonly docFreq = new Map<string, number>();
  private changes = 0;

  constructor() {
    this.mini = new MiniSearch<IndexedChunk>({
      fields: ['title', 'heading', 'meta', 'body'],
      storeFields: [],
      tokenize: (text) => splitWords(text),
      processTerm: (word) => indexTerm(word),
      searchOptions: { combineWith: 'OR', boost: { ...FIELD_BOOST } },
    });
  }

  get size(): number {
    return this.chunkData.size;
  }

  /** Grows with every putDoc/removeDoc: derived indexes rebuild when it moved. */
  get version(): number {
    return this.changes;
  }

  /** Every indexed chunk (a chunk object is replaced, never mutated, when its document changes). */
  chunks(): IterableIterator<IndexedChunk> {
    return this.chunkData.values();
  }

  /** Index (or re-index) one document's chunks. */
  putDoc(doc: KbDoc, chunks: readonly KbChunk[]): void {
    this.removeDoc(doc.id);
    const meta = [...doc.services, ...doc.tags, ...doc.actions].join(' ');
    const rows = chunks.map((c): IndexedChunk => ({
      id: c.id, doc_id: doc.id, kind: doc.kind, title: doc.title, source: doc.source,
      heading: c.heading, body: c.body, meta, services: doc.services,
    }));
    this.mini.addAll(rows);
    for (const row of rows) this.chunkData.set(row.id, row);
    this.chunksByDoc.set(doc.id, rows.map((r) => r.id));
    this.titleTerms.set(doc.id, new Set(analyze([doc.title, ...doc.tags, ...doc.services].join('\n'))));
    const terms = [...new Set(analyze([doc.title, meta, ...chunks.map((c) => `${c.heading}\n${c.body}`)].join('\n')))];
    this.docTerms.set(doc.id, terms);
    for (const t of terms) this.docFreq.set(t, (this.docFreq.get(t) ?? 0) + 1);
    this.changes++;
  }

  removeDoc(docId: string): void {
    for (const id of this.chunksByDoc.get(docId) ?? []) {
      this.mini.discard(id);
      this.chunkData.delete(id);
    }
    for (const t of this.docTerms.get(docId) ?? []) {
      const df = (this.docFreq.get(t) ?? 1) - 1;
      if (df > 0) this.docFreq.set(t, df);
      else this.docFreq.delete(t);
    }
    this.docTerms.delete(docId);
    this.titleTerms.delete(docId);
    if (this.chunksByDoc.delete(docId)) this.changes++;
  }

  /** A document's chunks in order (empty when unknown). */
  docChunks(docId: string): IndexedChunk[] {
    return (this.chunksByDoc.get(docId) ?? []).map((id) => this.chunkData.get(id)!).filter(Boolean);
  }

  /** Stored data of a chunk (title, heading, body, …). */
  chunk(chunkId: string): IndexedChunk | undefined {
    return this.chunkData.get(chunkId);
  }

  /**
   * Chunks matching any query term, best first. `service` keeps only documents tagged with
   * that service. `limit` bounds the chunks returned (not documents).
   */
  search(query: string, opts: { limit: number; service?: string }): Bm25Hit[] {
    const { original, lexicon, expanded, concepts } = analyzeQuery(query);
    if (original.length === 0) return [];
    const typed = new Set(original);
    const spelled = new Set(lexicon);
    const results = this.mini.search([...original, ...lexicon, ...expanded].join(' '), {
      tokenize: (s) => s.split(' '),
      processTerm: (t) => t,
      boostTerm: (term) => (typed.has(term) ? 1 : spelled.has(term) ? LEXICON_WEIGHT : SYNONYM_WEIGHT),
      fuzzy: (term) => (term.length >= 7 && typed.has(term) ? 0.15 : false),
      ...(opts.service ? { filter: (r) => (this.chunkData.get(r.id)?.services ?? []).includes(opts.service!) } : {}),
    });
    // MiniSearch multiplies each score by the number of query terms matched; count concepts instead.
    const hits = results.map((r) => ({
      chunk_id: String(r.id), doc_id: this.chunkData.get(String(r.id))?.doc_id ?? '',
      score: coordinateByConcept(r.score, r.queryTerms, concepts), terms: r.terms,
    }));
    const weighted = this.weighted(original, lexicon);
    return withTitleCoverage(hits, (doc) => titleCoverage(weighted, this.titleTerms.get(doc) ?? new Set())).slice(0, opts.limit);
  }

  /** Typed terms weigh their IDF by document, spelled-out abbreviations LEXICON_WEIGHT of theirs (synonyms none). */
  private weighted(original: readonly string[], lexicon: readonly string[]): WeightedTerm[] {
    const n = this.docTerms.size;
    const idf = (t: string) => inverseDocumentFrequency(this.docFreq.get(t) ?? 0, n);
    return [...original.map((term) => ({ term, weight: idf(term) })), ...lexicon.map((term) => ({ term, weight: LEXICON_WEIGHT * idf(term) }))];
  }
}

/** Keep each document's best chunk only, in order. */
export function bestChunkPerDoc<T extends { doc_id: string }>(hits: readonly T[]): T[] {
  const seen = new Set<string>();
  return hits.filter((h) => (seen.has(h.doc_id) ? false : (seen.add(h.doc_id), true)));
}

/** A ~`max`-character excerpt of `body` around the first matching word. */
export function snippetOf(body: string, terms: readonly string[], max = 220): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  if (flat.length <= max) return flat;
  const lower = flat.toLowerCase();
  let at = -1;
  for (const t of terms) {
    const i = lower.indexOf(t.slice(0, Math.max(3, t.length - 1)));
    if (i >= 0 && (at < 0 || i < at)) at = i;
  }
  const start = Math.max(0, at < 0 ? 0 : at - Math.floor(max / 3));
  const piece = flat.slice(start, start + max);
  return `${start > 0 ? '…' : ''}${piece}${start + max < flat.length ? '…' : ''}`;
}
