import type { ChangePlan, PlanStep } from '../schemas/plan.js';
import type { InventoryTarget } from './inventory.js';
import { computeRisk, type RiskAssessment } from './risk.js';
import type { GateApprovers } from './approvers.js';
import { inFreeze, insideWindow, pad, wallClock } from './gate-clock.js';
import { GATE_DECISIONS, type ApproverGroup, type ChangeWindow, type Freeze, type GateDecision, type Policy, type TargetMatch } from './policy-schema.js';

/**
 * The Gatekeeper: a pure, deterministic function from (policy, plan, case, time) to a decision.
 * No LLM, no I/O; time comes in as `now`. The most restrictive outcome wins
 * (reject > needs_human > approve) and every rule that fired is listed in plain English.
 */

export type { GateDecision } from './policy-schema.js';
export type { InventoryTarget } from './inventory.js';
export type { RiskAssessment } from './risk.js';

/** The case facts the policy looks at. */
export interface GateCase {
  service: string | null | undefined;
  env: string | null | undefined;
  severity: number | null | undefined;
  requester: string | null | undefined;
  labels: Record<string, string> | null | undefined;
}

export interface GateInput {
  plan: ChangePlan;
  /** The case as opened. Its `env` is what the requester declared: shown, never trusted. */
  case: GateCase;
  /**
   * The service inventory's entry for the case's service (config/services.yml): the only source
   * of a target's env and namespace. `null` when the inventory does not list the service; such a
   * target is gated as production (a changing step always needs a human).
   */
  inventory: InventoryTarget | null;
  now: Date;
}

export interface GateResult {
  decision: GateDecision;
  /** One plain-English line per rule that fired, most restrictive first. */
  reasons: string[];
  /** Names of the rules that fired: rule names, `risk:…`, `window:…`, `freeze:…`, `dangerous:…`, `default`. */
  matched_rules: string[];
  approvers: GateApprovers;
  /** The risk the thresholds used: computed from the plan and the inventory, raised (never lowered) by the plan's own score. */
  risk: RiskAssessment;
}

interface Contribution {
  decision: GateDecision;
  rule: string;
  reason: string;
  approvers?: string[];
  /** Informational (e.g. the risk was within limits): shown in reasons, not listed in matched_rules. */
  note?: boolean;
}

interface StepRef {
  step: PlanStep;
  where: 'steps' | 'rollback';
  label: string;
}

interface Target {
  service: string | undefined;
  env: string | undefined;
  namespace: string | undefined;
}

const RANK: Record<GateDecision, number> = { approve: 0, needs_human: 1, reject: 2 };
const SAYS: Record<GateDecision, string> = { approve: 'auto-approve', needs_human: 'needs a human', reject: 'reject' };

/** Evaluate the policy for a plan. Pure and deterministic. */
export function evaluatePolicy(policy: Policy, input: GateInput): GateResult {
  const steps = stepRefs(input.plan);
  const risk = computeRisk(input.plan, input.inventory);
  const contributions: Contribution[] = [
    ...inventoryContributions(input, steps),
    ...ruleContributions(policy, input, steps, risk.effective),
    ...dangerousContributions(policy, steps),
    ...riskContributions(policy, risk),
    ...windowContributions(policy.change_windows, input, steps),
    ...freezeContributions(policy.freezes, input, steps),
  ];
  const ordered = [...contributions].sort((a, b) => RANK[b.decision] - RANK[a.decision]);
  const decision = ordered.reduce<GateDecision>((worst, c) => (RANK[c.decision] > RANK[worst] ? c.decision : worst), 'approve');
  return {
    decision,
    reasons: ordered.map((c) => c.reason),
    matched_rules: unique(ordered.filter((c) => !c.note).map((c) => c.rule)),
    approvers: approversFor(policy, ordered),
    risk,
  };
}

function stepRefs(plan: ChangePlan): StepRef[] {
  const main = plan.steps.map((step, i) => ({ step, where: 'steps' as const, label: `step ${i + 1} (${step.action})` }));
  const rollback = (plan.rollback.steps ?? []).map((step, i) => ({ step, where: 'rollback' as const, label: `rollback step ${i + 1} (${step.action})` }));
  return [...main, ...rollback];
}

/**
 * What a step acts on, for matching. env and namespace come from the inventory, never from the
 * case (the requester) or the plan; a service the inventory does not list has no env, so no
 * env-scoped rule (an auto-approve one in particular) can match it. Its namespace is the step's own.
 */
function targetOf(ref: StepRef, input: GateInput): Target {
  const ns = ref.step.params?.namespace;
  const inv = input.inventory;
  return {
    service: inv?.service ?? undefined,
    env: inv?.env,
    namespace: inv?.namespace ?? (typeof ns === 'string' ? ns : undefined),
  };
}

const CHANGES = (s: StepRef) => s.step.action !== 'noop';

/**
 * The inventory's say: the declared env is checked against it (a mismatch is written down, and
 * the gate follows the inventory); a service it does not list, or lists without an env, is gated
 * as production; a step aimed at another namespace/deployment than the service's needs a human.
 */
function inventoryContributions(input: GateInput, steps: StepRef[]): Contribution[] {
  const out: Contribution[] = [];
  const inv = input.inventory;
  const declared = input.case.env ?? undefined;
  const service = input.case.service ?? '(none)';
  const changing = steps.filter(CHANGES);
  if (inv === null) {
    if (changing.length > 0) {
      out.push({
        decision: 'needs_human', rule: 'inventory:unknown-service',
        reason: `service ${service} is not in the service inventory (config/services.yml), so its env${declared ? ` (declared ${declared})` : ''} cannot be trusted and it is gated as production: needs a human`,
      });
    }
    return out;
  }
  if (inv.env === undefined) {
    if (changing.length > 0) {
      out.push({ decision: 'needs_human', rule: 'inventory:no-env', reason: `the service inventory gives no env for ${inv.service}, so it is gated as production: needs a human` });
    }
  } else if (declared !== undefined && declared !== inv.env) {
    // Not a restriction by itself: the inventory's env already decides every env-scoped rule.
    out.push({ decision: 'approve', rule: 'inventory:env-mismatch', reason: `declared env ${declared}, inventory says ${inv.env}: gated as ${inv.env}` });
  }
  for (const ref of changing) {
    const p = ref.step.params ?? {};
    for (const key of ['namespace', 'deployment'] as const) {
      const want = inv[key];
      const got = p[key];
      if (want === undefined || typeof got !== 'string' || got === want) continue;
      out.push({
        decision: 'needs_human', rule: `inventory:${key}-mismatch`,
        reason: `${ref.label} targets ${key} ${got}, but the inventory says ${inv.service} is ${key} ${want}: needs a human`,
      });
    }
  }
  return out;
}

/** Rules: each rule is tried on every step; a step no rule matches gets the default decision. */
function ruleContributions(policy: Policy, input: GateInput, steps: StepRef[], risk: number): Contribution[] {
  const out: Contribution[] = [];
  const covered = new Set<StepRef>();
  for (const rule of policy.rules) {
    const m = rule.match;
    if (!riskMatches(m.risk_min, m.risk_max, risk)) continue;
    if (m.severities && !m.severities.includes(input.case.severity ?? -1)) continue;
    const hit = steps.filter((s) => stepMatches(m, s) && targetMatches(m.targets, targetOf(s, input)));
    if (hit.length === 0) continue;
    hit.forEach((s) => covered.add(s));
    const isStepRule = m.actions !== undefined || m.params !== undefined || m.in !== undefined;
    const where = isStepRule ? `; ${hit.map((s) => s.label).join(', ')}` : '';
    out.push({ decision: rule.decision, rule: rule.name, reason: `${rule.reason} (rule "${rule.name}": ${SAYS[rule.decision]}${where})`, ...(rule.approvers ? { approvers: rule.approvers } : {}) });
  }
  const uncovered = steps.filter((s) => !covered.has(s));
  if (uncovered.length > 0) {
    const d = policy.default_decision;
    out.push({ decision: d, rule: 'default', reason: `no rule covers ${uncovered.map((s) => s.label).join(', ')}, so the default applies: ${SAYS[d]}` });
  }
  return out;
}

function dangerousContributions(policy: Policy, steps: StepRef[]): Contribution[] {
  const out: Contribution[] = [];
  for (const op of policy.dangerous_operations) {
    const hit = steps.filter((s) => stepMatches(op.match, s));
    if (hit.length === 0) continue;
    out.push({
      decision: op.decision,
      rule: `dangerous:${op.name}`,
      reason: `dangerous operation: ${op.reason} (${hit.map((s) => s.label).join(', ')}): ${SAYS[op.decision]}`,
      ...(op.approvers ? { approvers: op.approvers } : {}),
    });
  }
  return out;
}

/** Thresholds apply to the effective risk (computed, raised by a higher declared score); the reason says both. */
function riskContributions(policy: Policy, risk: RiskAssessment): Contribution[] {
  const r = policy.risk;
  const out: Contribution[] = [];
  if (risk.declared === undefined && r.when_missing !== 'ignore') {
    out.push({ decision: r.when_missing, rule: 'risk:missing', reason: `the plan declares no risk score: ${SAYS[r.when_missing]}` });
  }
  const e = risk.effective;
  if (e > r.reject_above) {
    out.push({ decision: 'reject', rule: 'risk:reject_above', reason: `risk score ${e} is above the rejection limit ${r.reject_above} (${risk.explanation}): reject` });
  } else if (e > r.auto_approve_max) {
    out.push({ decision: 'needs_human', rule: 'risk:auto_approve_max', reason: `risk score ${e} is above the auto-approve limit ${r.auto_approve_max} (${risk.explanation}): needs a human` });
  } else {
    out.push({ decision: 'approve', rule: 'risk:within_limit', note: true, reason: `risk score ${e} is within the auto-approve limit ${r.auto_approve_max} (${risk.explanation})` });
  }
  return out;
}

function windowContributions(windows: ChangeWindow[], input: GateInput, steps: StepRef[]): Contribution[] {
  const out: Contribution[] = [];
  for (const w of windows) {
    if (!steps.some((s) => appliesTo(w, s, input))) continue;
    const local = wallClock(input.now, w.time_zone);
    if (insideWindow(w, local)) continue;
    const slots = w.slots.map((s) => `${s.days.map(capitalise).join(',')} ${s.start}-${s.end}`).join('; ');
    out.push({
      decision: w.outside,
      rule: `window:${w.name}`,
      reason: `outside change window "${w.name}" (${slots} ${w.time_zone}); it is ${capitalise(local.weekday)} ${local.date} ${pad(local.hour)}:${pad(local.minute)} there: ${SAYS[w.outside]}`,
      ...(w.approvers ? { approvers: w.approvers } : {}),
    });
  }
  return out;
}

function freezeContributions(freezes: Freeze[], input: GateInput, steps: StepRef[]): Contribution[] {
  const out: Contribution[] = [];
  for (const f of freezes) {
    if (!steps.some((s) => appliesTo(f, s, input))) continue;
    if (!inFreeze(f, input.now)) continue;
    const why = f.reason ? `: ${f.reason}` : '';
    out.push({
      decision: f.decision,
      rule: `freeze:${f.name}`,
      reason: `change freeze "${f.name}" (${f.from} to ${f.to}, ${f.time_zone}) is in force${why}: ${SAYS[f.decision]}`,
      ...(f.approvers ? { approvers: f.approvers } : {}),
    });
  }
  return out;
}

function approversFor(policy: Policy, contributions: Contribution[]): GateApprovers {
  const named = unique(contributions.filter((c) => c.decision === 'needs_human').flatMap((c) => c.approvers ?? []));
  const groups: ApproverGroup[] = (named.length ? named : ['default']).map((n) => policy.approvers[n]).filter((g): g is ApproverGroup => g !== undefined);
  const merge = (key: 'slack_users' | 'slack_groups' | 'discord_roles' | 'users' | 'sim_users') => unique(groups.flatMap((g) => g[key]));
  const minApprovals = Math.max(1, ...groups.map((g) => g.min_approvals ?? 1));
  return {
    slack_users: merge('slack_users'), slack_groups: merge('slack_groups'), discord_roles: merge('discord_roles'), users: merge('users'), sim_users: merge('sim_users'),
    ...(minApprovals > 1 ? { min_approvals: minApprovals } : {}),
  };
}

// ---- matching ------------------------------------------------------------------------------

function riskMatches(min: number | undefined, max: number | undefined, risk: number | undefined): boolean {
  if (min === undefined && max === undefined) return true;
  if (risk === undefined) return false;
  return (min === undefined || risk >= min) && (max === undefined || risk <= max);
}

function stepMatches(m: { actions?: string[]; params?: Record<string, string[]>; in?: 'steps' | 'rollback' | 'any' }, ref: StepRef): boolean {
  if (m.in && m.in !== 'any' && m.in !== ref.where) return false;
  if (m.actions && !globsMatch(m.actions, ref.step.action)) return false;
  for (const [key, globs] of Object.entries(m.params ?? {})) {
    const value = ref.step.params?.[key];
    if (value === undefined || value === null || typeof value === 'object') return false;
    if (!globsMatch(globs, String(value))) return false;
  }
  return true;
}

function targetMatches(t: TargetMatch | undefined, target: Target): boolean {
  if (!t) return true;
  const field = (globs: string[] | undefined, value: string | undefined) => globs === undefined || (value !== undefined && globsMatch(globs, value));
  return field(t.service, target.service) && field(t.env, target.env) && field(t.namespace, target.namespace);
}

/** Windows and freezes: does the entry's target/action scope include this step? */
function appliesTo(entry: { targets?: TargetMatch | undefined; actions?: string[] | undefined }, ref: StepRef, input: GateInput): boolean {
  if (entry.actions && !globsMatch(entry.actions, ref.step.action)) return false;
  return targetMatches(entry.targets, targetOf(ref, input));
}

/** `*` matches any run of characters, `?` one character; everything else literally. Case-sensitive. */
export function globMatch(glob: string, value: string): boolean {
  const pattern = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${pattern}$`, 's').test(value);
}

function globsMatch(globs: readonly string[], value: string): boolean {
  return globs.some((g) => globMatch(g, value));
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}

/** All decisions, most permissive first (for UIs and tests). */
export const DECISIONS_BY_RESTRICTIVENESS: readonly GateDecision[] = GATE_DECISIONS;
