import type { ChangePlan, PlanStep } from '../schemas/plan.js';
import { GATE_DECISIONS, WEEKDAYS, type ApproverGroup, type ChangeWindow, type Freeze, type GateDecision, type Policy, type TargetMatch, type Weekday } from './policy-schema.js';

/**
 * The Gatekeeper: a pure, deterministic function from (policy, plan, case, time) to a decision.
 * No LLM, no I/O; time comes in as `now`. The most restrictive outcome wins
 * (reject > needs_human > approve) and every rule that fired is listed in plain English.
 */

export type { GateDecision } from './policy-schema.js';

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
  case: GateCase;
  now: Date;
}

/** Who may approve: the union of the approver groups the firing rules named (or `default`). */
export type GateApprovers = {
  slack_users: string[];
  slack_groups: string[];
  discord_roles: string[];
  /** REST identities (e.g. e-mail addresses). */
  users: string[];
  /** Users of the local chat simulator. */
  sim_users: string[];
  /** Distinct approvers needed (the largest of the groups asked); absent means 1. */
  min_approvals?: number;
};

export interface GateResult {
  decision: GateDecision;
  /** One plain-English line per rule that fired, most restrictive first. */
  reasons: string[];
  /** Names of the rules that fired: rule names, `risk:…`, `window:…`, `freeze:…`, `dangerous:…`, `default`. */
  matched_rules: string[];
  approvers: GateApprovers;
}

interface Contribution {
  decision: GateDecision;
  rule: string;
  reason: string;
  approvers?: string[];
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
  const contributions: Contribution[] = [
    ...ruleContributions(policy, input, steps),
    ...dangerousContributions(policy, steps),
    ...riskContributions(policy, input.plan.risk_score),
    ...windowContributions(policy.change_windows, input, steps),
    ...freezeContributions(policy.freezes, input, steps),
  ];
  const ordered = [...contributions].sort((a, b) => RANK[b.decision] - RANK[a.decision]);
  const decision = ordered.reduce<GateDecision>((worst, c) => (RANK[c.decision] > RANK[worst] ? c.decision : worst), 'approve');
  return {
    decision,
    reasons: ordered.map((c) => c.reason),
    matched_rules: unique(ordered.map((c) => c.rule)),
    approvers: approversFor(policy, ordered),
  };
}

function stepRefs(plan: ChangePlan): StepRef[] {
  const main = plan.steps.map((step, i) => ({ step, where: 'steps' as const, label: `step ${i + 1} (${step.action})` }));
  const rollback = (plan.rollback.steps ?? []).map((step, i) => ({ step, where: 'rollback' as const, label: `rollback step ${i + 1} (${step.action})` }));
  return [...main, ...rollback];
}

function targetOf(ref: StepRef, c: GateCase): Target {
  const ns = ref.step.params?.namespace;
  return {
    service: c.service ?? undefined,
    env: c.env ?? undefined,
    namespace: typeof ns === 'string' ? ns : c.labels?.namespace,
  };
}

/** Rules: each rule is tried on every step; a step no rule matches gets the default decision. */
function ruleContributions(policy: Policy, input: GateInput, steps: StepRef[]): Contribution[] {
  const out: Contribution[] = [];
  const covered = new Set<StepRef>();
  for (const rule of policy.rules) {
    const m = rule.match;
    if (!riskMatches(m.risk_min, m.risk_max, input.plan.risk_score)) continue;
    if (m.severities && !m.severities.includes(input.case.severity ?? -1)) continue;
    const hit = steps.filter((s) => stepMatches(m, s) && targetMatches(m.targets, targetOf(s, input.case)));
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

function riskContributions(policy: Policy, risk: number | undefined): Contribution[] {
  const r = policy.risk;
  if (risk === undefined) {
    if (r.when_missing === 'ignore') return [];
    return [{ decision: r.when_missing, rule: 'risk:missing', reason: `the plan has no risk score: ${SAYS[r.when_missing]}` }];
  }
  if (risk > r.reject_above) {
    return [{ decision: 'reject', rule: 'risk:reject_above', reason: `risk score ${risk} is above the rejection limit ${r.reject_above}: reject` }];
  }
  if (risk > r.auto_approve_max) {
    return [{ decision: 'needs_human', rule: 'risk:auto_approve_max', reason: `risk score ${risk} is above the auto-approve limit ${r.auto_approve_max}: needs a human` }];
  }
  return [];
}

function windowContributions(windows: ChangeWindow[], input: GateInput, steps: StepRef[]): Contribution[] {
  const out: Contribution[] = [];
  for (const w of windows) {
    if (!steps.some((s) => appliesTo(w, s, input.case))) continue;
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
    if (!steps.some((s) => appliesTo(f, s, input.case))) continue;
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
function appliesTo(entry: { targets?: TargetMatch | undefined; actions?: string[] | undefined }, ref: StepRef, c: GateCase): boolean {
  if (entry.actions && !globsMatch(entry.actions, ref.step.action)) return false;
  return targetMatches(entry.targets, targetOf(ref, c));
}

/** `*` matches any run of characters, `?` one character; everything else literally. Case-sensitive. */
export function globMatch(glob: string, value: string): boolean {
  const pattern = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${pattern}$`, 's').test(value);
}

function globsMatch(globs: readonly string[], value: string): boolean {
  return globs.some((g) => globMatch(g, value));
}

// ---- time ----------------------------------------------------------------------------------

interface WallClock {
  weekday: Weekday;
  /** YYYY-MM-DD */
  date: string;
  hour: number;
  minute: number;
  second: number;
}

/** The wall-clock time at `now` in an IANA zone (Intl, no I/O). */
export function wallClock(now: Date, timeZone: string): WallClock {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone, weekday: 'short', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  }).formatToParts(now);
  const get = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  const weekday = get('weekday').slice(0, 3).toLowerCase() as Weekday;
  return { weekday, date: `${get('year')}-${get('month')}-${get('day')}`, hour: Number(get('hour')) % 24, minute: Number(get('minute')), second: Number(get('second')) };
}

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

function insideWindow(w: ChangeWindow, local: WallClock): boolean {
  const now = local.hour * 60 + local.minute;
  const previousDay = WEEKDAYS[(WEEKDAYS.indexOf(local.weekday) + 6) % 7] as Weekday;
  return w.slots.some((slot) => {
    const start = minutesOf(slot.start);
    const end = minutesOf(slot.end);
    if (start < end) return slot.days.includes(local.weekday) && now >= start && now < end;
    return (slot.days.includes(local.weekday) && now >= start) || (slot.days.includes(previousDay) && now < end);
  });
}

const HAS_OFFSET = /(Z|[+-]\d{2}:\d{2})$/;

/** Compare either instants (bounds with an offset) or wall-clock strings in the freeze's zone. */
function inFreeze(f: Freeze, now: Date): boolean {
  const local = wallClock(now, f.time_zone);
  const localNow = `${local.date}T${pad(local.hour)}:${pad(local.minute)}:${pad(local.second)}`;
  const after = (bound: string, isEnd: boolean): boolean => {
    if (HAS_OFFSET.test(bound)) return isEnd ? now.getTime() <= Date.parse(bound) : now.getTime() >= Date.parse(bound);
    const norm = bound.length === 10 ? `${bound}T${isEnd ? '23:59:59' : '00:00:00'}` : `${bound}:00`.slice(0, 19);
    return isEnd ? localNow <= norm : localNow >= norm;
  };
  return after(f.from, false) && after(f.to, true);
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}

// ---- approval ------------------------------------------------------------------------------

export type ApprovalPlatform = 'slack' | 'discord' | 'sim' | 'api';

export interface ApprovalActor {
  id: string;
  platform: ApprovalPlatform;
  /** Slack user-group ids the actor belongs to (resolved by the chat edge). */
  groups?: string[];
  /** Discord role ids the actor holds. */
  roles?: string[];
}

export type CanApproveResult = { ok: true } | { ok: false; reason: 'requester' | 'not_an_approver'; message: string };

/**
 * May `actor` approve (or reject) a plan waiting for a human? The 4-eyes rule comes first:
 * the case's requester never approves their own case, whatever lists they are on.
 * Pure. Accepts the approver lists or a whole `GateResult`.
 */
export function canApprove(who: GateApprovers | Pick<GateResult, 'approvers'>, actor: ApprovalActor, requester: string | null | undefined): CanApproveResult {
  const approvers = 'approvers' in who ? who.approvers : who;
  if (requester && isSamePerson(requester, actor)) {
    return { ok: false, reason: 'requester', message: `${actor.id} opened this case and cannot approve it: a second person must (4-eyes rule)` };
  }
  if (isListed(approvers, actor)) return { ok: true };
  return { ok: false, reason: 'not_an_approver', message: `${actor.id} is not an approver for this plan (${actor.platform})` };
}

function isSamePerson(requester: string, actor: ApprovalActor): boolean {
  const norm = (s: string) => s.trim().toLowerCase();
  const r = norm(requester);
  return r === norm(actor.id) || r === norm(`${actor.platform}:${actor.id}`);
}

function isListed(a: GateApprovers, actor: ApprovalActor): boolean {
  switch (actor.platform) {
    case 'slack':
      return a.slack_users.includes(actor.id) || (actor.groups ?? []).some((g) => a.slack_groups.includes(g));
    case 'discord':
      return (actor.roles ?? []).some((r) => a.discord_roles.includes(r));
    case 'sim':
      return a.sim_users.includes(actor.id);
    case 'api':
      return a.users.includes(actor.id);
  }
}

/** All decisions, most permissive first (for UIs and tests). */
export const DECISIONS_BY_RESTRICTIVENESS: readonly GateDecision[] = GATE_DECISIONS;
