import { z } from 'zod';
import { VERIFY_OPERATORS } from './plan.js';

/**
 * What an investigation concludes (issue 14), as a contract both investigators fill — the LLM
 * one (adapters/llm/openai-investigator.ts) and the deterministic playbook one — and that
 * opsloop re-checks before anything is shown as a finding.
 *
 * A hypothesis is only as good as its *checkable claims*: opsloop re-runs every claim itself
 * (metric, Kubernetes, deploy, log). A hypothesis with a refuted claim is refuted; one without a
 * claim opsloop could check is unsupported; neither is ever presented as a finding.
 */

const Text = (max: number) => z.string().trim().min(1).max(max);
const IsoTime = z.iso.datetime({ offset: true });
/** A PromQL-style lookback such as 30m, 2h: how far back from the case's evaluation time. */
export const Lookback = z.string().regex(/^\d{1,4}[smhd]$/, 'a duration like 30m or 2h');

/** Root-cause categories: a small shared vocabulary, so findings can pick a remedy and be scored. */
export const CAUSE_CATEGORIES = [
  'deploy', 'config_change', 'dependency', 'resource_exhaustion', 'capacity', 'noisy_neighbour',
  'certificate', 'dns', 'database', 'network', 'code_bug', 'infrastructure', 'none', 'other',
] as const;
export type CauseCategory = (typeof CAUSE_CATEGORIES)[number];

/** A time window: absolute (`start`/`end`) or relative to the evaluation time (`lookback`). */
export const WindowSchema = z.union([
  z.object({ start: IsoTime, end: IsoTime }).strict(),
  z.object({ lookback: Lookback }).strict(),
]);
export type ClaimWindow = z.infer<typeof WindowSchema>;

/** "This PromQL, reduced over the window (or at the instant), compares so with this value." */
export const MetricClaimSchema = z.object({
  kind: z.literal('metric'),
  query: Text(2000),
  /** Instant to evaluate at; default: the evaluation time. Ignored when `window` is given. */
  at: IsoTime.optional(),
  window: WindowSchema.optional(),
  /** How a range is reduced to one value (default max). */
  reduce: z.enum(['max', 'min', 'avg', 'last']).optional(),
  op: z.enum(VERIFY_OPERATORS),
  value: z.number(),
}).strict();

/** "This object's field has this value", or "an event with this reason was recorded for it". */
export const K8sClaimSchema = z.object({
  kind: z.literal('k8s'),
  namespace: Text(63),
  object: z.object({ kind: Text(63), name: Text(253) }).strict(),
  /** Dotted path into the object, e.g. status.containerStatuses.0.lastState.terminated.reason. */
  field: Text(300).optional(),
  expected: z.string().max(500).optional(),
  /** An event reason (OOMKilling, BackOff, FailedScheduling…) recorded for the object. */
  event_reason: Text(100).optional(),
}).strict().refine((c) => (c.field !== undefined && c.expected !== undefined) || c.event_reason !== undefined,
  { message: 'a k8s claim needs field + expected, or event_reason' });

/** "The service was deployed (at this revision) within this window." */
export const DeployClaimSchema = z.object({
  kind: z.literal('deploy'),
  service: Text(100),
  revision: Text(100).optional(),
  window: WindowSchema,
}).strict();

/** "The logs of this pod (or deployment's pods) contain this pattern at least min_count times." */
export const LogClaimSchema = z.object({
  kind: z.literal('log'),
  namespace: Text(63),
  pod: Text(253).optional(),
  deployment: Text(253).optional(),
  container: Text(253).optional(),
  /** A JavaScript regular expression (case-insensitive), at most 200 characters. */
  pattern: Text(200),
  min_count: z.number().int().min(1).max(100_000),
}).strict().refine((c) => c.pod !== undefined || c.deployment !== undefined, { message: 'a log claim names a pod or a deployment' });

export const ClaimSchema = z.union([MetricClaimSchema, K8sClaimSchema, DeployClaimSchema, LogClaimSchema]);
export type Claim = z.infer<typeof ClaimSchema>;
export type ClaimKind = Claim['kind'];

export const HypothesisSchema = z.object({
  statement: Text(500),
  category: z.enum(CAUSE_CATEGORIES),
  /** The suspected component: a deployment, a dependency, a node, a database… */
  component: Text(200),
  claims: z.array(ClaimSchema).max(6),
}).strict();
export type Hypothesis = z.infer<typeof HypothesisSchema>;

/** What an investigator answers: hypotheses, most likely first. */
export const InvestigationAnswerSchema = z.object({
  summary: Text(2000),
  hypotheses: z.array(HypothesisSchema).max(5),
}).strict();
export type InvestigationAnswer = z.infer<typeof InvestigationAnswerSchema>;

/** JSON Schema of the answer, for the model's `response_format`. */
export function investigationAnswerJsonSchema(): Record<string, unknown> {
  const { $schema: _ignored, ...schema } = z.toJSONSchema(InvestigationAnswerSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return schema;
}

/** One claim as opsloop re-ran it. `unverifiable`: the source is missing, out of scope, or failed. */
export type ClaimCheck = {
  claim: Claim;
  status: 'verified' | 'refuted' | 'unverifiable';
  /** What opsloop observed, in words (e.g. "max 0.31 over 30m, claimed > 0.05"). */
  observed: string;
  /** The evidence id this check is recorded under (`ev-…`), cited by plans. */
  evidence_id: string;
};

/**
 * A hypothesis after its claims were re-checked. `verified`: at least one claim verified and none
 * refuted; `refuted`: a claim refuted; `unsupported`: no claim could be verified.
 * `confidence` is computed from the checks (core/investigation), never taken from the model.
 */
export type CheckedHypothesis = Hypothesis & {
  status: 'verified' | 'refuted' | 'unsupported';
  confidence: number;
  checks: ClaimCheck[];
};

/** The investigation's result, as written to the timeline (`investigation_findings`, meta). */
export type InvestigationFindings = {
  mode: 'llm' | 'playbook';
  summary: string;
  /** Verified hypotheses, highest confidence first: the only ones shown as findings or given to the Planner. */
  findings: CheckedHypothesis[];
  refuted: CheckedHypothesis[];
  unsupported: CheckedHypothesis[];
  /** True when nothing was verified: the thread says "insufficient evidence" and lists what was checked. */
  insufficient_evidence: boolean;
  tool_calls: number;
  tokens: { prompt: number; completion: number };
  wall_ms: number;
  /** Why the investigation stopped. */
  stopped: 'done' | 'budget_tool_calls' | 'budget_tokens' | 'budget_time' | 'model_error' | 'invalid_answer' | 'no_tools';
  /** The model's or the loop's error, when it stopped on one. */
  error?: string;
};
