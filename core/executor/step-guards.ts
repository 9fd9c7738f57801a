import { compare } from '../agents/verifier.js';
import { GUARD_LIMITS, type HttpGuard, type PlanStep, type PromqlGuard, type StepGuard } from '../schemas/plan.js';

/**
 * The pure part of step guards: defaults, judging one poll of one guard, counting consecutive
 * failures until a guard trips, and the words for the timeline and the thread. A poll with no
 * value (query error, empty result, NaN, no HTTP answer) FAILS, as in the Verifier.
 */

/** A step's guards with their defaults applied. */
export interface StepGuardPlan {
  guards: Array<StepGuard & { name: string }>;
  settleMs: number;
  tripAfter: number;
}

/** The guards a step declares, with names and defaults; null when it declares none. */
export function stepGuardPlan(step: Pick<PlanStep, 'guards' | 'guard_settle_s' | 'trip_after'>): StepGuardPlan | null {
  if (!step.guards?.length) return null;
  return {
    guards: step.guards.map((g, i) => ({ ...g, name: g.name ?? `${g.kind} guard ${i + 1}` })),
    settleMs: Math.min(step.guard_settle_s ?? GUARD_LIMITS.defaultSettleS, GUARD_LIMITS.maxSettleS) * 1000,
    tripAfter: Math.min(step.trip_after ?? GUARD_LIMITS.defaultTripAfter, GUARD_LIMITS.maxTripAfter),
  };
}

/** One poll of one guard. `observed` is the measured value (PromQL) or HTTP status; null when none. */
export interface GuardObservation {
  ok: boolean;
  observed: number | null;
  /** Why the poll failed, in words (empty when it passed). */
  why: string;
  latency_ms?: number;
}

/** What an HTTP probe saw: a status and latency, or an error (timeout, refused, DNS). */
export interface HttpProbeResult {
  status?: number;
  latency_ms: number;
  error?: string;
  /** The answer's body (capped), when the prober was asked to read it. */
  body?: string;
}

/** Judge a PromQL guard's measurement: the value must exist, be finite and satisfy `op threshold`. */
export function judgePromqlGuard(guard: Pick<PromqlGuard, 'op' | 'threshold'>, m: { value: number | null; error?: string }): GuardObservation {
  if (m.error) return { ok: false, observed: null, why: `query failed: ${m.error}` };
  if (m.value === null) return { ok: false, observed: null, why: 'the query returned no value' };
  if (!Number.isFinite(m.value)) return { ok: false, observed: null, why: `the query returned ${String(m.value)}` };
  const ok = compare(m.value, guard.op, guard.threshold);
  return { ok, observed: m.value, why: ok ? '' : `${formatValue(m.value)} ${relation(m.value, guard.threshold)} ${formatValue(guard.threshold)}, want ${guard.op} ${formatValue(guard.threshold)}` };
}

/** The status codes an HTTP guard accepts, for messages ("200..399" or "200, 204"). */
export function expectedStatusText(guard: Pick<HttpGuard, 'expect_status'>): string {
  const e = guard.expect_status;
  if (e === undefined) return '200..399';
  return Array.isArray(e) ? e.join(', ') : String(e);
}

/** Whether `status` is one the guard (or probe check) accepts: default 200..399; a code, a list or "200..299". */
export function statusAccepted(guard: Pick<HttpGuard, 'expect_status'>, status: number): boolean {
  const e = guard.expect_status;
  if (e === undefined) return status >= 200 && status <= 399;
  if (typeof e === 'string') return status >= Number(e.slice(0, 3)) && status <= Number(e.slice(5));
  return Array.isArray(e) ? e.includes(status) : e === status;
}

/** Judge an HTTP probe: an accepted status within `max_latency_ms` (when set). */
export function judgeHttpGuard(guard: Pick<HttpGuard, 'expect_status' | 'max_latency_ms'>, probe: HttpProbeResult): GuardObservation {
  const latency = { latency_ms: Math.round(probe.latency_ms) };
  if (probe.error !== undefined || probe.status === undefined) {
    return { ok: false, observed: null, why: `no answer: ${probe.error ?? 'unknown error'}`, ...latency };
  }
  if (!statusAccepted(guard, probe.status)) {
    return { ok: false, observed: probe.status, why: `HTTP ${probe.status}, want ${expectedStatusText(guard)}`, ...latency };
  }
  if (guard.max_latency_ms !== undefined && probe.latency_ms > guard.max_latency_ms) {
    return { ok: false, observed: probe.status, why: `answered in ${latency.latency_ms} ms, want ≤ ${guard.max_latency_ms} ms`, ...latency };
  }
  return { ok: true, observed: probe.status, why: '', ...latency };
}

/** Consecutive failing polls per guard, and how many polls were made. */
export interface GuardTally {
  polls: number;
  consecutive: readonly number[];
}

export function emptyTally(guardCount: number): GuardTally {
  return { polls: 0, consecutive: Array.from({ length: guardCount }, () => 0) };
}

/** Why a step was stopped: which guard, what it saw and what it wanted. */
export type GuardTrip = {
  name: string;
  kind: StepGuard['kind'];
  /** The last observed value (PromQL) or HTTP status; null when there was none. */
  observed: number | null;
  /** PromQL guards: the threshold and operator; HTTP guards: null. */
  threshold: number | null;
  op: string | null;
  /** HTTP guards: the accepted statuses ("200..399"). */
  expect_status?: string;
  /** The rendered query or the probed URL. */
  target: string;
  /** Polls of the step's guards so far, and this guard's consecutive failures. */
  polls: number;
  consecutive: number;
  why: string;
};

/**
 * Add one round of observations (one per guard, same order). The first guard whose consecutive
 * failures reach `tripAfter` trips. Pure.
 */
export function recordGuardPolls(
  plan: StepGuardPlan,
  tally: GuardTally,
  observations: readonly GuardObservation[],
  targets: readonly string[],
): { tally: GuardTally; trip: GuardTrip | null } {
  if (observations.length !== plan.guards.length) throw new Error(`recordGuardPolls: ${plan.guards.length} guards but ${observations.length} observations`);
  const consecutive = observations.map((o, i) => (o.ok ? 0 : (tally.consecutive[i] ?? 0) + 1));
  const next = { polls: tally.polls + 1, consecutive };
  const tripped = consecutive.findIndex((n) => n >= plan.tripAfter);
  if (tripped < 0) return { tally: next, trip: null };
  const guard = plan.guards[tripped]!;
  const seen = observations[tripped]!;
  return {
    tally: next,
    trip: {
      name: guard.name, kind: guard.kind, observed: seen.observed,
      threshold: guard.kind === 'promql' ? guard.threshold : null,
      op: guard.kind === 'promql' ? guard.op : null,
      ...(guard.kind === 'http' ? { expect_status: expectedStatusText(guard) } : {}),
      target: targets[tripped] ?? (guard.kind === 'promql' ? guard.query : guard.url),
      polls: next.polls, consecutive: consecutive[tripped]!, why: seen.why,
    },
  };
}

/** "guard error-ratio tripped (0.31 > 0.05)": one phrase for summaries and the thread. */
export function describeTrip(trip: Pick<GuardTrip, 'name' | 'kind' | 'observed' | 'threshold' | 'why'>): string {
  if (trip.kind === 'promql' && trip.observed !== null && trip.threshold !== null) {
    return `guard ${trip.name} tripped (${formatValue(trip.observed)} ${relation(trip.observed, trip.threshold)} ${formatValue(trip.threshold)})`;
  }
  return `guard ${trip.name} tripped (${trip.why})`;
}

/** How the run ended after a trip: undone, not undone, or the undo failed (said loudly). */
export function describeUndo(u: { attempted: boolean; ok: boolean; steps: number; source: 'step' | 'plan' | null }): string {
  if (!u.attempted) return 'nothing to undo it with — the change is still in place, check the target by hand';
  const what = u.source === 'plan' ? `the plan's rollback (${u.steps} step${u.steps === 1 ? '' : 's'})` : `${u.steps} step${u.steps === 1 ? '' : 's'}`;
  return u.ok ? `undone by ${what}` : `undo FAILED — the change is still in place (${what} attempted); check the target by hand`;
}

function relation(value: number, threshold: number): string {
  return value > threshold ? '>' : value < threshold ? '<' : '=';
}

function formatValue(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
}
