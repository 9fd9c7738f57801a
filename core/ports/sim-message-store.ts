import type { ChatMessage } from './chat.js';

/**
 * Where the local chat simulator (/sim) keeps what the thread notifier "posted" through its chat
 * client, so the simulated channel survives restarts and every opsloop process on the database
 * shows the same channel. Dedupe is the notifier's job (ChatStore, platform `sim`); this store only
 * holds the content. SQL: table sim_message (migrations/0021_sim_message.sql); MongoDB: collection
 * sim_message (migrations/mongo/0100_chat.ts).
 */

/** One message in the simulated channel. */
export interface SimMessage {
  /** Decimal digits, growing with every post (the page and `/sim/api/command`'s `thread` rely on both). */
  id: string;
  channel: string;
  /** The card message id this message is a thread reply to; null for channel messages. */
  thread_ref: string | null;
  message: ChatMessage;
  created_at: Date;
  updated_at: Date;
}

export interface SimMessageStore {
  /** Post a message (a reply when `threadRef` names a card); returns its new id. */
  insert(channel: string, threadRef: string | null, message: ChatMessage): Promise<string>;
  /** Replace a message's content; throws when it does not exist (like a platform would). */
  update(id: string, message: ChatMessage): Promise<void>;
  /** The newest `limit` (default 50) channel messages with all their thread replies, oldest first. */
  listChannel(channel: string, limit?: number): Promise<SimMessage[]>;
  /** A number that grows whenever a message is posted or edited (the page polls "anything new since N?"). */
  revision(): Promise<number>;
}
