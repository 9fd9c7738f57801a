import type { OutboxEnvelope } from '../schemas/outbox.js';
import type { SilenceEndReason, SilenceRecord } from '../schemas/silence.js';

/**
 * Where silences live: the same database as the cases (SQL table `silence`,
 * migrations/0110_silence.sql; Mongo collection `silence`, migrations/mongo/0110_silence.ts).
 * Writes that tell someone (created, ended) write their outbox messages in the same transaction,
 * so a silence never ends without its thread being told, and never twice.
 */
export interface SilenceStore {
  /** Store a new silence and its messages (`evt.silence.created.v1`) in one transaction. */
  create(record: SilenceRecord, messages: readonly OutboxEnvelope[]): Promise<void>;

  /** The silence with this id, or null. */
  get(id: string): Promise<SilenceRecord | null>;

  /**
   * Silences newest first, at most `limit`: with `notEndedAt`, only those not ended at that instant
   * (active and pending); without it, every silence.
   */
  list(filter: { notEndedAt?: Date; limit: number }): Promise<SilenceRecord[]>;

  /**
   * End silence `id` at `at` (`by` a principal id, or `opsloop` for `time`) unless it has ended
   * already, and in the same transaction write `messages(ended)` to the outbox. Only the first end
   * counts: `ended` says whether this call ended it (then its messages were written). Null when no
   * silence has this id.
   */
  end(id: string, at: Date, by: string, reason: SilenceEndReason, messages: (ended: SilenceRecord) => readonly OutboxEnvelope[]): Promise<{ record: SilenceRecord; ended: boolean } | null>;

  /** Silences whose end time is at or before `now` and that have not been ended yet (the expiry job's work), oldest end first. */
  due(now: Date, limit: number): Promise<SilenceRecord[]>;

  /** Add `count` to the silence's suppressed count and set its last suppression time (never backwards). */
  recordSuppressed(id: string, count: number, at: Date): Promise<void>;
}
