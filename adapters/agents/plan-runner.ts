import type { PlanRunner, PlanRunResult, StepReport } from '../../core/agents/agent-contracts.js';
import { describeTrip, describeUndo } from '../../core/executor/step-guards.js';
import type { MetricsSource } from '../../core/ports/metrics-source.js';
import type { ChangePlan } from '../../core/schemas/plan.js';
import { GUARD_LIMITS } from '../../core/schemas/plan.js';
import { runPlan, type ExecutorRegistry, type PlanRun, type StepResult } from '../executors/step-runner.js';

/**
 * The Executor as the agent jobs use it (`PlanRunner`): runs the plan through the step adapters,
 * watches step guards against the metrics source with the case's service and env, and says in
 * one line how the run ended — loudly when a change that tripped a guard could not be undone.
 */
export interface PlanRunnerOptions {
  executors: ExecutorRegistry;
  /** adapter_step_latency_seconds. */
  observe?: (action: string, outcome: string, seconds: number) => void;
  /** Where PromQL guards are measured (PROMETHEUS_URL); steps with PromQL guards are refused without it. */
  metrics?: Pick<MetricsSource, 'queryInstant'>;
  /** `$window` for guard queries without their own window (the service's verify window). */
  guardWindow?: (service: string | null) => string | undefined;
  /** Between guard polls (default 5 s). */
  guardIntervalMs?: number;
}

export function createPlanRunner(opts: PlanRunnerOptions): PlanRunner {
  return {
    budgetSeconds(plan: ChangePlan): number {
      const undo = plan.steps.flatMap((s) => s.undo ?? []);
      const steps = [...plan.steps, ...(plan.rollback.steps ?? []), ...undo];
      const settle = plan.steps.reduce((sum, s) => sum + (s.guards?.length ? Math.min(s.guard_settle_s ?? GUARD_LIMITS.defaultSettleS, GUARD_LIMITS.maxSettleS) : 0), 0);
      return steps.reduce((sum, s) => sum + s.timeout_s * (1 + s.retry) + 10 * s.retry, 0) + settle;
    },
    async run({ plan, case: c, onStep, touch }) {
      const window = opts.guardWindow?.(c.service);
      // A step report that cannot be written (store busy, job lock lost) must not stop the run
      // half-way: the change is already made, so its guard, undo and rollback still have to run.
      // The final report carries every step result, and the summary says how many were not written.
      const unwritten: string[] = [];
      const run = await runPlan(plan, opts.executors, {
        caseId: c.id,
        ...(opts.observe ? { observeStep: opts.observe } : {}),
        guards: {
          ...(opts.metrics ? { metrics: opts.metrics } : {}),
          vars: { service: c.service, env: c.env, ...(window ? { window } : {}) },
          ...(opts.guardIntervalMs ? { intervalMs: opts.guardIntervalMs } : {}),
        },
        onStepResult: async (r) => {
          try {
            await touch();
            await onStep(stepReport(r));
          } catch (err) {
            unwritten.push(err instanceof Error ? err.message : String(err));
          }
        },
      });
      const summary = summarizeRun(plan, run) + unwrittenNote(unwritten);
      return { ok: run.ok, rolledBack: run.rolledBack, summary, results: run.results.map(stepReport) };
    },
  };
}

function stepReport(r: StepResult): StepReport {
  return {
    index: r.index, name: r.name ?? `${r.action} step ${r.index + 1}`, action: r.action, status: r.status,
    attempt: r.attempt, duration_ms: r.duration_ms, summary: r.summary, rollback: r.rollback,
    ...(r.output ? { output: r.output } : {}), ...(r.locator ? { locator: r.locator } : {}),
    ...(r.undo_of !== undefined ? { undo_of: r.undo_of } : {}),
    ...(r.guard ? { guard: r.guard } : {}),
  };
}

/** What the run summary adds when step reports could not be written (empty when all were). Pure. */
export function unwrittenNote(errors: readonly string[]): string {
  if (errors.length === 0) return '';
  return ` (${errors.length} step report(s) could not be written, the first: ${errors[0]}; the steps ran on, every result is in this report)`;
}

/** One line for exec_done / exec_failure (the case's timeline and the thread). Pure. */
export function summarizeRun(plan: Pick<ChangePlan, 'steps'>, run: PlanRun): string {
  if (run.ok) return `all ${plan.steps.length} step(s) succeeded`;
  const failed = run.failedIndex !== undefined ? plan.steps[run.failedIndex] : undefined;
  const which = `step ${(run.failedIndex ?? 0) + 1}${failed?.name ? ` (${failed.name})` : ''}`;
  if (run.trip) {
    const undo = run.undo ?? { source: null, steps: 0 };
    return `${which}: ${describeTrip(run.trip)} — ${describeUndo({ attempted: run.rollbackAttempted, ok: run.rolledBack, ...undo })}`;
  }
  return `${which} failed; ` +
    (run.rollbackAttempted ? (run.rolledBack ? 'rollback succeeded' : 'rollback FAILED — check the target by hand') : 'no rollback steps');
}
