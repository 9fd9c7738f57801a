import { z } from 'zod';
import { CASE_EVENTS, CASE_STATUSES } from '../fsm/states.js';

export const SEVERITIES = [1, 2, 3, 4] as const;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/**
 * Per-field size limits of what a caller may write (issue 11: the body limit alone let 50
 * requests of large labels grow the database by hundreds of MB). Sizes are of the JSON text.
 */
export const FIELD_LIMITS = {
  titleChars: 200,
  labelCount: 50,
  labelKeyChars: 100,
  labelValueChars: 500,
  labelsBytes: 8 * 1024,
  reasonChars: 2000,
  metaBytes: 16 * 1024,
  planBytes: 64 * 1024,
} as const;

/** Bytes of `value` serialised as JSON (UTF-8). */
export function jsonBytes(value: unknown): number {
  const text = JSON.stringify(value);
  return text === undefined ? 0 : new TextEncoder().encode(text).length;
}

const kib = (bytes: number) => `${bytes / 1024} KiB`;

/** Free labels: at most 50, keys ≤ 100 and values ≤ 500 characters, ≤ 8 KiB as JSON. */
export const LabelsSchema = z.record(
  z.string(),
  z.string().max(FIELD_LIMITS.labelValueChars, `label values must be at most ${FIELD_LIMITS.labelValueChars} characters`),
).superRefine((labels, ctx) => {
  const keys = Object.keys(labels);
  if (keys.length > FIELD_LIMITS.labelCount) {
    ctx.addIssue({ code: 'custom', message: `at most ${FIELD_LIMITS.labelCount} labels, got ${keys.length}` });
    return;
  }
  const badKey = keys.find((k) => k.length === 0 || k.length > FIELD_LIMITS.labelKeyChars);
  if (badKey !== undefined) {
    ctx.addIssue({ code: 'custom', message: `label keys must be 1-${FIELD_LIMITS.labelKeyChars} characters, got one of ${badKey.length}` });
    return;
  }
  const bytes = jsonBytes(labels);
  if (bytes > FIELD_LIMITS.labelsBytes) ctx.addIssue({ code: 'custom', message: `at most ${kib(FIELD_LIMITS.labelsBytes)} as JSON, got ${bytes} bytes` });
});

/** A transition's meta: ≤ 16 KiB as JSON, except `meta.plan`, which may take up to 64 KiB. */
export const TransitionMetaSchema = z.record(z.string(), z.unknown()).superRefine((meta, ctx) => {
  const { plan, ...rest } = meta;
  if (plan !== undefined) {
    const planBytes = jsonBytes(plan);
    if (planBytes > FIELD_LIMITS.planBytes) {
      ctx.addIssue({ code: 'custom', path: ['plan'], message: `at most ${kib(FIELD_LIMITS.planBytes)} as JSON, got ${planBytes} bytes` });
    }
  }
  const bytes = jsonBytes(rest);
  if (bytes > FIELD_LIMITS.metaBytes) {
    ctx.addIssue({ code: 'custom', message: `at most ${kib(FIELD_LIMITS.metaBytes)} as JSON besides meta.plan, got ${bytes} bytes` });
  }
});

/** Body of POST /case/create (and what `/ops open` produces). */
export const CreateCaseInputSchema = z.object({
  title: z.string().trim().min(1, 'title must not be empty').max(FIELD_LIMITS.titleChars, `title must be at most ${FIELD_LIMITS.titleChars} characters`),
  tenant: z.string().trim().min(1).max(100).default('default'),
  severity: z.number().int().min(1).max(4).default(3),
  service: z.string().regex(NAME, 'service must be a name like checkout-api').optional(),
  env: z.string().regex(NAME, 'env must be a name like prod').optional(),
  /** Who opened the case (chat user id or e-mail); the 4-eyes rule compares approvers with it. */
  requester: z.string().min(1).max(200).optional(),
  /** Free labels (alert labels, chat channel, …). */
  labels: LabelsSchema.optional(),
}).strict();
export type CreateCaseInput = z.input<typeof CreateCaseInputSchema>;
export type CreateCase = z.output<typeof CreateCaseInputSchema>;

/** Body of PATCH /case/{id}/transition. */
export const TransitionInputSchema = z.object({
  event: z.enum(CASE_EVENTS),
  /** Ignored: the timeline records the authenticated principal (kept so older clients still parse). */
  actor: z.string().trim().min(1, 'actor must not be empty').max(200).optional(),
  /** An admin forcing an agent-only event (exec_done, verify_pass, …); needs a reason. */
  override: z.boolean().optional(),
  reason: z.string().max(FIELD_LIMITS.reasonChars, `reason must be at most ${FIELD_LIMITS.reasonChars} characters`).optional(),
  meta: TransitionMetaSchema.optional(),
  expected_version: z.number().int().min(1).optional(),
  correlation_id: z.string().max(200).optional(),
}).strict();
export type TransitionInput = z.infer<typeof TransitionInputSchema>;

export const CaseStatusSchema = z.enum(CASE_STATUSES);

/** A case as stored. */
export interface CaseRecord {
  id: string;
  tenant: string;
  title: string;
  severity: number;
  service: string | null;
  env: string | null;
  requester: string | null;
  labels: Record<string, string>;
  status: (typeof CASE_STATUSES)[number];
  version: number;
  /** The plan the case is currently working on (set by plan_ready). */
  plan_id: string | null;
  created_at: Date;
  updated_at: Date;
}

export const TIMELINE_KINDS = ['created', 'transition', 'rejected', 'note'] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];

export interface NewTimelineEntry {
  case_id: string;
  kind: TimelineKind;
  /** The FSM event for transitions and rejections, a short name (`evidence`, `step_result`, …) for notes. */
  event: string;
  actor: string;
  reason: string | null;
  correlation_id: string | null;
  trace_id: string | null;
  from_status: string | null;
  to_status: string | null;
  /** Case version after this entry (unchanged for notes and rejections). */
  version: number;
  meta: Record<string, unknown>;
  created_at: Date;
}
export interface TimelineEntry extends NewTimelineEntry {
  id: number;
  /** Hash of the case's previous entry (core/audit/hash-chain.ts); null for the first hashed entry and before the chain. */
  prev_hash?: string | null;
  /** SHA-256 of this entry's canonical JSON plus prev_hash; null on entries written before the chain (migration 0060). */
  hash?: string | null;
}

export interface PlanRecord {
  id: string;
  case_id: string;
  plan: unknown;
  source: string;
  created_at: Date;
}
export interface DecisionRecord {
  id: string;
  case_id: string;
  plan_id: string | null;
  decision: Record<string, unknown>;
  created_at: Date;
}

/** The JSON shape of a case in API answers. */
export function caseView(c: CaseRecord) {
  return {
    case_id: c.id,
    tenant: c.tenant,
    title: c.title,
    severity: c.severity,
    service: c.service,
    env: c.env,
    requester: c.requester,
    labels: c.labels,
    status: c.status,
    version: c.version,
    plan_id: c.plan_id,
    created_at: c.created_at.toISOString(),
    updated_at: c.updated_at.toISOString(),
  };
}
export type CaseView = ReturnType<typeof caseView>;

export function timelineView(e: TimelineEntry) {
  return { ...e, created_at: e.created_at.toISOString() };
}
