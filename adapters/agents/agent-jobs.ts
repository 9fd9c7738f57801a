import type { Logger } from 'pino';
import type { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import type { Outcome } from '../../core/orchestrator/outcome.js';
import { ERRORS } from '../../core/errors.js';
import type { CaseQueries } from '../../core/ports/case-store.js';
import type { Clock } from '../../core/ports/clock.js';
import { AGENT_JOBS, type AgentJobData, type JobContext, type JobQueue } from '../../core/ports/job-queue.js';
import type { CaseStatus } from '../../core/fsm/states.js';
import type { CaseRecord } from '../../core/schemas/case.js';
import { ChangePlanSchema, type ChangePlan } from '../../core/schemas/plan.js';
import { emit, readCommandData } from '../../core/events/typed-events.js';
import type {
  EvidenceGatherer, GateEvaluator, PlanProposer, PlanRunner, PlanVerifier, StepReport,
} from '../../core/agents/agent-contracts.js';
import { jobPriorityOf } from '../jobs/command-dispatcher.js';
import { analysisEvidence, latestInvestigation, plannerInvestigation, type InvestigationDeps } from './investigation.js';

export interface AgentJobDeps {
  orchestrator: Orchestrator;
  queries: CaseQueries;
  queue: JobQueue;
  clock: Clock;
  logger: Logger;
  evidence: EvidenceGatherer;
  planner: PlanProposer;
  gatekeeper: GateEvaluator;
  executor: PlanRunner;
  verifier: PlanVerifier;
  /** The investigation of the analyze step (issue 14); without it the analysis is the cheap evidence only. */
  investigation?: InvestigationDeps;
}

/** Thrown when a job must be retried later by Agenda (store down, another worker busy). */
export class RetryLater extends Error {
  override readonly name = 'RetryLater';
}

/**
 * The agent jobs. Each is thin: load the case, run the agent, report what it found through
 * `Orchestrator.apply`: the timeline note, the fact (`evt.*`) and the transition the fact asks for,
 * in one transaction (claims and progress notes go through `Orchestrator.record`). Every write is
 * keyed by the command's message id, so a job that runs twice reports once.
 */
export function defineAgentJobs(deps: AgentJobDeps): void {
  const { queue } = deps;
  queue.define(AGENT_JOBS.analyze, (job) => analyzeJob(deps, job));
  queue.define(AGENT_JOBS.plan, (job) => planJob(deps, job));
  queue.define(AGENT_JOBS.gate, (job) => gateJob(deps, job));
  queue.define(AGENT_JOBS.exec, (job, ctx) => execJob(deps, job, ctx), { concurrency: 5, lockLifetimeMs: 120_000 });
  queue.define(AGENT_JOBS.verify, (job) => verifyScheduleJob(deps, job));
  queue.define(AGENT_JOBS.verifyMeasure, (job) => verifyMeasureJob(deps, job));
}

/** Load the case a command is about; null (and a log line) when it is no longer in `expected`. */
async function caseInStatus(deps: AgentJobDeps, job: AgentJobData, expected: CaseStatus): Promise<CaseRecord | null> {
  const c = await deps.queries.getCase(job.case_id);
  if (!c) {
    deps.logger.warn({ case_id: job.case_id, topic: job.topic }, 'agent job for an unknown case; dropped');
    return null;
  }
  if (c.status !== expected || c.version !== job.version) {
    deps.logger.info({ case_id: c.id, status: c.status, version: c.version, job_version: job.version, topic: job.topic },
      'case moved on since the command was written; agent job skipped');
    return null;
  }
  return c;
}

/**
 * Fail loudly (so Agenda retries) when the write failed in a way a retry may fix (the catalogue's
 * `retryable`). A store that cannot be reached throws by itself.
 */
function ensureWritten<T>(result: Outcome<T>, what: string): Outcome<T> {
  if (!result.ok && ERRORS[result.code].retryable) throw new RetryLater(`${what}: ${result.code} ${result.message}`);
  return result;
}

/** The case moved on (or is gone) since the command was written: nothing to do. */
function movedOn<T>(result: Outcome<T>): boolean {
  return !result.ok && (result.code === 'OPS_ILLEGAL_TRANSITION' || result.code === 'OPS_CASE_NOT_FOUND');
}

async function loadPlan(deps: AgentJobDeps, c: CaseRecord): Promise<ChangePlan | null> {
  if (!c.plan_id) return null;
  const record = await deps.queries.getPlan(c.plan_id);
  if (!record) return null;
  const parsed = ChangePlanSchema.safeParse(record.plan);
  return parsed.success ? parsed.data : null;
}

export async function analyzeJob(deps: AgentJobDeps, job: AgentJobData): Promise<void> {
  const c = await caseInStatus(deps, job, 'ANALYZING');
  if (!c) return;
  const { evidence, findings } = await analysisEvidence(deps.investigation, c, job, await deps.evidence.gather(c));
  const investigated = findings
    ? `; investigation: ${findings.insufficient_evidence ? 'insufficient evidence' : `${findings.findings.length} verified finding(s)`}` : '';
  ensureWritten(await deps.orchestrator.apply(c.id, {
    event: 'evidence',
    actor: 'analyst',
    reason: `${evidence.length} piece(s) of evidence gathered${investigated}`,
    meta: { evidence, ...(findings ? { insufficient_evidence: findings.insufficient_evidence } : {}) },
    requireStatus: ['ANALYZING'],
    traceId: job.trace_id,
    fact: emit('evt.analysis.done.v1', { actor: 'analyst', reason: findings ? `evidence gathered${investigated}` : 'cheap evidence gathered', evidence }),
  }, { idempotencyKey: `analyze:${job.message_id}` }), 'analysis');
}

/**
 * How long a claimed planning run may take before a second run of the same command takes over
 * (two model attempts at the client's 30 s deadline, plus margin).
 */
export const PLAN_CLAIM_MS = 120_000;

export async function planJob(deps: AgentJobDeps, job: AgentJobData): Promise<void> {
  const c = await caseInStatus(deps, job, 'PLANNING');
  if (!c) return;
  const template = readCommandData(job.data)?.template;
  // Claim the command before asking the planner: a duplicate job (the same cmd delivered twice)
  // must not call the model again, nor write a contradicting plan_invalid next to a proposal.
  const claim = ensureWritten(await deps.orchestrator.record(c.id, {
    event: 'plan_started', actor: 'planner', reason: template ? `planning from template ${template}` : 'planning',
    meta: { command: job.message_id, ...(template ? { template } : {}) }, requireStatus: ['PLANNING'], traceId: job.trace_id,
  }, { idempotencyKey: `plan:${job.message_id}:start` }), 'plan claim');
  if (movedOn(claim)) return;
  const timeline = await deps.queries.listTimeline(c.id);
  if (claim.replayed || !claim.ok) {
    const ofCommand = timeline.filter((e) => e.meta.command === job.message_id);
    if (ofCommand.some((e) => e.event === 'plan_proposed' || e.event === 'plan_invalid')) return;
    const started = ofCommand.find((e) => e.event === 'plan_started');
    if (started && deps.clock.now().getTime() - started.created_at.getTime() < PLAN_CLAIM_MS) {
      throw new RetryLater('another planner run of this command may still be in progress');
    }
    // The run that claimed the command died before reporting: plan again (same report keys, so one report lands).
  }
  // Only verified findings reach the Planner: the analysis evidence holds no other (refuted and
  // unsupported hypotheses stay in the investigation's own note).
  const evidence = timeline.filter((e) => e.event === 'evidence').flatMap((e) => (Array.isArray(e.meta.evidence) ? e.meta.evidence : []));
  const investigation = plannerInvestigation(latestInvestigation(timeline));
  const proposal = await deps.planner.propose({ case: c, evidence, ...(template ? { template } : {}), ...(investigation ? { investigation } : {}) });
  if (proposal.ok) {
    ensureWritten(await deps.orchestrator.apply(c.id, {
      event: 'plan_proposed',
      actor: 'planner',
      reason: `${proposal.plan.title} (${proposal.source}${proposal.template ? `: ${proposal.template}` : ''})`,
      meta: {
        command: job.message_id, source: proposal.source, template: proposal.template ?? null,
        prompt_version: proposal.prompt_version ?? null, attempts: proposal.attempts,
      },
      requireStatus: ['PLANNING'],
      traceId: job.trace_id,
      fact: emit('evt.plan.proposed.v1', {
        actor: 'planner', reason: proposal.plan.title, plan: proposal.plan, source: proposal.source, template: proposal.template ?? null,
      }),
    }, { idempotencyKey: `plan:${job.message_id}` }), 'plan');
    return;
  }
  ensureWritten(await deps.orchestrator.apply(c.id, {
    event: 'plan_invalid',
    actor: 'planner',
    reason: `${proposal.reason}; the case stays in PLANNING (/ops plan <template> to retry)`,
    meta: { command: job.message_id, attempts: proposal.attempts },
    requireStatus: ['PLANNING'],
    traceId: job.trace_id,
    fact: emit('evt.plan.invalid.v1', { actor: 'planner', reason: proposal.reason, attempts: proposal.attempts }),
  }, { idempotencyKey: `plan:${job.message_id}:invalid` }), 'plan failure');
}

export async function gateJob(deps: AgentJobDeps, job: AgentJobData): Promise<void> {
  const c = await caseInStatus(deps, job, 'WAIT_GATE');
  if (!c) return;
  const plan = await loadPlan(deps, c);
  const decision = plan
    ? deps.gatekeeper.evaluate({ plan, case: c, now: deps.clock.now() })
    : { decision: 'reject' as const, reasons: ['the case has no valid stored plan'], matched_rules: [], approvers: {} };
  const topic = decision.decision === 'approve' ? 'evt.plan.approved.v1'
    : decision.decision === 'reject' ? 'evt.plan.rejected.v1' : 'evt.gate.needs_human.v1';
  ensureWritten(await deps.orchestrator.apply(c.id, {
    event: 'gate_decision',
    actor: 'gatekeeper',
    reason: `${decision.decision}: ${decision.reasons.join('; ') || 'no rule fired'}`,
    meta: { decision },
    requireStatus: ['WAIT_GATE'],
    traceId: job.trace_id,
    fact: emit(topic, { actor: 'gatekeeper', reason: decision.reasons.join('; '), decision }),
  }, { idempotencyKey: `gate:${job.message_id}` }), 'gate decision');
}

/**
 * Run the plan. Before the first step the job claims the run (`exec:<case>:v<version>:start`); a second
 * run for the same version (a duplicate job, or Agenda re-running it after this process died) never runs a
 * step again: it waits while the first run could still be going, then reports the run as interrupted.
 */
export async function execJob(deps: AgentJobDeps, job: AgentJobData, ctx: JobContext): Promise<void> {
  const c = await caseInStatus(deps, job, 'EXECUTING');
  if (!c) return;
  const plan = await loadPlan(deps, c);
  // Keyed by case and version, not by message: a second exec command for the same entry into
  // EXECUTING (POST /adapter/exec, a duplicate job) finds the first run's claim.
  const key = (suffix: string) => `exec:${c.id}:v${c.version}:${suffix}`;
  if (!plan) {
    await reportExec(deps, c, job, key('final'), false, 'no valid plan is stored for this case', []);
    return;
  }
  const claim = ensureWritten(await deps.orchestrator.record(c.id, {
    event: 'exec_started', actor: 'executor', reason: `running ${plan.steps.length} step(s) of "${plan.title}"`,
    meta: { version: c.version, steps: plan.steps.length }, requireStatus: ['EXECUTING'],
  }, { idempotencyKey: key('start') }), 'exec claim');
  if (movedOn(claim)) return;
  if (claim.replayed || !claim.ok) {
    const started = await startedAt(deps, c.id, c.version);
    const budgetMs = (deps.executor.budgetSeconds(plan) + 60) * 1000;
    if (started && deps.clock.now().getTime() - started.getTime() < budgetMs) {
      throw new RetryLater('another executor run of this command may still be in progress');
    }
    await reportExec(deps, c, job, key('final'), false,
      'the executor was interrupted (process restart) after it started; steps are not re-run automatically — check the target, then /ops plan to resume', []);
    return;
  }
  const result = await deps.executor.run({
    plan, case: c, touch: ctx.touch,
    onStep: async (step: StepReport) => {
      const stepKey = key(`step:${step.rollback ? 'rb' : 'fw'}:${step.index}:${step.attempt}:${step.status}`);
      ensureWritten(await deps.orchestrator.record(c.id, {
        event: 'step_result', actor: 'executor', reason: `${step.rollback ? 'rollback ' : ''}step ${step.index + 1} ${step.name}: ${step.status}${step.summary ? ` — ${step.summary}` : ''}`,
        meta: { step }, traceId: job.trace_id,
        emit: [emit('evt.exec.step_result.v1', { actor: 'executor', ...step })],
      }, { idempotencyKey: stepKey }), 'step result');
    },
  });
  await reportExec(deps, c, job, key('final'), result.ok, result.summary, result.results, result.rolledBack);
}

async function startedAt(deps: AgentJobDeps, caseId: string, version: number): Promise<Date | null> {
  const timeline = await deps.queries.listTimeline(caseId);
  const entry = timeline.find((e) => e.event === 'exec_started' && e.meta.version === version);
  return entry ? entry.created_at : null;
}

async function reportExec(deps: AgentJobDeps, c: CaseRecord, job: AgentJobData, key: string, ok: boolean, summary: string,
  results: StepReport[], rolledBack = false): Promise<void> {
  const finals = results.filter((r) => r.status !== 'running');
  ensureWritten(await deps.orchestrator.apply(c.id, {
    event: ok ? 'exec_result' : 'exec_failure', actor: 'executor', reason: summary,
    meta: { ok, rolled_back: rolledBack, steps: finals.length }, requireStatus: ['EXECUTING'], traceId: job.trace_id,
    fact: emit(ok ? 'evt.exec.done.v1' : 'evt.exec.failed.v1', { actor: 'executor', reason: summary, rolled_back: rolledBack, results: finals }),
  }, { idempotencyKey: key }), 'exec result');
}

/**
 * cmd.verify.run: schedule the measurement after the settle delay (an Agenda schedule, not a sleep).
 * With no settle delay the measurement is due now: this job takes it itself, after the note,
 * rather than saving a second job that would only queue behind later cases' work (one job, one
 * case read and one relay hop less per case; the report keeps its key, so a rerun reports once).
 */
export async function verifyScheduleJob(deps: AgentJobDeps, job: AgentJobData): Promise<void> {
  const c = await caseInStatus(deps, job, 'VERIFYING');
  if (!c) return;
  const plan = await loadPlan(deps, c);
  const settle = plan ? deps.verifier.settleSeconds(plan, c) : 0;
  const runAt = new Date(deps.clock.now().getTime() + settle * 1000);
  // Same place among due jobs as the case's commands (lane, then case age).
  if (settle > 0) await deps.queue.enqueue(AGENT_JOBS.verifyMeasure, job, { runAt, priority: jobPriorityOf(c), openedAt: c.created_at });
  ensureWritten(await deps.orchestrator.record(c.id, {
    event: 'verify_scheduled', actor: 'verifier', reason: settle > 0 ? `measuring in ${settle} s (settle delay)` : 'measuring now',
    meta: { settle_s: settle, run_at: runAt.toISOString() }, traceId: job.trace_id,
  }, { idempotencyKey: `verify:${job.message_id}:scheduled` }), 'verify schedule');
  if (settle <= 0) await measureAndReport(deps, job, c, plan);
}

export async function verifyMeasureJob(deps: AgentJobDeps, job: AgentJobData): Promise<void> {
  const c = await caseInStatus(deps, job, 'VERIFYING');
  if (!c) return;
  await measureAndReport(deps, job, c, await loadPlan(deps, c));
}

async function measureAndReport(deps: AgentJobDeps, job: AgentJobData, c: CaseRecord, plan: ChangePlan | null): Promise<void> {
  const report = plan
    ? await deps.verifier.verify(plan, c)
    : { pass: false, results: [], summary: 'no valid plan is stored for this case' };
  ensureWritten(await deps.orchestrator.apply(c.id, {
    event: 'verify_report', actor: 'verifier', reason: report.summary,
    meta: { pass: report.pass, results: report.results }, requireStatus: ['VERIFYING'], traceId: job.trace_id,
    fact: emit(report.pass ? 'evt.verify.pass.v1' : 'evt.verify.failed.v1', { actor: 'verifier', reason: report.summary, results: report.results }),
  }, { idempotencyKey: `verify:${job.message_id}:result` }), 'verify result');
}
