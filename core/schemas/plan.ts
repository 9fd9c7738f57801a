import { z } from 'zod';

/** Actions the Executor knows. Anything else is refused by the plan guard. */
export const STEP_ACTIONS = ['k8s.rollout', 'script.exec', 'gateway.flip', 'github.workflow', 'noop'] as const;
export type StepAction = (typeof STEP_ACTIONS)[number];

/** Upper bounds that keep a plan reviewable by a human at 3 a.m. */
export const PLAN_LIMITS = { maxSteps: 20, maxTimeoutS: 3600, maxTitle: 200 } as const;

export const PlanStepSchema = z.object({
  name: z.string().min(1).max(200).optional(),
  action: z.enum(STEP_ACTIONS),
  params: z.record(z.string(), z.unknown()).default({}),
  timeout_s: z.number().int().min(10).max(PLAN_LIMITS.maxTimeoutS),
  retry: z.number().int().min(0).max(3),
});
export type PlanStep = z.infer<typeof PlanStepSchema>;

export const VERIFY_OPERATORS = ['<', '<=', '>', '>=', '==', '!='] as const;
export type VerifyOperator = (typeof VERIFY_OPERATORS)[number];

/** One SLO check: a PromQL instant query compared with a threshold. */
export const VerifyCheckSchema = z.object({
  name: z.string().min(1).max(200).optional(),
  query: z.string().min(1).max(4000),
  op: z.enum(VERIFY_OPERATORS),
  threshold: z.number(),
  /** Range the query is meant to cover, e.g. "5m"; informative, substituted for `$window` in the query. */
  window: z.string().regex(/^\d+[smhd]$/).optional(),
});
export type VerifyCheck = z.infer<typeof VerifyCheckSchema>;

export const VerifySpecSchema = z.object({
  /** Seconds to wait after execution before measuring. */
  settle_s: z.number().int().min(0).max(3600).optional(),
  checks: z.array(VerifyCheckSchema).max(20).optional(),
});
export type VerifySpec = z.infer<typeof VerifySpecSchema>;

export const RollbackSpecSchema = z.object({
  steps: z.array(PlanStepSchema).max(PLAN_LIMITS.maxSteps).optional(),
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
