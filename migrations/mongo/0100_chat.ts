import type { Db } from 'mongodb';
import { ensureCollection, type MongoMigration } from './migration.js';

/**
 * Mongo schema, version 100: the chat collections, mirroring migrations/0020_chat.sql and
 * 0021_sim_message.sql, so case cards and threads work on MongoDB too.
 * - chat_message: what the thread notifier posted, one document per (platform, key) (unique index);
 *   looked up by case and kind (newest first) and, for cards, by thread.
 * - sim_message: the simulator's messages; `_id` is a number taken from the `sim_message` counter,
 *   `rev` one from the `sim_message_rev` counter on every post and edit.
 * Idempotent: create-if-missing and named indexes.
 */
export const migration0100: MongoMigration = {
  version: 100,
  name: 'chat',
  async up(db: Db): Promise<void> {
    for (const name of ['chat_message', 'sim_message']) await ensureCollection(db, name);
    const chat = db.collection('chat_message');
    await chat.createIndex({ platform: 1, key: 1 }, { unique: true, name: 'chat_message_platform_key' });
    await chat.createIndex({ case_id: 1, platform: 1, kind: 1, created_at: -1 }, { name: 'chat_message_case' });
    await chat.createIndex({ platform: 1, thread_ref: 1 }, { name: 'chat_message_thread', partialFilterExpression: { kind: 'card' } });
    const sim = db.collection('sim_message');
    await sim.createIndex({ channel: 1, thread_ref: 1, _id: -1 }, { name: 'sim_message_channel' });
    await sim.createIndex({ rev: -1 }, { name: 'sim_message_rev' });
  },
};
