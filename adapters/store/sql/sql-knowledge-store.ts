import type { KbChunk, KbDoc, KbDocKind, KnowledgeStore, TsRankHit, VectorStore } from '../../../core/ports/knowledge-store.js';
import type { SqlQueryable } from './sql-client.js';
import type { SqlCaseStore } from './sql-case-store.js';

interface DocRow {
  id: string; kind: string; source: string; title: string; services: string[]; tags: string[]; actions: string[];
  content_hash: string; updated_at: Date | string;
}

function toDoc(r: DocRow): KbDoc {
  return {
    id: r.id, kind: r.kind as KbDocKind, source: r.source, title: r.title, services: r.services ?? [], tags: r.tags ?? [],
    actions: r.actions ?? [], content_hash: r.content_hash, updated_at: new Date(r.updated_at),
  };
}

/** Lexemes of a free-text query OR-ed for to_tsquery; null when nothing is left. */
function orTsQuery(q: SqlQueryable, query: string): Promise<string | null> {
  return q.query<{ words: string | null }>(
    `SELECT string_agg(quote_literal(lexeme), ' | ') AS words FROM unnest(to_tsvector('english', $1))`, [query],
  ).then((r) => r.rows[0]?.words ?? null);
}

/**
 * kb_doc / kb_chunk on PostgreSQL (PGlite or a server), through the case store's connection.
 * `putDoc` replaces a document and its chunks in one transaction.
 */
export class SqlKnowledgeStore implements KnowledgeStore {
  readonly vectors: VectorStore;

  constructor(private readonly store: SqlCaseStore) {
    this.vectors = new PgVectorStore(store);
  }

  async listDocs(): Promise<KbDoc[]> {
    const r = await this.store.runSql((q) => q.query<DocRow>('SELECT * FROM kb_doc ORDER BY id'));
    return r.rows.map(toDoc);
  }

  async listChunks(docIds?: readonly string[]): Promise<KbChunk[]> {
    const r = await this.store.runSql((q) => docIds
      ? q.query<KbChunk>('SELECT id, doc_id, ord, heading, body FROM kb_chunk WHERE doc_id = ANY($1::text[]) ORDER BY doc_id, ord', [[...docIds]])
      : q.query<KbChunk>('SELECT id, doc_id, ord, heading, body FROM kb_chunk ORDER BY doc_id, ord'));
    return r.rows;
  }

  async putDoc(doc: KbDoc, chunks: readonly KbChunk[]): Promise<void> {
    await this.store.transactSql(async (_tx, q) => {
      await q.query(`INSERT INTO kb_doc (id, kind, source, title, services, tags, actions, content_hash, updated_at)
        VALUES ($1, $2, $3, $4, $5::text[], $6::text[], $7::text[], $8, $9)
        ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, source = EXCLUDED.source, title = EXCLUDED.title,
          services = EXCLUDED.services, tags = EXCLUDED.tags, actions = EXCLUDED.actions,
          content_hash = EXCLUDED.content_hash, updated_at = EXCLUDED.updated_at`,
      [doc.id, doc.kind, doc.source, doc.title, doc.services, doc.tags, doc.actions, doc.content_hash, doc.updated_at]);
      await q.query('DELETE FROM kb_chunk WHERE doc_id = $1', [doc.id]);
      for (const c of chunks) {
        await q.query('INSERT INTO kb_chunk (id, doc_id, ord, heading, body) VALUES ($1, $2, $3, $4, $5)', [c.id, doc.id, c.ord, c.heading, c.body]);
      }
    });
  }

  async deleteDoc(docId: string): Promise<void> {
    await this.store.transactSql(async (_tx, q) => {
      await q.query('DELETE FROM kb_chunk WHERE doc_id = $1', [docId]);
      await q.query('DELETE FROM kb_doc WHERE id = $1', [docId]);
    });
  }

  async tsRank(query: string, limit: number): Promise<TsRankHit[]> {
    return this.store.runSql(async (q) => {
      const tsq = await orTsQuery(q, query);
      if (!tsq) return [];
      const r = await q.query<{ chunk_id: string; doc_id: string; score: number }>(
        `SELECT id AS chunk_id, doc_id, ts_rank(tsv, to_tsquery('english', $1)) AS score
           FROM kb_chunk WHERE tsv @@ to_tsquery('english', $1) ORDER BY score DESC, id LIMIT $2`, [tsq, limit]);
      return r.rows.map((row) => ({ ...row, score: Number(row.score) }));
    });
  }
}

/** Vectors in kb_vector (pgvector, HNSW, cosine), created when an embeddings model is configured. */
class PgVectorStore implements VectorStore {
  private ready: { model: string; dimensions: number } | null = null;

  constructor(private readonly store: SqlCaseStore) {}

  async prepare(model: string, dimensions: number): Promise<boolean> {
    if (this.ready?.model === model && this.ready.dimensions === dimensions) return true;
    return this.store.transactSql(async (_tx, q) => {
      const available = await q.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'vector'`);
      if (available.rows.length === 0) return false;
      await q.query('SELECT pg_advisory_xact_lock($1::bigint)', [7_310_042_050]);
      await q.exec('CREATE EXTENSION IF NOT EXISTS vector');
      const existing = await q.query<{ dims: number }>(
        `SELECT atttypmod AS dims FROM pg_attribute WHERE attrelid = to_regclass('kb_vector') AND attname = 'embedding'`);
      const dims = existing.rows[0]?.dims;
      if (dims !== undefined && Number(dims) !== dimensions) await q.exec('DROP TABLE kb_vector');
      await q.exec(`CREATE TABLE IF NOT EXISTS kb_vector (
        chunk_id   text PRIMARY KEY REFERENCES kb_chunk (id) ON DELETE CASCADE,
        model      text NOT NULL,
        embedding  vector(${Math.trunc(dimensions)}) NOT NULL
      )`);
      await q.exec('CREATE INDEX IF NOT EXISTS kb_vector_hnsw_idx ON kb_vector USING hnsw (embedding vector_cosine_ops)');
      this.ready = { model, dimensions };
      return true;
    });
  }

  async missing(model: string): Promise<string[]> {
    const r = await this.store.runSql((q) => q.query<{ id: string }>(
      `SELECT c.id FROM kb_chunk c LEFT JOIN kb_vector v ON v.chunk_id = c.id AND v.model = $1 WHERE v.chunk_id IS NULL ORDER BY c.id`, [model]));
    return r.rows.map((row) => row.id);
  }

  async upsert(model: string, items: ReadonlyArray<{ chunk_id: string; embedding: number[] }>): Promise<void> {
    if (items.length === 0) return;
    await this.store.transactSql(async (_tx, q) => {
      for (const item of items) {
        // The chunk may have been replaced meanwhile: insert only while it still exists.
        await q.query(`INSERT INTO kb_vector (chunk_id, model, embedding)
          SELECT $1, $2, $3::vector WHERE EXISTS (SELECT 1 FROM kb_chunk WHERE id = $1)
          ON CONFLICT (chunk_id) DO UPDATE SET model = EXCLUDED.model, embedding = EXCLUDED.embedding`,
        [item.chunk_id, model, `[${item.embedding.join(',')}]`]);
      }
    });
  }

  async nearest(model: string, embedding: number[], limit: number): Promise<Array<{ chunk_id: string; score: number }>> {
    const r = await this.store.runSql((q) => q.query<{ chunk_id: string; score: number }>(
      `SELECT chunk_id, 1 - (embedding <=> $1::vector) AS score FROM kb_vector WHERE model = $2
        ORDER BY embedding <=> $1::vector LIMIT $3`, [`[${embedding.join(',')}]`, model, limit]));
    return r.rows.map((row) => ({ chunk_id: row.chunk_id, score: Number(row.score) }));
  }
}
