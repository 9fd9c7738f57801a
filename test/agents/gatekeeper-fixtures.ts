import type { GateCase, InventoryTarget } from '../../core/agents/gatekeeper.js';
import { PolicySchema, type PolicyInput } from '../../core/agents/policy-schema.js';
import type { ChangePlan, PlanStep } from '../../core/schemas/plan.js';

/** Plans, cases and policies the gatekeeper tests (gatekeeper.test.ts, gatekeeper-policy.test.ts) build. */

export const step = (action: PlanStep['action'], params: Record<string, unknown> = {}): PlanStep => ({ action, params, timeout_s: 60, retry: 0 });
export const plan = (steps: PlanStep[], extra: Partial<ChangePlan> = {}): ChangePlan => ({ title: 'test plan', steps, rollback: { steps: [] }, verify: {}, ...extra });
export const kase = (over: Partial<GateCase> = {}): GateCase => ({ service: 'checkout', env: 'staging', severity: 2, requester: 'U0REQUESTER', labels: {}, ...over });
/** The case as declared plus the inventory entry that agrees with it (a case without env: the inventory gives none). */
export const facts = (over: Partial<GateCase> = {}, inv: Partial<InventoryTarget> = {}): { case: GateCase; inventory: InventoryTarget } => {
  const c = kase(over);
  return { case: c, inventory: { service: c.service ?? 'checkout', env: c.env ?? undefined, ...inv } };
};
export const approvers = { default: { slack_users: ['U0APPROVER'], slack_groups: ['S0ONCALL'], discord_roles: ['R1'], users: ['oncall@example.com'], sim_users: ['sim-approver'] } };
export const policy = (p: Partial<PolicyInput>) => PolicySchema.parse({ version: 1, approvers, ...p });
// Wednesday 2026-11-25 10:00 UTC (11:00 in Berlin, 05:00 in New York).
export const WED_10_UTC = new Date('2026-11-25T10:00:00Z');
