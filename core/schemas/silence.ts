import { z } from 'zod';

/**
 * Silences (issue 16 §2): Alertmanager-style matchers over an alert's or a detector episode's
 * service, env, alertname and labels, a start, an end and a reason. While a silence is active,
 * what it matches opens no case. Schemas for the REST bodies and answers, and the stored record.
 */

/** `=` equal, `!=` not equal, `=~` regex matches, `!~` regex does not match (regexes anchored at both ends). */
export const MATCH_OPERATORS = ['=', '!=', '=~', '!~'] as const;
export type MatchOperator = (typeof MATCH_OPERATORS)[number];

/** A label name as Prometheus spells it (`service`, `env` and `alertname` included). */
export const MATCHER_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/;
export const MAX_MATCHER_VALUE = 300;
export const MAX_MATCHERS = 20;
export const MAX_SILENCE_REASON = 500;
/** The longest a silence may last: beyond that it is a configuration (a maintenance window), not a silence. */
export const MAX_SILENCE_MS = 30 * 86_400_000;

export const MatcherSchema = z.object({
  name: z.string().regex(MATCHER_NAME, 'a label name like service, env, alertname or team'),
  op: z.enum(MATCH_OPERATORS),
  value: z.string().max(MAX_MATCHER_VALUE),
}).strict();
export type Matcher = z.infer<typeof MatcherSchema>;

/** Where a silence was made in chat: its creation was answered there and its end is posted there. */
export const SilenceOriginSchema = z.object({
  platform: z.string().max(20),
  channel: z.string().max(100),
  /** The thread it was typed in (Slack `thread_ts`, the simulator's thread id); null: the channel itself. */
  thread_ref: z.string().max(100).nullable(),
}).strict();
export type SilenceOrigin = z.infer<typeof SilenceOriginSchema>;

/** How a silence ended: its end time passed (`time`) or someone expired it (`hand`). */
export type SilenceEndReason = 'time' | 'hand';

/** One silence as stored (SQL table `silence`, Mongo collection `silence`). */
export interface SilenceRecord {
  id: string;
  matchers: Matcher[];
  starts_at: Date;
  ends_at: Date;
  reason: string;
  /** Principal id of whoever made it (`slack:U123`, `token:ci`, `sim:alice`). */
  created_by: string;
  created_at: Date;
  origin: SilenceOrigin | null;
  /** When it ended (its end time, or when it was expired by hand); null while it has not ended. */
  ended_at: Date | null;
  /** Who ended it (a principal id, or `opsloop` when its time ran out); null while it has not ended. */
  ended_by: string | null;
  end_reason: SilenceEndReason | null;
  /** Alerts and detector episodes it kept from opening a case. */
  suppressed_count: number;
  last_suppressed_at: Date | null;
}

const Instant = z.iso.datetime({ offset: true, message: 'an ISO 8601 time with a zone, like 2026-12-05T18:00:00Z' });
/** `90m`, `2h`, `1d`, `1h30m`. */
export const SILENCE_DURATION = /^(?:\d+[smhdw])+$/;

/** POST /silences. Give `ends_at` or `duration` (not both); `starts_at` defaults to now. */
export const CreateSilenceBodySchema = z.object({
  matchers: z.array(MatcherSchema).min(1).max(MAX_MATCHERS).describe('all must match (AND); regexes are anchored like Alertmanager\'s'),
  starts_at: Instant.optional(),
  ends_at: Instant.optional(),
  duration: z.string().regex(SILENCE_DURATION, 'a duration like 30m, 2h, 1d or 1h30m').optional(),
  reason: z.string().trim().min(1).max(MAX_SILENCE_REASON),
}).strict().refine((b) => (b.ends_at === undefined) !== (b.duration === undefined), {
  message: 'give either ends_at or duration', path: ['ends_at'],
});
export type CreateSilenceBody = z.infer<typeof CreateSilenceBodySchema>;

export const SilenceIdParamsSchema = z.object({ id: z.uuid({ message: 'a silence id (uuid)' }) }).strict();

export const ListSilencesQuerySchema = z.object({
  state: z.enum(['active', 'pending', 'ended', 'all']).optional().describe('default: active and pending'),
  limit: z.coerce.number().int().min(1).max(500).optional(),
}).strict();

/** The state of a silence at an instant. */
export type SilenceState = 'pending' | 'active' | 'ended';

export const SilenceViewSchema = z.object({
  id: z.string(),
  state: z.enum(['pending', 'active', 'ended']),
  matchers: z.array(MatcherSchema),
  matchers_text: z.string().describe('the matchers as typed in chat'),
  starts_at: z.string(),
  ends_at: z.string(),
  reason: z.string(),
  created_by: z.string(),
  created_at: z.string(),
  origin: SilenceOriginSchema.nullable(),
  ended_at: z.string().nullable(),
  ended_by: z.string().nullable(),
  end_reason: z.enum(['time', 'hand']).nullable(),
  suppressed_count: z.number().int(),
  last_suppressed_at: z.string().nullable(),
});
export type SilenceView = z.infer<typeof SilenceViewSchema>;
export const SilenceResponseSchema = z.object({ data: SilenceViewSchema });
export const SilenceListResponseSchema = z.object({ data: z.array(SilenceViewSchema) });
