/**
 * Runs a plan's steps in order through the step adapters: params are validated first (refused
 * params never run), each attempt gets its own AbortSignal that fires at the step's timeout,
 * failures are retried up to `retry` times with a small backoff, and a failed plan runs its
 * rollback steps through the same machinery. Every attempt is reported twice through
 * `onStepResult`: once as `running`, once with its final status.
 */
import type { Clock } from '../../core/ports/clock.js';
import type { StepExecutor, StepOutcome } from '../../core/ports/step-executor.js';
import type { ChangePlan, PlanStep, StepAction } from '../../core/schemas/plan.js';
import { describeIssues } from '../../core/schemas/issues.js';
import { errorText, sleep } from './executor-support.js';

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
  /** True for steps of the plan's rollback. */
  rollback: boolean;
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
}

export interface StepsRun {
  ok: boolean;
  /** Final results of every attempt, in order (no `running` entries). */
  results: StepResult[];
  /** Index of the step that failed, when one did. */
  failedIndex?: number;
  /** True when `signal` cancelled the run. */
  cancelled: boolean;
}

export interface PlanRun extends StepsRun {
  /** True only when rollback steps ran and all succeeded. */
  rolledBack: boolean;
  /** True when rollback steps were started (they may have failed). */
  rollbackAttempted: boolean;
}

const systemClock: Clock = { now: () => new Date() };
const defaultBackoff = (attempt: number) => Math.min(1000 * 2 ** (attempt - 1), 10_000);

/** Run `steps` in order; stop at the first step whose attempts all fail. */
export async function runPlanSteps(
  steps: readonly PlanStep[],
  executors: ExecutorRegistry,
  opts: RunStepsOptions,
  marks: { rollback: boolean } = { rollback: false },
): Promise<StepsRun> {
  const results: StepResult[] = [];
  for (const [index, step] of steps.entries()) {
    if (opts.signal?.aborted) return { ok: false, results, failedIndex: index, cancelled: true };
    const ok = await runStep(step, index, executors, opts, marks.rollback, results);
    if (!ok) return { ok: false, results, failedIndex: index, cancelled: opts.signal?.aborted ?? false };
  }
  return { ok: true, results, cancelled: false };
}

/** Run the plan; on failure (not cancellation) run `plan.rollback.steps`, reported with `rollback: true`. */
export async function runPlan(
  plan: Pick<ChangePlan, 'steps' | 'rollback'>,
  executors: ExecutorRegistry,
  opts: RunStepsOptions,
): Promise<PlanRun> {
  const main = await runPlanSteps(plan.steps, executors, opts);
  if (main.ok) return { ...main, rolledBack: false, rollbackAttempted: false };
  const rollbackSteps = plan.rollback.steps ?? [];
  if (main.cancelled || rollbackSteps.length === 0) return { ...main, rolledBack: false, rollbackAttempted: false };
  opts.log?.(`step ${main.failedIndex ?? '?'} failed; running ${rollbackSteps.length} rollback step(s)`);
  const back = await runPlanSteps(rollbackSteps, executors, opts, { rollback: true });
  return {
    ok: false,
    results: [...main.results, ...back.results],
    failedIndex: main.failedIndex,
    cancelled: back.cancelled,
    rolledBack: back.ok,
    rollbackAttempted: true,
  };
}

async function runStep(
  step: PlanStep,
  index: number,
  executors: ExecutorRegistry,
  opts: RunStepsOptions,
  rollback: boolean,
  results: StepResult[],
): Promise<boolean> {
  const clock = opts.clock ?? systemClock;
  const maxAttempts = 1 + step.retry;
  const base = { index, ...(step.name ? { name: step.name } : {}), action: step.action, max_attempts: maxAttempts, rollback };
  const report = async (r: StepResult) => {
    if (r.status !== 'running') {
      results.push(r);
      opts.observeStep?.(r.action, r.status, r.duration_ms / 1000);
    }
    await opts.onStepResult?.(r);
  };

  const executor = executors.get(step.action);
  const checked = executor ? executor.validate(step.params) : undefined;
  if (!executor || !checked?.ok) {
    const summary = !executor
      ? `refused: no executor is configured for ${step.action}`
      : `refused: ${describeIssues(checked && !checked.ok ? checked.issues : [])}`;
    const details = checked && !checked.ok ? { issues: checked.issues } : undefined;
    await report({ ...base, status: 'refused', attempt: 1, duration_ms: 0, summary, ...(details ? { details } : {}) });
    return false;
  }

  for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
    if (opts.signal?.aborted) return false;
    await report({ ...base, status: 'running', attempt, duration_ms: 0, summary: `running (attempt ${attempt} of ${maxAttempts})` });
    const started = clock.now().getTime();
    const { outcome, timedOut } = await runAttempt(executor, checked.params, step, { index, attempt }, opts);
    const status: FinalStepStatus = outcome.ok ? 'ok' : timedOut ? 'timeout' : 'failed';
    await report({
      ...base,
      status,
      attempt,
      duration_ms: Math.max(0, clock.now().getTime() - started),
      summary: outcome.summary,
      ...(outcome.output !== undefined ? { output: outcome.output } : {}),
      ...(outcome.details ? { details: outcome.details } : {}),
      ...(outcome.locator ? { locator: outcome.locator } : {}),
    });
    if (outcome.ok) return true;
    if (attempt < maxAttempts) await sleep((opts.backoffMs ?? defaultBackoff)(attempt), opts.signal);
  }
  return false;
}

/** One attempt with its own timeout; an adapter that ignores its signal is abandoned after a grace period. */
async function runAttempt(
  executor: StepExecutor,
  params: unknown,
  step: PlanStep,
  at: { index: number; attempt: number },
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
  const ctx = { signal: ac.signal, caseId: opts.caseId, stepIndex: at.index, attempt: at.attempt, log: opts.log ?? (() => {}) };
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
