import type { CaseRecord, PlanRecord } from '../schemas/case.js';
import type { ChangePlan } from '../schemas/plan.js';
import type { GuardTrip } from '../executor/step-guards.js';
import type { CheckedHypothesis } from '../schemas/investigation.js';

/**
 * What the agent jobs need from the Planner, Gatekeeper, Executor and Verifier. The composition
 * root adapts the concrete implementations to these narrow shapes, so the jobs stay thin.
 * What an agent reports in an event (evidence, gate decision, step and check results) is a `type`,
 * not an `interface`: the events' open objects (core/schemas/events.ts) have an index signature,
 * which only object types, not interfaces, are assignable to.
 */

/** One piece of evidence the analyze step gathered. */
export type EvidenceItem = {
  /** The evidence id (`ev-<n>`) a finding from the investigation rests on; plans cite it. */
  id?: string;
  kind: 'text' | 'alert' | 'metric' | 'log' | 'dashboard' | 'finding';
  title: string;
  detail?: string;
  value?: number | null;
  url?: string;
};

export interface EvidenceGatherer {
  /** Cheap evidence for a case: opening text, labels, current SLO values. Never throws for a missing source. */
  gather(c: CaseRecord): Promise<EvidenceItem[]>;
}

export interface PlanAttempt {
  source: 'template' | 'llm';
  ok: boolean;
  errors: string[];
  raw_excerpt?: string;
}
export type PlanProposal =
  | { ok: true; plan: ChangePlan; source: 'template' | 'llm'; template?: string; prompt_version?: string; attempts: PlanAttempt[] }
  | { ok: false; reason: string; attempts: PlanAttempt[] };

/** What the Planner gets of an investigation (issue 14): only verified findings, and whether there were none. */
export type PlanInvestigation = { insufficient_evidence: boolean; findings: CheckedHypothesis[] };

export interface PlanProposer {
  propose(input: { case: CaseRecord; evidence: EvidenceItem[]; template?: string; investigation?: PlanInvestigation }): Promise<PlanProposal>;
}

export type GateDecision = {
  decision: 'approve' | 'needs_human' | 'reject';
  reasons: string[];
  matched_rules: string[];
  approvers: Record<string, string[] | number>;
};
export interface GateEvaluator {
  evaluate(input: { plan: ChangePlan; case: CaseRecord; now: Date }): GateDecision;
}

/** One step result, as posted to the timeline and the thread. */
export type StepReport = {
  index: number;
  name: string;
  action: string;
  status: 'running' | 'ok' | 'failed' | 'timeout' | 'refused';
  attempt: number;
  duration_ms: number;
  summary: string;
  output?: string;
  rollback?: boolean;
  locator?: string;
  /** Undo steps: the index of the plan step they undo. */
  undo_of?: number;
  /** The guard that tripped on this step: what it saw, what it wanted, after how many polls. */
  guard?: GuardTrip;
};
export interface PlanRunResult {
  ok: boolean;
  rolledBack: boolean;
  results: StepReport[];
  summary: string;
}
export interface PlanRunner {
  run(input: { plan: ChangePlan; case: CaseRecord; onStep: (r: StepReport) => Promise<void>; touch: () => Promise<void> }): Promise<PlanRunResult>;
  /** Upper bound of a whole run (every step's timeout × attempts, plus rollback), in seconds. */
  budgetSeconds(plan: ChangePlan): number;
}

export type VerifyCheckResult = {
  name: string;
  query: string;
  op: string;
  threshold: number;
  window: string | null;
  value: number | null;
  pass: boolean;
  error?: string;
};
export interface VerifyReport {
  pass: boolean;
  results: VerifyCheckResult[];
  summary: string;
}
export interface PlanVerifier {
  settleSeconds(plan: ChangePlan, c: CaseRecord): number;
  verify(plan: ChangePlan, c: CaseRecord): Promise<VerifyReport>;
}

export interface AgentPlanLookup {
  getPlan(planId: string): Promise<PlanRecord | null>;
}
