import { lexiconExpansions } from '../../core/knowledge/ops-lexicon.js';
import type { Bm25Index, IndexedChunk } from './bm25-index.js';
import { isStopword, splitWords } from './text-analyzer.js';
import type { WordVectors } from './word-vectors.js';

/** SIF smoothing (Arora et al. 2017): weight a / (a + p(word)); rare words count, "the" hardly. */
const SIF_A = 1e-3;
/** Harmonic number of the source vocabulary (~400k words): p(rank) ≈ 1 / ((rank + 1) · H) by Zipf. */
const ZIPF_H = Math.log(400_000) + 0.5772;
/** Cosine below which two words are unrelated; above it the match counts linearly up to 1 (same word). */
export const SIMILAR_FROM = 0.5;

/** Weight of a query word from its frequency rank in the vectors' source corpus. */
export function sifWeight(rank: number): number {
  const p = 1 / ((rank + 1) * ZIPF_H);
  return SIF_A / (SIF_A + p);
}

/** Words of a text worth matching: split like the BM25 analyzer, no stopwords, no bare numbers. */
export function vectorWords(text: string): string[] {
  return splitWords(text).filter((w) => w.length >= 2 && !/^\d+$/.test(w) && !isStopword(w));
}

/** A query's words plus the ops lexicon's spelling-out of its abbreviations (`rx` → `receive`), which GloVe may know when it does not know the abbreviation. */
export function queryWords(query: string): string[] {
  return [...vectorWords(query), ...lexiconExpansions(splitWords(query)).filter((w) => !isStopword(w))];
}

/** Cosine of two unit vectors stored in `a` at `at` and in `b`. */
function dotAt(a: Float32Array, at: number, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < b.length; i++) d += a[at + i]! * b[i]!;
  return d;
}

/**
 * Offline semantic ranking over the BM25 index's chunks with word vectors (GloVe 100-d): a chunk
 * scores, for each query word, its most similar word (cosine above SIMILAR_FROM, scaled to 0…1;
 * the same word scores 1, also when the vectors do not know it), weighted by the query word's
 * rarity (SIF). So "sign in" meets "login" and "drifting" meets "skew" without sharing a stem.
 *
 * Averaging word vectors per chunk (the usual sentence embedding) measured worse than BM25 on the
 * retrieval bench: runbooks share most of their words; this per-word soft match keeps the words apart.
 * The corpus vocabulary (a few thousand words × 100 floats) is the only thing held in memory;
 * chunks keep their word ids, computed once per chunk object.
 */
export class WordVectorIndex {
  private readonly chunkWords = new WeakMap<IndexedChunk, Uint32Array>();
  private readonly wordIds = new Map<string, number>();
  /** Per word id: its row in `matrix`, or -1 when the vectors do not know the word. */
  private vectorRow: number[] = [];
  /** Per matrix row: its word id. */
  private rowWord: number[] = [];
  private matrix = new Float32Array(0);
  private rows: IndexedChunk[] = [];
  private postings: number[][] = [];
  private builtAt = -1;

  constructor(private readonly index: Bm25Index, readonly vectors: WordVectors) {}

  /** Take in new chunks and rebuild the postings, when the index changed since the last call. */
  refresh(): void {
    if (this.builtAt === this.index.version) return;
    const rows = [...this.index.chunks()];
    const postings: number[][] = this.vectorRow.map(() => []);
    rows.forEach((chunk, row) => {
      for (const id of this.wordsOf(chunk)) (postings[id] ??= []).push(row);
    });
    this.rows = rows;
    this.postings = postings;
    this.builtAt = this.index.version;
  }

  /** Chunk ids by soft word match to the query, best first (at most `limit`; only `service`'s when set). */
  search(query: string, opts: { limit: number; service?: string }): string[] {
    return this.scored(query, opts).map((h) => h.id);
  }

  /** Like `search`, with each chunk's score (the SIF-weighted sum of its best word matches). */
  scored(query: string, opts: { limit: number; service?: string }): Array<{ id: string; score: number }> {
    this.refresh();
    const scores = new Float32Array(this.rows.length);
    const best = new Float32Array(this.rows.length);
    for (const word of new Set(queryWords(query))) {
      const found = this.vectors.lookup(word);
      const same = this.wordIds.get(word);
      if (!found && same === undefined) continue;
      best.fill(0);
      if (same !== undefined) this.take(same, 1, best);
      if (found) {
        const dims = this.vectors.dims;
        for (let r = 0; r < this.rowWord.length; r++) {
          const cos = dotAt(this.matrix, r * dims, found.vector);
          if (cos > SIMILAR_FROM && this.rowWord[r] !== same) this.take(this.rowWord[r]!, (cos - SIMILAR_FROM) / (1 - SIMILAR_FROM), best);
        }
      }
      const weight = found ? sifWeight(found.rank) : 1;
      for (let row = 0; row < scores.length; row++) scores[row]! += weight * best[row]!;
    }
    const ranked: number[] = [];
    for (let row = 0; row < scores.length; row++) {
      if (scores[row]! > 0 && (!opts.service || this.rows[row]!.services.includes(opts.service))) ranked.push(row);
    }
    ranked.sort((a, b) => scores[b]! - scores[a]!);
    return ranked.slice(0, opts.limit).map((row) => ({ id: this.rows[row]!.id, score: scores[row]! }));
  }

  /** Raise `best` of every chunk holding word `id` to `s`. */
  private take(id: number, s: number, best: Float32Array): void {
    for (const row of this.postings[id] ?? []) if (s > best[row]!) best[row] = s;
  }

  /** A chunk's distinct word ids (title, heading and body), adding new words to the vocabulary. */
  private wordsOf(chunk: IndexedChunk): Uint32Array {
    const cached = this.chunkWords.get(chunk);
    if (cached) return cached;
    const ids = new Set<number>();
    for (const word of vectorWords(`${chunk.title}\n${chunk.heading}\n${chunk.body}`)) ids.add(this.wordId(word));
    const list = Uint32Array.from(ids);
    this.chunkWords.set(chunk, list);
    return list;
  }

  private wordId(word: string): number {
    const known = this.wordIds.get(word);
    if (known !== undefined) return known;
    const id = this.vectorRow.length;
    this.wordIds.set(word, id);
    const found = this.vectors.lookup(word);
    if (!found) {
      this.vectorRow.push(-1);
      return id;
    }
    const dims = this.vectors.dims;
    const row = this.rowWord.length;
    if ((row + 1) * dims > this.matrix.length) {
      const grown = new Float32Array(Math.max(1024, (row + 1) * 2) * dims);
      grown.set(this.matrix);
      this.matrix = grown;
    }
    this.matrix.set(found.vector, row * dims);
    this.vectorRow.push(row);
    this.rowWord.push(id);
    return id;
  }
}
