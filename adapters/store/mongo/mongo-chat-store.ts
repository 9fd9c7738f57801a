import type { Collection } from 'mongodb';
import type { ChatMessageKind, ChatMessageRow, ChatStore, ReserveResult } from '../../../core/ports/chat-store.js';
import type { MongoCaseStore } from './mongo-case-store.js';
import { isDuplicateKeyError } from './mongo-mapping.js';

/** A chat_message document: the row as it is (one per platform and key, unique index). */
type ChatDoc = ChatMessageRow;

function toRow(doc: ChatDoc): ChatMessageRow {
  return {
    case_id: doc.case_id, platform: doc.platform, kind: doc.kind, key: doc.key, channel: doc.channel,
    message_ref: doc.message_ref ?? null, thread_ref: doc.thread_ref ?? null, created_at: doc.created_at,
  };
}

/**
 * ChatStore on the chat_message collection (migrations/mongo/0100_chat.ts), the MongoDB twin of
 * the SQL store: the unique index on {platform, key} does what the table's UNIQUE constraint does.
 * Single-document writes, no transaction needed.
 */
export class MongoChatStore implements ChatStore {
  private readonly rows: Collection<ChatDoc>;

  constructor(private readonly store: MongoCaseStore) {
    this.rows = store.db.collection<ChatDoc>('chat_message');
  }

  /**
   * Insert the reservation; on a duplicate key take over a reservation whose poster went quiet
   * (still no message_ref, older than `staleAfterMs`), as the SQL store's ON CONFLICT … WHERE does.
   */
  async reserve(row: Omit<ChatMessageRow, 'message_ref' | 'created_at'>, now: Date, staleAfterMs: number): Promise<ReserveResult> {
    const inserted = await this.store.runMongo(async () => {
      try {
        await this.rows.insertOne({ ...row, message_ref: null, created_at: now });
        return true;
      } catch (error) {
        if (isDuplicateKeyError(error)) return false;
        throw error;
      }
    });
    if (inserted) return { outcome: 'reserved' };
    const staleBefore = new Date(now.getTime() - staleAfterMs);
    const takenOver = await this.store.runMongo(() => this.rows.updateOne(
      { platform: row.platform, key: row.key, message_ref: null, created_at: { $lt: staleBefore } },
      { $set: { created_at: now } },
    ));
    if (takenOver.modifiedCount > 0) return { outcome: 'reserved' };
    const existing = await this.find(row.platform, row.key);
    if (existing?.message_ref) return { outcome: 'exists', row: existing };
    return { outcome: 'busy' };
  }

  async complete(platform: string, key: string, posted: { channel: string; messageRef: string; threadRef: string | null }): Promise<void> {
    await this.store.runMongo(() => this.rows.updateOne({ platform, key }, {
      $set: { channel: posted.channel, message_ref: posted.messageRef, ...(posted.threadRef !== null ? { thread_ref: posted.threadRef } : {}) },
    }));
  }

  async release(platform: string, key: string): Promise<void> {
    await this.store.runMongo(() => this.rows.deleteOne({ platform, key, message_ref: null }));
  }

  async find(platform: string, key: string): Promise<ChatMessageRow | null> {
    const doc = await this.store.runMongo(() => this.rows.findOne({ platform, key }));
    return doc ? toRow(doc) : null;
  }

  async latest(caseId: string, platform: string, kind: ChatMessageKind): Promise<ChatMessageRow | null> {
    const [doc] = await this.store.runMongo(() => this.rows
      .find({ case_id: caseId, platform, kind, message_ref: { $ne: null } })
      .sort({ created_at: -1, key: -1 }).limit(1).toArray());
    return doc ? toRow(doc) : null;
  }

  async caseOfThread(platform: string, threadRef: string): Promise<string | null> {
    const doc = await this.store.runMongo(() => this.rows.findOne({ platform, kind: 'card', thread_ref: threadRef }));
    return doc?.case_id ?? null;
  }
}
