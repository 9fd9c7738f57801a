import type { OutboxEnvelope } from '../../../core/schemas/outbox.js';
import type { SilenceStore } from '../../../core/ports/silence-store.js';
import type { Matcher, SilenceEndReason, SilenceOrigin, SilenceRecord } from '../../../core/schemas/silence.js';
import type { SqlCaseStore } from './sql-case-store.js';

const COLUMNS = 'id, matchers, starts_at, ends_at, reason, created_by, created_at, origin, ended_at, ended_by, end_reason, suppressed_count, last_suppressed_at';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface SilenceRow {
  id: string;
  matchers: Matcher[] | string;
  starts_at: Date | string;
  ends_at: Date | string;
  reason: string;
  created_by: string;
  created_at: Date | string;
  origin: SilenceOrigin | string | null;
  ended_at: Date | string | null;
  ended_by: string | null;
  end_reason: SilenceEndReason | null;
  suppressed_count: number | string;
  last_suppressed_at: Date | string | null;
}

/**
 * Silences on PostgreSQL (PGlite or a server), table `silence` (migrations/0110_silence.sql). Writes
 * that announce something run in the case store's transaction (`transactSql`), so the row and its
 * outbox messages commit together; the end is a conditional UPDATE, so only the first end counts.
 */
export class SqlSilenceStore implements SilenceStore {
  constructor(private readonly store: SqlCaseStore) {}

  async create(record: SilenceRecord, messages: readonly OutboxEnvelope[]): Promise<void> {
    await this.store.transactSql(async (tx, q) => {
      await q.query(
        `INSERT INTO silence (${COLUMNS}) VALUES ($1, $2::jsonb, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11, $12, $13)`,
        [record.id, JSON.stringify(record.matchers), record.starts_at, record.ends_at, record.reason, record.created_by, record.created_at,
          record.origin === null ? null : JSON.stringify(record.origin), record.ended_at, record.ended_by, record.end_reason,
          record.suppressed_count, record.last_suppressed_at],
      );
      if (messages.length) await tx.appendOutbox(messages);
    });
  }

  async get(id: string): Promise<SilenceRecord | null> {
    if (!UUID.test(id)) return null;
    const result = await this.store.runSql((q) => q.query<SilenceRow>(`SELECT ${COLUMNS} FROM silence WHERE id = $1`, [id]));
    const row = result.rows[0];
    return row ? toRecord(row) : null;
  }

  async list(filter: { notEndedAt?: Date; limit: number }): Promise<SilenceRecord[]> {
    const limit = Math.max(1, Math.min(1000, Math.trunc(filter.limit)));
    const result = filter.notEndedAt
      ? await this.store.runSql((q) => q.query<SilenceRow>(
        `SELECT ${COLUMNS} FROM silence WHERE ended_at IS NULL AND ends_at > $1 ORDER BY created_at DESC, id DESC LIMIT $2`,
        [filter.notEndedAt, limit], { name: 'opsloop_silences_live' }))
      : await this.store.runSql((q) => q.query<SilenceRow>(`SELECT ${COLUMNS} FROM silence ORDER BY created_at DESC, id DESC LIMIT $1`, [limit]));
    return result.rows.map(toRecord);
  }

  async end(id: string, at: Date, by: string, reason: SilenceEndReason, messages: (ended: SilenceRecord) => readonly OutboxEnvelope[]): Promise<{ record: SilenceRecord; ended: boolean } | null> {
    if (!UUID.test(id)) return null;
    return this.store.transactSql(async (tx, q) => {
      const updated = await q.query<SilenceRow>(
        `UPDATE silence SET ended_at = $2, ended_by = $3, end_reason = $4 WHERE id = $1 AND ended_at IS NULL RETURNING ${COLUMNS}`,
        [id, at, by, reason],
      );
      const row = updated.rows[0];
      if (row) {
        const record = toRecord(row);
        const out = messages(record);
        if (out.length) await tx.appendOutbox(out);
        return { record, ended: true };
      }
      const existing = (await q.query<SilenceRow>(`SELECT ${COLUMNS} FROM silence WHERE id = $1`, [id])).rows[0];
      return existing ? { record: toRecord(existing), ended: false } : null;
    });
  }

  async due(now: Date, limit: number): Promise<SilenceRecord[]> {
    const result = await this.store.runSql((q) => q.query<SilenceRow>(
      `SELECT ${COLUMNS} FROM silence WHERE ended_at IS NULL AND ends_at <= $1 ORDER BY ends_at, id LIMIT $2`,
      [now, Math.max(1, Math.trunc(limit))], { name: 'opsloop_silences_due' },
    ));
    return result.rows.map(toRecord);
  }

  async recordSuppressed(id: string, count: number, at: Date): Promise<void> {
    if (!UUID.test(id) || !(count > 0)) return;
    await this.store.runSql((q) => q.query(
      `UPDATE silence SET suppressed_count = suppressed_count + $2,
              last_suppressed_at = GREATEST(COALESCE(last_suppressed_at, $3), $3)
        WHERE id = $1`,
      [id, Math.trunc(count), at], { name: 'opsloop_silence_suppressed' },
    ));
  }
}

function date(value: Date | string): Date {
  return value instanceof Date ? value : new Date(value);
}

function dateOrNull(value: Date | string | null): Date | null {
  return value === null ? null : date(value);
}

function json<T>(value: T | string): T {
  return typeof value === 'string' ? JSON.parse(value) as T : value;
}

function toRecord(row: SilenceRow): SilenceRecord {
  return {
    id: row.id,
    matchers: json(row.matchers),
    starts_at: date(row.starts_at),
    ends_at: date(row.ends_at),
    reason: row.reason,
    created_by: row.created_by,
    created_at: date(row.created_at),
    origin: row.origin === null ? null : json(row.origin),
    ended_at: dateOrNull(row.ended_at),
    ended_by: row.ended_by,
    end_reason: row.end_reason,
    suppressed_count: Number(row.suppressed_count),
    last_suppressed_at: dateOrNull(row.last_suppressed_at),
  };
}
