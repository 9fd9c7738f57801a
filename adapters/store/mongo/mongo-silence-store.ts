import type { Collection } from 'mongodb';
import type { SilenceStore } from '../../../core/ports/silence-store.js';
import type { OutboxEnvelope } from '../../../core/schemas/outbox.js';
import type { SilenceEndReason, SilenceRecord } from '../../../core/schemas/silence.js';
import type { MongoCaseStore } from './mongo-case-store.js';

/** `silence` as stored: the record with `_id` for `id`. */
interface SilenceDoc extends Omit<SilenceRecord, 'id'> {
  _id: string;
}

/**
 * Silences on MongoDB, collection `silence` (migrations/mongo/0110_silence.ts). Writes that announce
 * something run in the case store's transaction (`transactWithSession`), so the document and its
 * outbox messages commit together; the end is a conditional update on `ended_at: null`.
 */
export class MongoSilenceStore implements SilenceStore {
  private readonly silences: Collection<SilenceDoc>;

  constructor(private readonly store: MongoCaseStore) {
    this.silences = store.db.collection<SilenceDoc>('silence');
  }

  async create(record: SilenceRecord, messages: readonly OutboxEnvelope[]): Promise<void> {
    const { id, ...rest } = record;
    await this.store.transactWithSession(async (tx, session) => {
      await this.silences.insertOne({ _id: id, ...rest }, { session });
      if (messages.length) await tx.appendOutbox(messages);
    });
  }

  async get(id: string): Promise<SilenceRecord | null> {
    const doc = await this.store.runMongo(() => this.silences.findOne({ _id: id }));
    return doc ? toRecord(doc) : null;
  }

  async list(filter: { notEndedAt?: Date; limit: number }): Promise<SilenceRecord[]> {
    const query = filter.notEndedAt ? { ended_at: null, ends_at: { $gt: filter.notEndedAt } } : {};
    const limit = Math.max(1, Math.min(1000, Math.trunc(filter.limit)));
    const docs = await this.store.runMongo(() => this.silences.find(query).sort({ created_at: -1, _id: -1 }).limit(limit).toArray());
    return docs.map(toRecord);
  }

  async end(id: string, at: Date, by: string, reason: SilenceEndReason, messages: (ended: SilenceRecord) => readonly OutboxEnvelope[]): Promise<{ record: SilenceRecord; ended: boolean } | null> {
    return this.store.transactWithSession(async (tx, session) => {
      const updated = await this.silences.findOneAndUpdate(
        { _id: id, ended_at: null },
        { $set: { ended_at: at, ended_by: by, end_reason: reason } },
        { session, returnDocument: 'after' },
      );
      if (updated) {
        const record = toRecord(updated);
        const out = messages(record);
        if (out.length) await tx.appendOutbox(out);
        return { record, ended: true };
      }
      const existing = await this.silences.findOne({ _id: id }, { session });
      return existing ? { record: toRecord(existing), ended: false } : null;
    });
  }

  async due(now: Date, limit: number): Promise<SilenceRecord[]> {
    const docs = await this.store.runMongo(() => this.silences.find({ ended_at: null, ends_at: { $lte: now } })
      .sort({ ends_at: 1, _id: 1 }).limit(Math.max(1, Math.trunc(limit))).toArray());
    return docs.map(toRecord);
  }

  async recordSuppressed(id: string, count: number, at: Date): Promise<void> {
    if (!(count > 0)) return;
    await this.store.runMongo(() => this.silences.updateOne({ _id: id }, { $inc: { suppressed_count: Math.trunc(count) }, $max: { last_suppressed_at: at } }));
  }
}

function toRecord(doc: SilenceDoc): SilenceRecord {
  return {
    id: doc._id, matchers: doc.matchers.map((m) => ({ name: m.name, op: m.op, value: m.value })), starts_at: doc.starts_at, ends_at: doc.ends_at,
    reason: doc.reason, created_by: doc.created_by, created_at: doc.created_at, origin: doc.origin ?? null,
    ended_at: doc.ended_at ?? null, ended_by: doc.ended_by ?? null, end_reason: doc.end_reason ?? null,
    suppressed_count: doc.suppressed_count ?? 0, last_suppressed_at: doc.last_suppressed_at ?? null,
  };
}
