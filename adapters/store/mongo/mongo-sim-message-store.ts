import type { Collection } from 'mongodb';
import type { ChatMessage } from '../../../core/ports/chat.js';
import type { SimMessage, SimMessageStore } from '../../../core/ports/sim-message-store.js';
import type { MongoCaseStore } from './mongo-case-store.js';

interface SimDoc {
  /** From the `sim_message` counter: ids are decimal and grow, like the SQL table's bigserial. */
  _id: number;
  channel: string;
  thread_ref: string | null;
  message: ChatMessage;
  /** From the `sim_message_rev` counter, taken again on every edit. */
  rev: number;
  created_at: Date;
  updated_at: Date;
}

const ID = /^\d{1,15}$/;

function toMessage(doc: SimDoc): SimMessage {
  return {
    id: String(doc._id), channel: doc.channel, thread_ref: doc.thread_ref ?? null, message: doc.message,
    created_at: doc.created_at, updated_at: doc.updated_at,
  };
}

/** The simulator's messages on the sim_message collection (migrations/mongo/0100_chat.ts). */
export class MongoSimMessageStore implements SimMessageStore {
  private readonly messages: Collection<SimDoc>;
  private readonly counters: Collection<{ _id: string; value: number }>;

  constructor(private readonly store: MongoCaseStore) {
    this.messages = store.db.collection<SimDoc>('sim_message');
    this.counters = store.db.collection<{ _id: string; value: number }>('counters');
  }

  async insert(channel: string, threadRef: string | null, message: ChatMessage): Promise<string> {
    const [id, rev] = await Promise.all([this.next('sim_message'), this.next('sim_message_rev')]);
    const now = new Date();
    await this.store.runMongo(() => this.messages.insertOne({ _id: id, channel, thread_ref: threadRef, message, rev, created_at: now, updated_at: now }));
    return String(id);
  }

  async update(id: string, message: ChatMessage): Promise<void> {
    if (!ID.test(id)) throw new Error(`sim message ${id} does not exist`);
    const rev = await this.next('sim_message_rev');
    const r = await this.store.runMongo(() => this.messages.updateOne({ _id: Number(id) }, { $set: { message, rev, updated_at: new Date() } }));
    if (r.matchedCount === 0) throw new Error(`sim message ${id} does not exist`);
  }

  async listChannel(channel: string, limit = 50): Promise<SimMessage[]> {
    const cards = await this.store.runMongo(() => this.messages
      .find({ channel, thread_ref: null }, { projection: { _id: 1 } }).sort({ _id: -1 }).limit(limit).toArray());
    const ids = cards.map((c) => c._id);
    const docs = await this.store.runMongo(() => this.messages
      .find({ channel, $or: [{ _id: { $in: ids } }, { thread_ref: { $in: ids.map(String) } }] }).sort({ _id: 1 }).toArray());
    return docs.map(toMessage);
  }

  async revision(): Promise<number> {
    const [newest] = await this.store.runMongo(() => this.messages.find({}, { projection: { rev: 1 } }).sort({ rev: -1 }).limit(1).toArray());
    return newest?.rev ?? 0;
  }

  /** The next number of a counter (shared with the case store's sequences, under other names). */
  private async next(counter: string): Promise<number> {
    const doc = await this.store.runMongo(() => this.counters.findOneAndUpdate(
      { _id: counter }, { $inc: { value: 1 } }, { upsert: true, returnDocument: 'after' }));
    if (!doc) throw new Error(`counter ${counter} could not be incremented`);
    return doc.value;
  }
}
