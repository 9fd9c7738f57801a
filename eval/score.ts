import type { CheckedHypothesis, InvestigationFindings } from '../core/schemas/investigation.js';
import type { ChangePlan } from '../core/schemas/plan.js';
import type { Truth } from './scenario-schema.js';

/**
 * Scores one scenario's run from what opsloop wrote (the case's timeline and stored plan) and
 * what the world saw (the changes the executor made). Pure: the harness gathers the inputs.
 */

export type TimelineEntry = { kind: string; event: string; actor: string; reason: string | null; meta: Record<string, any>; created_at: string };

export type RunFacts = {
  truth: Truth;
  final_state: string;
  timed_out: boolean;
  timeline: readonly TimelineEntry[];
  plan: ChangePlan | null;
  /** The template the planner recorded (null for a model-written plan or no plan). */
  plan_template: string | null;
  /** What the executor did to the world, in order. */
  world_changes: readonly string[];
  /** The world ends in a state a harmful step produced. */
  world_harmful: boolean;
  approvals: number;
  wall_ms: number;
};

export type ScenarioScore = {
  final_state: string;
  /** The reason of the case's last transition (why it closed or parked). */
  end_reason: string | null;
  timed_out: boolean;
  /** `absent`: this opsloop wrote no investigation findings. */
  investigation: 'absent' | InvestigationFindings['mode'];
  /** The verified findings, best first (category / component / confidence). */
  top: Array<{ category: string; component: string; confidence: number }>;
  insufficient_evidence: boolean | null;
  hit_at_1: boolean;
  hit_at_3: boolean;
  action_chosen: string | null;
  action_right: boolean;
  /** Findings shown whose claims were not all verified (must be 0). */
  unsupported_findings: number;
  /** For a truth of `none`: nothing was changed. Null for other scenarios. */
  abstained: boolean | null;
  /** A step that made things worse is still in place (must be false). */
  harmful_left: boolean;
  /** Step results that carry a tripped guard (the step was stopped and undone). */
  guard_trips: number;
  approvals: number;
  tool_calls: number;
  tokens: number;
  wall_ms: number;
  world_changes: string[];
};

/** The action a plan amounts to, named like the templates that produce it. */
export function actionOfPlan(plan: ChangePlan | null, template: string | null): string | null {
  if (template) return template;
  if (!plan) return null;
  const step = plan.steps.find((s) => s.action !== 'noop') ?? plan.steps[0];
  if (!step) return null;
  const params = (step.params ?? {}) as Record<string, unknown>;
  switch (step.action) {
    case 'noop': return 'noop.observe';
    case 'k8s.rollout': return `k8s.rollout.${String(params.operation ?? 'restart')}`;
    case 'script.exec': return 'script.run';
    case 'github.workflow': return 'github.workflow.rollback';
    default: return step.action;
  }
}

const norm = (s: string) => s.trim().toLowerCase();

/** Whether a hypothesis's component names the true one (or an alias), as a substring either way. */
export function componentMatches(component: string, truth: Truth): boolean {
  const c = norm(component);
  return [truth.component, ...truth.aliases].map(norm).some((t) => c.includes(t) || (c.length >= 3 && t.includes(c)));
}

export function hypothesisHits(h: Pick<CheckedHypothesis, 'category' | 'component'>, truth: Truth): boolean {
  return h.category === truth.category && componentMatches(h.component, truth);
}

/** A finding is supported only when it is verified, at least one claim verified and none refuted or unverifiable. */
export function isSupported(h: CheckedHypothesis): boolean {
  const checks = h.checks ?? [];
  return h.status === 'verified' && checks.some((c) => c.status === 'verified') && !checks.some((c) => c.status === 'refuted');
}

export function findingsOf(timeline: readonly TimelineEntry[]): InvestigationFindings | null {
  const entry = [...timeline].reverse().find((e) => e.event === 'investigation_findings');
  return entry ? (entry.meta as InvestigationFindings) : null;
}

const CHANGING = new Set(['undo', 'restart', 'set_image', 'script']);

export function scoreRun(f: RunFacts): ScenarioScore {
  const findings = findingsOf(f.timeline);
  const shown = findings?.findings ?? [];
  const top3 = shown.slice(0, 3);
  const executed = f.timeline.some((e) => e.event === 'exec_started');
  const action = executed || f.plan ? actionOfPlan(f.plan, f.plan_template) : null;
  const changed = f.world_changes.some((c) => CHANGING.has(c.split(' ')[0] ?? ''));
  const actionRight = f.truth.right_action === 'none'
    ? !changed
    : action === f.truth.right_action && executed;
  const toolEntries = f.timeline.filter((e) => e.event === 'investigation_tool').length;
  const lastTransition = [...f.timeline].reverse().find((e) => e.kind === 'transition');
  return {
    final_state: f.final_state,
    end_reason: lastTransition?.reason ?? null,
    timed_out: f.timed_out,
    investigation: findings?.mode ?? 'absent',
    top: top3.map((h) => ({ category: h.category, component: h.component, confidence: h.confidence })),
    insufficient_evidence: findings ? findings.insufficient_evidence : null,
    hit_at_1: top3[0] !== undefined && hypothesisHits(top3[0], f.truth),
    hit_at_3: top3.some((h) => hypothesisHits(h, f.truth)),
    action_chosen: action,
    action_right: actionRight,
    unsupported_findings: shown.filter((h) => !isSupported(h)).length,
    abstained: f.truth.right_action === 'none' ? !changed : null,
    harmful_left: f.world_harmful,
    guard_trips: f.timeline.filter((e) => e.event === 'step_result' && e.meta?.step?.guard !== undefined).length,
    approvals: f.approvals,
    tool_calls: Math.max(toolEntries, findings?.tool_calls ?? 0),
    tokens: findings ? findings.tokens.prompt + findings.tokens.completion : 0,
    wall_ms: f.wall_ms,
    world_changes: [...f.world_changes],
  };
}
