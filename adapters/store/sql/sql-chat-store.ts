import type { ChatMessageKind, ChatMessageRow, ChatStore, ReserveResult } from '../../../core/ports/chat-store.js';
import type { SqlQueryable } from './sql-client.js';

interface Row {
  case_id: string;
  platform: string;
  kind: string;
  key: string;
  channel: string;
  message_ref: string | null;
  thread_ref: string | null;
  created_at: Date | string;
}

function toRow(r: Row): ChatMessageRow {
  return { ...r, kind: r.kind as ChatMessageKind, created_at: new Date(r.created_at) };
}

const COLUMNS = 'case_id::text AS case_id, platform, kind, key, channel, message_ref, thread_ref, created_at';

/** ChatStore on the chat_message table (migrations/0020_chat.sql), for PGlite and the PostgreSQL server. */
export class SqlChatStore implements ChatStore {
  constructor(private readonly sql: SqlQueryable) {}

  async reserve(row: Omit<ChatMessageRow, 'message_ref' | 'created_at'>, now: Date, staleAfterMs: number): Promise<ReserveResult> {
    const staleBefore = new Date(now.getTime() - staleAfterMs);
    const claimed = await this.sql.query<{ key: string }>(
      `INSERT INTO chat_message (case_id, platform, kind, key, channel, message_ref, thread_ref, created_at)
       VALUES ($1, $2, $3, $4, $5, NULL, $6, $7)
       ON CONFLICT (platform, key) DO UPDATE SET created_at = EXCLUDED.created_at
         WHERE chat_message.message_ref IS NULL AND chat_message.created_at < $8
       RETURNING key`,
      [row.case_id, row.platform, row.kind, row.key, row.channel, row.thread_ref, now, staleBefore]);
    if (claimed.rows.length > 0) return { outcome: 'reserved' };
    const existing = await this.find(row.platform, row.key);
    if (existing?.message_ref) return { outcome: 'exists', row: existing };
    return { outcome: 'busy' };
  }

  async complete(platform: string, key: string, posted: { channel: string; messageRef: string; threadRef: string | null }): Promise<void> {
    await this.sql.query(
      'UPDATE chat_message SET channel = $3, message_ref = $4, thread_ref = COALESCE($5, thread_ref) WHERE platform = $1 AND key = $2',
      [platform, key, posted.channel, posted.messageRef, posted.threadRef]);
  }

  async release(platform: string, key: string): Promise<void> {
    await this.sql.query('DELETE FROM chat_message WHERE platform = $1 AND key = $2 AND message_ref IS NULL', [platform, key]);
  }

  async find(platform: string, key: string): Promise<ChatMessageRow | null> {
    const r = await this.sql.query<Row>(`SELECT ${COLUMNS} FROM chat_message WHERE platform = $1 AND key = $2`, [platform, key]);
    return r.rows[0] ? toRow(r.rows[0]) : null;
  }

  async latest(caseId: string, platform: string, kind: ChatMessageKind): Promise<ChatMessageRow | null> {
    const r = await this.sql.query<Row>(
      `SELECT ${COLUMNS} FROM chat_message
       WHERE case_id = $1 AND platform = $2 AND kind = $3 AND message_ref IS NOT NULL
       ORDER BY created_at DESC, key DESC LIMIT 1`, [caseId, platform, kind]);
    return r.rows[0] ? toRow(r.rows[0]) : null;
  }

  async caseOfThread(platform: string, threadRef: string): Promise<string | null> {
    const r = await this.sql.query<{ case_id: string }>(
      `SELECT case_id::text AS case_id FROM chat_message WHERE platform = $1 AND kind = 'card' AND thread_ref = $2 LIMIT 1`,
      [platform, threadRef]);
    return r.rows[0]?.case_id ?? null;
  }
}
