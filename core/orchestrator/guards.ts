import { ChangePlanSchema, type ChangePlan } from '../schemas/plan.js';
import { toFieldIssues, type FieldIssue } from '../schemas/issues.js';
import type { CaseEvent } from '../fsm/states.js';

export type GuardResult =
  | { ok: true; plan?: ChangePlan }
  | { ok: false; guard: string; reason: string; issues: FieldIssue[] };

/** plan_ready needs a complete ChangePlan in `meta.plan`. Pure. */
export function planCompleteGuard(meta: Record<string, unknown>): GuardResult {
  if (meta.plan === undefined || meta.plan === null) {
    return { ok: false, guard: 'plan_complete', reason: 'plan_ready needs a ChangePlan in meta.plan', issues: [{ path: 'meta.plan', message: 'required' }] };
  }
  const parsed = ChangePlanSchema.safeParse(meta.plan);
  if (!parsed.success) {
    const issues = toFieldIssues(parsed.error).map((i) => ({ ...i, path: `meta.plan.${i.path}` }));
    return { ok: false, guard: 'plan_complete', reason: 'the plan is incomplete or invalid', issues };
  }
  return { ok: true, plan: parsed.data };
}

/** Guards by event; events without a guard pass. Pure. */
export function runGuards(event: CaseEvent, meta: Record<string, unknown>): GuardResult {
  if (event === 'plan_ready') return planCompleteGuard(meta);
  return { ok: true };
}
