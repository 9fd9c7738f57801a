import { z } from 'zod';
import { CASE_EVENTS, CASE_STATUSES } from '../fsm/states.js';

export const SEVERITIES = [1, 2, 3, 4] as const;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Body of POST /case/create (and what `/ops open` produces). */
export const CreateCaseInputSchema = z.object({
  title: z.string().trim().min(1, 'title must not be empty').max(200),
  tenant: z.string().trim().min(1).max(100).default('default'),
  severity: z.number().int().min(1).max(4).default(3),
  service: z.string().regex(NAME, 'service must be a name like checkout-api').optional(),
  env: z.string().regex(NAME, 'env must be a name like prod').optional(),
  /** Who opened the case (chat user id or e-mail); the 4-eyes rule compares approvers with it. */
  requester: z.string().min(1).max(200).optional(),
  /** Free labels (alert labels, chat channel, …). */
  labels: z.record(z.string(), z.string().max(500)).optional(),
}).strict();
export type CreateCaseInput = z.input<typeof CreateCaseInputSchema>;
export type CreateCase = z.output<typeof CreateCaseInputSchema>;

/** Body of PATCH /case/{id}/transition. */
export const TransitionInputSchema = z.object({
  event: z.enum(CASE_EVENTS),
  actor: z.string().trim().min(1, 'actor must not be empty').max(200),
  reason: z.string().max(2000).optional(),
  meta: z.record(z.string(), z.unknown()).optional(),
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
