/**
 * Runs a plan's steps in order through the step adapters: params are validated first (refused
 * params never run), each attempt gets its own AbortSignal that fires at the step's timeout,
 * failures are retried up to `retry` times with a small backoff, and a failed plan runs its
 * rollback steps through the same machinery. Every attempt is reported twice through
 * `onStepResult`: once as `running`, once with its final status.
 *
 * A step with `guards` is watched (guard-watcher.ts) from its start until `guard_settle_s` after
 * it returned. When a guard trips, the step is stopped, no later step runs, and the step's `undo`
 * steps run (or, without any, the plan's rollback); the tripped step is reported `failed` with
 * `guard` (when it had already been reported `ok`, once more, as `failed`).
 */
import type { Clock } from '../../core/ports/clock.js';
import type { StepExecutor, StepOutcome } from '../../core/ports/step-executor.js';
import type { ChangePlan, PlanStep, StepAction } from '../../core/schemas/plan.js';
import { describeIssues } from '../../core/schemas/issues.js';
import { describeTrip, stepGuardPlan, type GuardTrip, type StepGuardPlan } from '../../core/executor/step-guards.js';
import { errorText, sleep } from './executor-support.js';
import { guardsUnwatchable, startGuardWatch, type GuardWatchOptions } from './guard-watcher.js';

export type StepStatus = 'running' | 'ok' | 'failed' | 'timeout' | 'refused';
export type FinalStepStatus = Exclude<StepStatus, 'running'>;

/** One report about one attempt of one step (the payload of evt.exec.step_result.v1). */
export interface StepResult {
  /** Position in its list (the plan's steps, or the rollback steps when `rollback`). */
  index: number;
  name?: string;
  action: StepAction;
  status: StepStatus;
  /** 1-based attempt number (1 for refused steps). */
  attempt: number;
  /** Total attempts allowed (1 + retry). */
  max_attempts: number;
  duration_ms: number;
  summary: string;
  output?: string;
  details?: Record<string, unknown>;
  locator?: string;
  /** True for steps of the plan's rollback and for a step's undo steps. */
  rollback: boolean;
  /** Undo steps: the index of the plan step they undo. */
  undo_of?: number;
  /** The guard that tripped and stopped (or condemned) this step. */
  guard?: GuardTrip;
}

/** The adapters by action. */
export type ExecutorRegistry = ReadonlyMap<StepAction, StepExecutor>;

/** Build a registry from a list of adapters (a later one replaces an earlier one of the same action). */
export function executorRegistry(executors: Iterable<StepExecutor>): Map<StepAction, StepExecutor> {
  return new Map([...executors].map((e) => [e.action, e] as const));
}

export interface RunStepsOptions {
  caseId: string;
  /** Called for `running` and for the final state of every attempt; awaited (keep it quick). */
  onStepResult?: (result: StepResult) => void | Promise<void>;
  /** Cancels the whole run: the current attempt is aborted, no retries, no rollback. */
  signal?: AbortSignal;
  /** Source of time for durations (default: the system clock). */
  clock?: Clock;
  /** adapter_step_latency_seconds{action,outcome} hook. */
  observeStep?: (action: StepAction, outcome: FinalStepStatus, seconds: number) => void;
  /** Progress lines from the adapters. */
  log?: (line: string) => void;
  /** Pause before retry `attempt + 1` (default 1 s, 2 s, 4 s…, at most 10 s). */
  backoffMs?: (attempt: number) => number;
  /** A step's timeout in ms (default `timeout_s * 1000`; tests shrink it). */
  stepTimeoutMs?: (step: PlanStep) => number;
  /** How long to wait for an adapter to return after its signal aborted before giving up on it (default 5 s). */
  abortGraceMs?: number;
  /** Where guards are measured and how often; a step with a PromQL guard is refused without `metrics`. */
  guards?: GuardWatchOptions;
}

export interface StepsRun {
  ok: boolean;
  /** Final results of every attempt, in order (no `running` entries). */
  results: StepResult[];
  /** Index of the step that failed, when one did. */
  failedIndex?: number;
  /** True when `signal` cancelled the run. */
  cancelled: boolean;
  /** The guard that tripped on the failed step, when one did. */
  trip?: GuardTrip;
}

export interface PlanRun extends StepsRun {
  /** True only when rollback (or undo) steps ran and all succeeded. */
  rolledBack: boolean;
  /** True when rollback (or undo) steps were started (they may have failed). */
  rollbackAttempted: boolean;
  /** After a guard trip: whose steps undid it (`step`: its undo, `plan`: the rollback; null: none) and how many. */
  undo?: { source: 'step' | 'plan' | null; steps: number };
}

const systemClock: Clock = { now: () => new Date() };
const defaultBackoff = (attempt: number) => Math.min(1000 * 2 ** (attempt - 1), 10_000);

/** Run `steps` in order; stop at the first step whose attempts all fail or whose guard trips. */
export async function runPlanSteps(
  steps: readonly PlanStep[],
  executors: ExecutorRegistry,
  opts: RunStepsOptions,
  marks: { rollback: boolean; undoOf?: number } = { rollback: false },
): Promise<StepsRun> {
  const results: StepResult[] = [];
  for (const [index, step] of steps.entries()) {
    if (opts.signal?.aborted) return { ok: false, results, failedIndex: index, cancelled: true };
    const { ok, trip } = await runStep(step, index, executors, opts, marks, results);
    if (!ok) return { ok: false, results, failedIndex: index, cancelled: opts.signal?.aborted ?? false, ...(trip ? { trip } : {}) };
  }
  return { ok: true, results, cancelled: false };
}

/**
 * Run the plan. On a failure (not a cancellation) run `plan.rollback.steps`, reported with
 * `rollback: true`; when a guard tripped, the tripped step's `undo` steps instead (if it has any).
 */
export async function runPlan(
  plan: Pick<ChangePlan, 'steps' | 'rollback'>,
  executors: ExecutorRegistry,
  opts: RunStepsOptions,
): Promise<PlanRun> {
  const main = await runPlanSteps(plan.steps, executors, opts);
  if (main.ok) return { ...main, rolledBack: false, rollbackAttempted: false };
  const failed = main.failedIndex !== undefined ? plan.steps[main.failedIndex] : undefined;
  const stepUndo = main.trip ? (failed?.undo ?? []) : [];
  const backSteps = stepUndo.length ? stepUndo : (plan.rollback.steps ?? []);
  const source = stepUndo.length ? 'step' as const : backSteps.length ? 'plan' as const : null;
  const undo = main.trip ? { undo: { source, steps: backSteps.length } } : {};
  if (main.cancelled || backSteps.length === 0) return { ...main, rolledBack: false, rollbackAttempted: false, ...undo };
  opts.log?.(main.trip
    ? `step ${main.failedIndex}: ${describeTrip(main.trip)}; running ${backSteps.length} ${source === 'step' ? 'undo' : 'rollback'} step(s)`
    : `step ${main.failedIndex ?? '?'} failed; running ${backSteps.length} rollback step(s)`);
  const back = await runPlanSteps(backSteps, executors, opts,
    { rollback: true, ...(source === 'step' && main.failedIndex !== undefined ? { undoOf: main.failedIndex } : {}) });
  return {
    ok: false,
    results: [...main.results, ...back.results],
    failedIndex: main.failedIndex,
    cancelled: back.cancelled,
    rolledBack: back.ok,
    rollbackAttempted: true,
    ...(main.trip ? { trip: main.trip } : {}),
    ...undo,
  };
}

async function runStep(
  step: PlanStep,
  index: number,
  executors: ExecutorRegistry,
  opts: RunStepsOptions,
  marks: { rollback: boolean; undoOf?: number },
  results: StepResult[],
): Promise<{ ok: boolean; trip?: GuardTrip }> {
  const clock = opts.clock ?? systemClock;
  const maxAttempts = 1 + step.retry;
  const base = {
    index, ...(step.name ? { name: step.name } : {}), action: step.action, max_attempts: maxAttempts, rollback: marks.rollback,
    ...(marks.undoOf !== undefined ? { undo_of: marks.undoOf } : {}),
  };
  const report = async (r: StepResult) => {
    if (r.status !== 'running') {
      results.push(r);
      opts.observeStep?.(r.action, r.status, r.duration_ms / 1000);
    }
    await opts.onStepResult?.(r);
  };

  const guardPlan = marks.rollback ? null : stepGuardPlan(step);
  const executor = executors.get(step.action);
  const checked = executor ? executor.validate(step.params) : undefined;
  const unwatchable = guardPlan ? guardsUnwatchable(guardPlan, opts.guards) : null;
  if (!executor || !checked?.ok || unwatchable) {
    const summary = !executor
      ? `refused: no executor is configured for ${step.action}`
      : checked && !checked.ok ? `refused: ${describeIssues(checked.issues)}` : `refused: ${unwatchable}`;
    const details = checked && !checked.ok ? { issues: checked.issues } : undefined;
    await report({ ...base, status: 'refused', attempt: 1, duration_ms: 0, summary, ...(details ? { details } : {}) });
    return { ok: false };
  }

  const watch = guardPlan ? startGuardWatch(guardPlan, opts.guards ?? {}) : null;
  const signal = watch ? anySignal(watch.tripped, opts.signal) : opts.signal;
  const attemptOpts = { ...opts, ...(signal ? { signal } : {}) };
  let last: { attempt: number; status: FinalStepStatus; guarded: boolean } = { attempt: 0, status: 'failed', guarded: false };
  try {
    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      if (signal?.aborted) break;
      await report({ ...base, status: 'running', attempt, duration_ms: 0, summary: `running (attempt ${attempt} of ${maxAttempts})` });
      const started = clock.now().getTime();
      const { outcome, timedOut } = await runAttempt(executor, checked.params, step, { index, attempt, rollback: marks.rollback }, attemptOpts);
      const trip = watch?.trip() ?? null;
      const status: FinalStepStatus = outcome.ok && !trip ? 'ok' : timedOut ? 'timeout' : 'failed';
      await report({
        ...base,
        status,
        attempt,
        duration_ms: Math.max(0, clock.now().getTime() - started),
        summary: trip ? `${describeTrip(trip)}; the step was stopped (${outcome.summary})` : outcome.summary,
        ...(outcome.output !== undefined ? { output: outcome.output } : {}),
        ...(outcome.details ? { details: outcome.details } : {}),
        ...(outcome.locator ? { locator: outcome.locator } : {}),
        ...(trip ? { guard: trip } : {}),
      });
      last = { attempt, status, guarded: trip !== null };
      if (status === 'ok') break;
      if (attempt < maxAttempts) await sleep((opts.backoffMs ?? defaultBackoff)(attempt), signal);
    }
    if (watch && guardPlan && last.status === 'ok') await watch.settle(guardPlan.settleMs, opts.signal);
  } finally {
    await watch?.stop();
  }
  const trip = watch?.trip() ?? null;
  if (trip && !last.guarded) await reportLateTrip(trip, guardPlan!, last, base, report);
  return trip ? { ok: false, trip } : { ok: last.status === 'ok' };
}

/**
 * A guard tripped after the step's last report: during the settle window (the step had returned
 * ok: reported again, as failed) or while waiting to retry (reported as the attempt that never ran).
 */
async function reportLateTrip(
  trip: GuardTrip,
  plan: StepGuardPlan,
  last: { attempt: number; status: FinalStepStatus },
  base: Omit<StepResult, 'status' | 'attempt' | 'duration_ms' | 'summary'>,
  report: (r: StepResult) => Promise<void>,
): Promise<void> {
  const settling = last.status === 'ok';
  const when = settling ? `within ${plan.settleMs / 1000} s after the step` : 'before the step was retried';
  await report({
    ...base, status: 'failed', attempt: settling ? last.attempt : last.attempt + 1, duration_ms: 0,
    summary: `${describeTrip(trip)} ${when}: ${trip.why}`, guard: trip,
  });
}

function anySignal(a: AbortSignal, b: AbortSignal | undefined): AbortSignal {
  return b ? AbortSignal.any([a, b]) : a;
}

/** One attempt with its own timeout; an adapter that ignores its signal is abandoned after a grace period. */
async function runAttempt(
  executor: StepExecutor,
  params: unknown,
  step: PlanStep,
  at: { index: number; attempt: number; rollback: boolean },
  opts: RunStepsOptions,
): Promise<{ outcome: StepOutcome; timedOut: boolean }> {
  const ac = new AbortController();
  let timedOut = false;
  const onCancel = () => ac.abort(new Error('run cancelled'));
  opts.signal?.addEventListener('abort', onCancel, { once: true });
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort(new Error(`step timed out (timeout_s=${step.timeout_s})`));
  }, opts.stepTimeoutMs?.(step) ?? step.timeout_s * 1000);
  let graceTimer: NodeJS.Timeout | undefined;
  const abandoned = new Promise<StepOutcome>((resolve) => {
    ac.signal.addEventListener('abort', () => {
      graceTimer = setTimeout(
        () => resolve({ ok: false, summary: `${errorText(ac.signal.reason)}; the adapter did not stop and was abandoned` }),
        opts.abortGraceMs ?? 5000,
      );
    });
  });
  const ctx = { signal: ac.signal, caseId: opts.caseId, stepIndex: at.index, attempt: at.attempt, ...(at.rollback ? { rollback: true } : {}), log: opts.log ?? (() => {}) };
  try {
    const running = Promise.resolve()
      .then(() => executor.run(params, ctx))
      .catch((e: unknown): StepOutcome => ({ ok: false, summary: `adapter error: ${errorText(e)}` }));
    const outcome = await Promise.race([running, abandoned]);
    return { outcome, timedOut };
  } finally {
    clearTimeout(timer);
    if (graceTimer) clearTimeout(graceTimer);
    opts.signal?.removeEventListener('abort', onCancel);
  }
}
