import { z } from 'zod';
import { ERRORS, type OpsErrorCode } from '../errors.js';
import { CASE_EVENTS, CASE_STATUSES } from '../fsm/states.js';
import { TIMELINE_KINDS } from './case.js';

/**
 * Shapes of the REST API that are not commands: path parameters, query strings, headers and
 * response bodies. The command bodies live in case.ts. The OpenAPI document is generated
 * from these, so the docs and the validation cannot drift apart.
 */

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export const CaseIdParamsSchema = z.object({
  id: z.string().regex(UUID, 'must be a case id (UUID)'),
});

export const ListCasesQuerySchema = z.object({
  status: z.enum(CASE_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

/** Idempotency keys: printable ASCII, no spaces, 1-200 characters. */
export const IdempotencyKeySchema = z.string().regex(/^[\x21-\x7e]{1,200}$/, 'must be 1-200 printable characters without spaces');

export const WriteHeadersSchema = z.object({
  'idempotency-key': IdempotencyKeySchema.describe('Required on every write. A repeat with the same body replays the first answer (header Idempotent-Replayed: true); with a different body → 422.'),
  'x-trace-id': z.string().max(100).optional().describe('Trace id written to the timeline (else taken from traceparent, else generated).'),
});

export const TransitionHeadersSchema = WriteHeadersSchema.extend({
  'if-match': z.string().optional().describe('Expected case version: 3, "3" or W/"3". Mismatch → 412.'),
});

/**
 * Parse an If-Match header into a case version. Accepts `3`, `"3"`, `W/"3"`; `*` means any
 * version (returns null). Returns undefined when the header is not a version.
 */
export function parseIfMatch(header: string): number | null | undefined {
  const text = header.trim();
  if (text === '*') return null;
  const m = /^(?:W\/)?"?([0-9]{1,9})"?$/.exec(text);
  if (!m || !m[1]) return undefined;
  const version = Number(m[1]);
  return version >= 1 ? version : undefined;
}

export const CaseViewSchema = z.object({
  case_id: z.string(),
  tenant: z.string(),
  title: z.string(),
  severity: z.number().int(),
  service: z.string().nullable(),
  env: z.string().nullable(),
  requester: z.string().nullable(),
  labels: z.record(z.string(), z.string()),
  status: z.enum(CASE_STATUSES),
  version: z.number().int(),
  plan_id: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});

export const TransitionResultSchema = CaseViewSchema.extend({
  previous_status: z.enum(CASE_STATUSES),
  event: z.enum(CASE_EVENTS),
  timeline_id: z.number().int(),
});

export const TimelineEntryViewSchema = z.object({
  id: z.number().int(),
  case_id: z.string(),
  kind: z.enum(TIMELINE_KINDS),
  event: z.string(),
  actor: z.string(),
  reason: z.string().nullable(),
  correlation_id: z.string().nullable(),
  trace_id: z.string().nullable(),
  from_status: z.string().nullable(),
  to_status: z.string().nullable(),
  version: z.number().int(),
  meta: z.record(z.string(), z.unknown()),
  created_at: z.string(),
});

export const ErrorBodySchema = z.object({
  error: z.object({
    code: z.enum(Object.keys(ERRORS) as [OpsErrorCode, ...OpsErrorCode[]]),
    message: z.string(),
    details: z.unknown().describe('null, a list of {path, message} for validation errors, or an object with context'),
  }),
});

export const HealthSchema = z.object({
  status: z.literal('ok'),
  store: z.string(),
  outbox_backlog: z.number().int(),
});

export const dataOf = <T extends z.ZodType>(schema: T) => z.object({ data: schema });
