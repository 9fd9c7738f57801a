import type { Db } from 'mongodb';
import type { KbChunk, KbDoc, KnowledgeStore } from '../../../core/ports/knowledge-store.js';

interface DocRecord extends Omit<KbDoc, 'id'> { _id: string }
interface ChunkRecord extends Omit<KbChunk, 'id'> { _id: string }

/**
 * kb_doc / kb_chunk as MongoDB collections (migrations/mongo/0050_kb.ts). Ranking stays the
 * in-process BM25, so no text index or vectors here (semantic search needs pgvector).
 */
export class MongoKnowledgeStore implements KnowledgeStore {
  constructor(private readonly db: Db) {}

  private get docs() { return this.db.collection<DocRecord>('kb_doc'); }
  private get chunks() { return this.db.collection<ChunkRecord>('kb_chunk'); }

  async listDocs(): Promise<KbDoc[]> {
    const rows = await this.docs.find({}).sort({ _id: 1 }).toArray();
    return rows.map(({ _id, ...rest }) => ({ id: _id, ...rest }));
  }

  async listChunks(docIds?: readonly string[]): Promise<KbChunk[]> {
    const rows = await this.chunks.find(docIds ? { doc_id: { $in: [...docIds] } } : {}).sort({ doc_id: 1, ord: 1 }).toArray();
    return rows.map(({ _id, ...rest }) => ({ id: _id, ...rest }));
  }

  /** Chunks first, then the document: a reader that sees the new hash also sees its chunks. */
  async putDoc(doc: KbDoc, chunks: readonly KbChunk[]): Promise<void> {
    const { id, ...rest } = doc;
    await this.chunks.deleteMany({ doc_id: id, _id: { $nin: chunks.map((c) => c.id) } });
    for (const c of chunks) {
      const { id: chunkId, ...chunkRest } = c;
      await this.chunks.replaceOne({ _id: chunkId }, chunkRest, { upsert: true });
    }
    await this.docs.replaceOne({ _id: id }, rest, { upsert: true });
  }

  async deleteDoc(docId: string): Promise<void> {
    await this.docs.deleteOne({ _id: docId });
    await this.chunks.deleteMany({ doc_id: docId });
  }
}
