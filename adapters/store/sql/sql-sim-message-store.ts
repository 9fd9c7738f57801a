import type { ChatMessage } from '../../../core/ports/chat.js';
import type { SimMessage, SimMessageStore } from '../../../core/ports/sim-message-store.js';
import type { SqlQueryable } from './sql-client.js';

interface Row {
  id: string;
  channel: string;
  thread_ref: string | null;
  message: ChatMessage | string;
  created_at: Date | string;
  updated_at: Date | string;
}

function toMessage(r: Row): SimMessage {
  return {
    id: String(r.id), channel: r.channel, thread_ref: r.thread_ref,
    message: typeof r.message === 'string' ? JSON.parse(r.message) as ChatMessage : r.message,
    created_at: new Date(r.created_at), updated_at: new Date(r.updated_at),
  };
}

/** The simulator's messages on the sim_message table (migrations/0021_sim_message.sql). */
export class SqlSimMessageStore implements SimMessageStore {
  constructor(private readonly sql: SqlQueryable) {}

  async insert(channel: string, threadRef: string | null, message: ChatMessage): Promise<string> {
    const r = await this.sql.query<{ id: string }>(
      'INSERT INTO sim_message (channel, thread_ref, message) VALUES ($1, $2, $3::jsonb) RETURNING id::text AS id',
      [channel, threadRef, JSON.stringify(message)]);
    return r.rows[0]!.id;
  }

  /** Replace a message's content; throws when it does not exist (like a platform would). */
  async update(id: string, message: ChatMessage): Promise<void> {
    if (!/^\d{1,18}$/.test(id)) throw new Error(`sim message ${id} does not exist`);
    const r = await this.sql.query<{ id: string }>(
      `UPDATE sim_message SET message = $2::jsonb, rev = nextval('sim_message_rev'), updated_at = now() WHERE id = $1 RETURNING id::text AS id`,
      [id, JSON.stringify(message)]);
    if (!r.rows.length) throw new Error(`sim message ${id} does not exist`);
  }

  /** The newest `limit` channel messages with all their thread replies, oldest first. */
  async listChannel(channel: string, limit = 50): Promise<SimMessage[]> {
    const r = await this.sql.query<Row>(
      `WITH cards AS (SELECT id FROM sim_message WHERE channel = $1 AND thread_ref IS NULL ORDER BY id DESC LIMIT $2)
       SELECT id::text AS id, channel, thread_ref, message, created_at, updated_at FROM sim_message
       WHERE channel = $1 AND (id IN (SELECT id FROM cards) OR thread_ref IN (SELECT id::text FROM cards))
       ORDER BY id`, [channel, limit]);
    return r.rows.map(toMessage);
  }

  /** Changes whenever a message is posted or edited. */
  async revision(): Promise<number> {
    const r = await this.sql.query<{ rev: string | null }>('SELECT max(rev)::text AS rev FROM sim_message');
    return Number(r.rows[0]?.rev ?? 0);
  }
}
