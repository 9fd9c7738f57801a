import type { ChatClient, ChatFile, ChatMessage, MessageRef, PostOptions } from '../../core/ports/chat.js';
import type { CaseStore } from '../../core/ports/case-store.js';
import { pgliteSqlClient, pgPoolSqlClient, type SqlQueryable } from '../store/sql/sql-client.js';
import { PgliteCaseStore } from '../store/pglite/pglite-case-store.js';
import { PostgresCaseStore } from '../store/postgres/postgres-case-store.js';

/** One message in the simulated channel. */
export interface SimMessage {
  id: string;
  channel: string;
  /** The card message id this message is a thread reply to; null for channel messages. */
  thread_ref: string | null;
  message: ChatMessage;
  created_at: Date;
  updated_at: Date;
}

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
export class SqlSimMessageStore {
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

/** A SqlSimMessageStore on a SQL case store's database; null for MongoDB. */
export function simMessageStoreFor(store: CaseStore): SqlSimMessageStore | null {
  if (store instanceof PgliteCaseStore) return new SqlSimMessageStore(pgliteSqlClient(store.db));
  if (store instanceof PostgresCaseStore) return new SqlSimMessageStore(pgPoolSqlClient(store.pool));
  return null;
}

/**
 * The local simulator as a chat platform: posts and edits land in the sim_message table, which
 * the /sim page shows. Threads are replies to the card (like Slack), so no `createThread`.
 */
export class SimChatClient implements ChatClient {
  readonly platform = 'sim';

  constructor(private readonly messages: SqlSimMessageStore) {}

  async postMessage(channel: string, message: ChatMessage, opts: PostOptions = {}): Promise<{ messageRef: MessageRef }> {
    const id = await this.messages.insert(channel, opts.threadRef ?? null, message);
    return { messageRef: { channel, id } };
  }

  async updateMessage(ref: MessageRef, message: ChatMessage): Promise<void> {
    await this.messages.update(ref.id, message);
  }

  /** The simulator has no files: the file becomes a post with its name, the comment and the text. */
  async uploadFile(channel: string, file: ChatFile, opts: PostOptions = {}): Promise<{ messageRef: MessageRef }> {
    return this.postMessage(channel, {
      text: file.comment,
      blocks: [
        { type: 'header', text: `📎 ${file.title}` },
        { type: 'context', text: file.filename },
        { type: 'text', text: file.comment },
        { type: 'text', text: file.content },
      ],
    }, opts);
  }
}
