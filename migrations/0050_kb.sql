-- The Librarian's knowledge base: documents (runbooks, case summaries) split into chunks.
-- Ranking is BM25 computed in-process from these rows; the tsvector column serves the
-- ts_rank baseline of the retrieval bench and plain full-text matching.
-- Vectors (pgvector) live in kb_vector, created at run time when an embeddings model is
-- configured and the extension is available (its dimension depends on the model).

CREATE TABLE IF NOT EXISTS kb_doc (
  id            text PRIMARY KEY,
  kind          text NOT NULL CHECK (kind IN ('runbook', 'case')),
  source        text NOT NULL,
  title         text NOT NULL,
  services      text[] NOT NULL DEFAULT '{}',
  tags          text[] NOT NULL DEFAULT '{}',
  actions       text[] NOT NULL DEFAULT '{}',
  content_hash  text NOT NULL,
  updated_at    timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS kb_doc_kind_idx ON kb_doc (kind);

CREATE TABLE IF NOT EXISTS kb_chunk (
  id        text PRIMARY KEY,
  doc_id    text NOT NULL REFERENCES kb_doc (id) ON DELETE CASCADE,
  ord       integer NOT NULL,
  heading   text NOT NULL,
  body      text NOT NULL,
  tsv       tsvector GENERATED ALWAYS AS (
              setweight(to_tsvector('english', heading), 'A') || setweight(to_tsvector('english', body), 'B')) STORED
);
CREATE INDEX IF NOT EXISTS kb_chunk_doc_idx ON kb_chunk (doc_id, ord);
CREATE INDEX IF NOT EXISTS kb_chunk_tsv_idx ON kb_chunk USING gin (tsv);
