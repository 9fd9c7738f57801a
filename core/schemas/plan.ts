import { z } from 'zod';

/** Actions the Executor knows. Anything else is refused by the plan guard. */
export const STEP_ACTIONS = ['k8s.rollout', 'script.exec', 'gateway.flip', 'github.workflow', 'noop'] as const;
export type StepAction = (typeof STEP_ACTIONS)[number];

/** Upper bounds that keep a plan reviewable by a human at 3 a.m. */
export const PLAN_LIMITS = { maxSteps: 20, maxTimeoutS: 3600, maxTitle: 200 } as const;

/** The fields every step has: what to run, how long it may take, how often to retry. */
export const PlanStepBaseSchema = z.object({
  name: z.string().min(1).max(200).optional(),
  action: z.enum(STEP_ACTIONS),
  params: z.record(z.string(), z.unknown()).default({}),
  timeout_s: z.number().int().min(10).max(PLAN_LIMITS.maxTimeoutS),
  retry: z.number().int().min(0).max(3),
});

export const VERIFY_OPERATORS = ['<', '<=', '>', '>=', '==', '!='] as const;
export type VerifyOperator = (typeof VERIFY_OPERATORS)[number];

/** Caps and defaults of step guards (watched while a step runs and for a settle time after it). */
export const GUARD_LIMITS = {
  maxGuardsPerStep: 5,
  defaultSettleS: 30,
  maxSettleS: 600,
  defaultTripAfter: 2,
  maxTripAfter: 10,
  maxUndoSteps: 5,
  defaultHttpTimeoutMs: 2_000,
  maxHttpTimeoutMs: 10_000,
} as const;

const GuardName = z.string().min(1).max(100).regex(/^[^\n\r]+$/, 'one line').optional();

/** A PromQL guard: the step has made things worse when `query op threshold` no longer holds. */
export const PromqlGuardSchema = z.object({
  name: GuardName,
  kind: z.literal('promql'),
  /** May use `$service`, `$env`, `$window` (rendered like the Verifier's checks). */
  query: z.string().min(1).max(4000),
  op: z.enum(VERIFY_OPERATORS),
  threshold: z.number(),
  /** Substituted for `$window`; default the service's verify window. */
  window: z.string().regex(/^\d+[smhd]$/).optional(),
});
export type PromqlGuard = z.infer<typeof PromqlGuardSchema>;

/** http:// or https:// only, and no credentials in the URL (plans are shown in chat). */
export function guardUrlIssue(text: string): string | null {
  if (!URL.canParse(text)) return 'must be an absolute http:// or https:// URL';
  const url = new URL(text);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `must be http:// or https://, not ${url.protocol}`;
  if (url.username !== '' || url.password !== '') return 'must not carry credentials (user:password@)';
  return null;
}

const HttpStatus = z.number().int().min(100).max(599);

/** Accepted statuses: one code, a list, or an inclusive range "200..299". */
export const ExpectStatusSchema = z.union([
  HttpStatus,
  z.array(HttpStatus).min(1).max(20),
  z.string().regex(/^[1-5]\d\d\.\.[1-5]\d\d$/, 'a range like 200..299').refine((r) => Number(r.slice(0, 3)) <= Number(r.slice(5)), 'the range must run upwards'),
]);
export type ExpectStatus = z.infer<typeof ExpectStatusSchema>;

const HttpUrl = z.string().max(2000).superRefine((text, ctx) => {
  const issue = guardUrlIssue(text);
  if (issue) ctx.addIssue({ code: 'custom', message: issue });
});

/** An HTTP probe guard: a GET whose status (and latency) must stay acceptable. */
export const HttpGuardSchema = z.object({
  name: GuardName,
  kind: z.literal('http'),
  url: HttpUrl,
  /** Acceptable status codes; default any of 200..399 (redirects are not followed). */
  expect_status: ExpectStatusSchema.optional(),
  /** Per probe; default 2000 ms. A probe with no answer in time fails. */
  timeout_ms: z.number().int().min(100).max(GUARD_LIMITS.maxHttpTimeoutMs).optional(),
  /** A slower answer fails the probe. */
  max_latency_ms: z.number().int().min(1).max(GUARD_LIMITS.maxHttpTimeoutMs).optional(),
});
export type HttpGuard = z.infer<typeof HttpGuardSchema>;

/** One SLO check: a PromQL instant query compared with a threshold (`kind` may be left out). */
export const PromqlCheckSchema = z.object({
  name: z.string().min(1).max(200).optional(),
  kind: z.literal('promql').optional(),
  query: z.string().min(1).max(4000),
  op: z.enum(VERIFY_OPERATORS),
  threshold: z.number(),
  /** Range the query is meant to cover, e.g. "5m"; informative, substituted for `$window` in the query. */
  window: z.string().regex(/^\d+[smhd]$/).optional(),
});
export type PromqlCheck = z.infer<typeof PromqlCheckSchema>;

/** Caps and defaults of HTTP probe checks (the Verifier's blackbox probe). */
export const PROBE_LIMITS = { defaultProbes: 5, maxProbes: 20, defaultIntervalMs: 200, maxIntervalMs: 5_000, defaultPercentile: 95, maxBodyMatch: 500 } as const;

/**
 * An HTTP probe check, like Prometheus' blackbox exporter: `probes` GETs of `url`, `interval_ms`
 * apart; it passes when at least `min_success_ratio` of them answer an accepted status (and match
 * `body_match`), and the `latency_percentile` of their latencies is within `max_latency_ms`.
 * Needs no Prometheus.
 */
export const HttpProbeCheckSchema = z.object({
  name: z.string().min(1).max(200).optional(),
  kind: z.literal('http'),
  url: HttpUrl,
  probes: z.number().int().min(1).max(PROBE_LIMITS.maxProbes).optional(),
  interval_ms: z.number().int().min(0).max(PROBE_LIMITS.maxIntervalMs).optional(),
  expect_status: ExpectStatusSchema.optional(),
  timeout_ms: z.number().int().min(100).max(GUARD_LIMITS.maxHttpTimeoutMs).optional(),
  /** Which percentile of the probes' latencies `max_latency_ms` bounds; default 95. */
  latency_percentile: z.number().min(1).max(100).optional(),
  max_latency_ms: z.number().int().min(1).max(GUARD_LIMITS.maxHttpTimeoutMs).optional(),
  /** A regular expression every successful answer's body must match. */
  body_match: z.string().min(1).max(PROBE_LIMITS.maxBodyMatch).superRefine((text, ctx) => {
    try { new RegExp(text); } catch (err) { ctx.addIssue({ code: 'custom', message: `not a regular expression: ${(err as Error).message}` }); }
  }).optional(),
  /** The share of probes that must succeed; default 1 (all). */
  min_success_ratio: z.number().min(0).max(1).optional(),
});
export type HttpProbeCheck = z.infer<typeof HttpProbeCheckSchema>;

/** A verify check: PromQL (the default kind) or an HTTP probe. */
export const VerifyCheckSchema = z.discriminatedUnion('kind', [HttpProbeCheckSchema, PromqlCheckSchema]);
export type VerifyCheck = z.infer<typeof VerifyCheckSchema>;

/** Whether a check is an HTTP probe (otherwise it is PromQL). */
export function isHttpProbeCheck(check: VerifyCheck): check is HttpProbeCheck {
  return check.kind === 'http';
}

/** What a check measures, in one line: its query, or "GET <url>". */
export function checkTarget(check: VerifyCheck): string {
  return isHttpProbeCheck(check) ? `GET ${check.url}` : check.query;
}

export const VerifySpecSchema = z.object({
  /** Seconds to wait after execution before measuring. */
  settle_s: z.number().int().min(0).max(3600).optional(),
  checks: z.array(VerifyCheckSchema).max(20).optional(),
});
export type VerifySpec = z.infer<typeof VerifySpecSchema>;

export const StepGuardSchema = z.discriminatedUnion('kind', [PromqlGuardSchema, HttpGuardSchema]);
export type StepGuard = z.infer<typeof StepGuardSchema>;

const GUARD_KEYS = ['guards', 'guard_settle_s', 'trip_after', 'undo'] as const;

/** An undo or rollback step: a plain step; guards or a nested undo are refused, not dropped. */
export const UndoStepSchema = z.preprocess((raw, ctx) => {
  if (raw !== null && typeof raw === 'object') {
    for (const key of GUARD_KEYS) {
      if (key in raw) ctx.addIssue({ code: 'custom', path: [key], message: 'undo and rollback steps cannot carry guards or undo steps of their own', input: raw });
    }
  }
  return raw;
}, PlanStepBaseSchema);
export type UndoStep = z.infer<typeof PlanStepBaseSchema>;

/**
 * A plan step. With `guards`, the Executor watches them while the step runs and for
 * `guard_settle_s` after; `trip_after` consecutive failing polls of one guard trip it, and then
 * the step is stopped and its `undo` steps (or, without any, the plan's rollback) run.
 */
export const PlanStepSchema = PlanStepBaseSchema.extend({
  guards: z.array(StepGuardSchema).min(1).max(GUARD_LIMITS.maxGuardsPerStep).optional(),
  /** Seconds to keep watching after the step returned (default 30). */
  guard_settle_s: z.number().int().min(0).max(GUARD_LIMITS.maxSettleS).optional(),
  /** Consecutive failing polls of one guard that trip it (default 2). */
  trip_after: z.number().int().min(1).max(GUARD_LIMITS.maxTripAfter).optional(),
  /** What puts this step's change back when one of its guards trips. */
  undo: z.array(UndoStepSchema).min(1).max(GUARD_LIMITS.maxUndoSteps).optional(),
});
export type PlanStep = z.infer<typeof PlanStepSchema>;

export const RollbackSpecSchema = z.object({
  steps: z.array(UndoStepSchema).max(PLAN_LIMITS.maxSteps).optional(),
  note: z.string().max(2000).optional(),
});
export type RollbackSpec = z.infer<typeof RollbackSpecSchema>;

/** The ChangePlan contract: what the Planner proposes, the guard checks and the Executor runs. */
export const ChangePlanSchema = z.object({
  title: z.string().min(1).max(PLAN_LIMITS.maxTitle),
  risk_score: z.number().min(0).max(1).optional(),
  steps: z.array(PlanStepSchema).min(1).max(PLAN_LIMITS.maxSteps),
  rollback: RollbackSpecSchema,
  verify: VerifySpecSchema,
  /** Name of the template the plan came from, when it came from one. */
  template: z.string().max(200).optional(),
  notes: z.array(z.string().max(2000)).max(20).optional(),
  runbook_refs: z.array(z.string().max(500)).max(20).optional(),
});
export type ChangePlan = z.infer<typeof ChangePlanSchema>;

/** JSON Schema (2020-12) generated from the same zod schema the guard uses. */
export function changePlanJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(ChangePlanSchema, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>;
}
