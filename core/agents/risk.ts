import type { ChangePlan, PlanStep } from '../schemas/plan.js';
import type { InventoryTarget } from './inventory.js';

/**
 * Deterministic risk of a change plan, computed from what the plan does and where (the service
 * inventory's entry), never from what the plan or the model says about itself. Pure.
 *
 * risk = the riskiest changing step (by action)
 *      + an environment bump (production, or a target the inventory does not know)
 *      + a blast-radius bump per extra changing step
 * at most 0.45 + 0.25 + 0.1 = 0.8: computed risk alone asks for a human (above the usual
 * auto-approve limit) but never rejects at the default limit. A plan's declared `risk_score` (LLM or template) may only raise it: the effective
 * risk is max(computed, declared).
 */

export interface RiskAssessment {
  /** Computed from the plan and the inventory. */
  computed: number;
  /** The plan's own `risk_score`, if it has one. */
  declared: number | undefined;
  /** max(computed, declared): what the policy's thresholds see. */
  effective: number;
  /** Plain English: why the computed risk is what it is, and which number won. */
  explanation: string;
}

const PROD_ENV = /^(prod|production|prod-.*|.*-prod)$/i;

/** Is this env production (or unknown, which is treated as production)? */
export function isProductionEnv(env: string | undefined): boolean {
  return env === undefined || PROD_ENV.test(env);
}

/** Base risk of one step, by action and operation. */
export function stepRisk(step: PlanStep): number {
  const p = step.params ?? {};
  switch (step.action) {
    case 'noop':
      return 0;
    case 'script.exec': {
      const script = typeof p.script === 'string' ? p.script : '';
      return /^db-|migrat/i.test(script) ? 0.45 : 0.1;
    }
    case 'k8s.rollout': {
      const op = typeof p.operation === 'string' ? p.operation : '';
      if (op === 'restart') return 0.2;
      if (op === 'undo') return 0.4;
      return 0.35;
    }
    case 'gateway.flip':
      return 0.35;
    case 'github.workflow':
      return 0.45;
    default:
      return 0.45;
  }
}

export const ENV_BUMP = 0.25;
export const EXTRA_STEP_BUMP = 0.05;
export const MAX_EXTRA_STEPS_BUMP = 0.1;

const round = (n: number) => Math.round(n * 100) / 100;

/** Compute the plan's risk against its inventory target (`null`: the service is not in the inventory). */
export function computeRisk(plan: ChangePlan, target: InventoryTarget | null): RiskAssessment {
  const changing = plan.steps.filter((s) => s.action !== 'noop');
  const parts: string[] = [];
  let computed = 0;
  if (changing.length > 0) {
    const worst = changing.reduce((a, s) => (stepRisk(s) > stepRisk(a) ? s : a));
    computed = stepRisk(worst);
    parts.push(`riskiest step ${worst.action} ${computed}`);
    const env = target?.env;
    if (isProductionEnv(env)) {
      computed += ENV_BUMP;
      parts.push(target === null ? `+${ENV_BUMP} for a service the inventory does not list` : env === undefined ? `+${ENV_BUMP} for a target with no env in the inventory` : `+${ENV_BUMP} for env ${env}`);
    }
    if (changing.length > 1) {
      const extra = Math.min(MAX_EXTRA_STEPS_BUMP, EXTRA_STEP_BUMP * (changing.length - 1));
      computed += extra;
      parts.push(`+${round(extra)} for ${changing.length} changing steps`);
    }
  } else {
    parts.push('no step changes anything');
  }
  computed = round(Math.min(1, computed));
  const declared = plan.risk_score;
  const effective = declared === undefined ? computed : Math.max(computed, declared);
  const which = declared === undefined ? 'the plan declares none'
    : declared > computed ? `the plan declares ${declared}, which raises it`
    : declared < computed ? `the plan declares ${declared}, which cannot lower it`
    : `the plan declares the same`;
  return {
    computed, declared, effective,
    explanation: `computed risk ${computed} (${parts.join(', ')}); ${which}; effective risk ${effective}`,
  };
}
