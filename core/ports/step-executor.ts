import type { StepAction } from '../schemas/plan.js';
import type { FieldIssue } from '../schemas/issues.js';

/** What an adapter reports after running one attempt of one step. Expected failures are values, not throws. */
export interface StepOutcome {
  /** True when the step did what it was asked to do (exit 0, rollout complete, run concluded `success`, 2xx). */
  ok: boolean;
  /** One human-readable line for the timeline and the chat thread. Never contains secrets. */
  summary: string;
  /** Captured output (stdout/stderr or a response excerpt), already truncated and secret-redacted. */
  output?: string;
  /** Structured facts about the attempt (exit code, revision, run id, HTTP status…), safe to store. */
  details?: Record<string, unknown>;
  /** Where the full log lives (a run URL or a log-system link); referenced, never copied. */
  locator?: string;
}

/** What the runner hands an adapter for one attempt. */
export interface StepContext {
  /** Aborted when the step's timeout expires or the whole run is cancelled; adapters must stop promptly. */
  signal: AbortSignal;
  /** The case the plan belongs to (for idempotency keys, log locators and markers). */
  caseId: string;
  /** Position of the step in its list (0-based; rollback steps count from 0 in the rollback list). */
  stepIndex: number;
  /** Attempt number, 1 for the first try, up to 1 + the step's `retry`. */
  attempt: number;
  /** True for rollback and undo steps (their indexes restart at 0: keep them apart in idempotency keys). */
  rollback?: boolean;
  /** Progress line sink (structured logs); lines must not contain secrets. */
  log: (line: string) => void;
}

/** Result of checking a step's params before anything runs. */
export type StepParamsCheck<P> = { ok: true; params: P } | { ok: false; issues: FieldIssue[] };

/**
 * One adapter per plan action (`script.exec`, `k8s.rollout`, …). The runner validates params with
 * `validate` first and only calls `run` with params that passed; refused params never run.
 */
export interface StepExecutor<P = unknown> {
  /** The plan action this adapter handles; the runner's registry is keyed by it. */
  readonly action: StepAction;
  /**
   * Check the step's raw params (from the plan) against this adapter's schema and its own
   * configuration (registered scripts, configured gateways…). Pure of side effects.
   */
  validate(params: unknown): StepParamsCheck<P>;
  /**
   * Run one attempt with params `validate` accepted. Resolves with an outcome for expected
   * failures (non-zero exit, 404, failed conclusion, timeout via `ctx.signal`); a throw means a bug.
   */
  run(params: P, ctx: StepContext): Promise<StepOutcome>;
}
