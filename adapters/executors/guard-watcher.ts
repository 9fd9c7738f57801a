/**
 * Watches a step's guards: every `intervalMs` it measures each PromQL guard through the
 * MetricsSource port and probes each HTTP guard with a plain GET, and hands the observations to
 * the pure tally (core/executor/step-guards.ts). When a guard trips, `tripped` aborts with the
 * trip as its reason, so the step runner can stop the step at once.
 */
import { renderQuery, type QueryVars } from '../../core/agents/verifier.js';
import type { MetricsSource } from '../../core/ports/metrics-source.js';
import {
  emptyTally, judgeHttpGuard, judgePromqlGuard, recordGuardPolls,
  type GuardObservation, type GuardTrip, type StepGuardPlan,
} from '../../core/executor/step-guards.js';
import { errorText, sleep } from './executor-support.js';
import { probeHttp } from './http-probe.js';

export { probeHttp } from './http-probe.js';

/** What a runner needs to watch guards. */
export interface GuardWatchOptions {
  /** Where PromQL guards are measured; without it a step with a PromQL guard is refused. */
  metrics?: Pick<MetricsSource, 'queryInstant'>;
  /** `$service`, `$env`, `$window` for the queries (the case's service and env). */
  vars?: QueryVars;
  /** Between polls; default 5 s (tests shrink it). */
  intervalMs?: number;
}

export const DEFAULT_GUARD_INTERVAL_MS = 5_000;
const DEFAULT_GUARD_WINDOW = '1m';

export interface GuardWatch {
  /** Aborts (reason: the GuardTrip) when a guard trips. */
  readonly tripped: AbortSignal;
  /** The trip, once one happened. */
  trip(): GuardTrip | null;
  /** Polls so far. */
  polls(): number;
  /** Resolve after `ms`, or earlier when a guard trips or `signal` aborts. */
  settle(ms: number, signal?: AbortSignal): Promise<void>;
  /** Stop polling (an in-flight poll is abandoned). Idempotent. */
  stop(): Promise<void>;
}

/** Why a step with guards cannot be watched with these options (null when it can). */
export function guardsUnwatchable(plan: StepGuardPlan, opts: GuardWatchOptions | undefined): string | null {
  const promql = plan.guards.find((g) => g.kind === 'promql');
  if (promql && !opts?.metrics) return `guard ${promql.name} needs Prometheus (PROMETHEUS_URL is not set)`;
  return null;
}

/** Start polling; the first poll happens one interval after the start. */
export function startGuardWatch(plan: StepGuardPlan, opts: GuardWatchOptions): GuardWatch {
  const intervalMs = opts.intervalMs ?? DEFAULT_GUARD_INTERVAL_MS;
  const tripAc = new AbortController();
  const stopAc = new AbortController();
  let tally = emptyTally(plan.guards.length);
  let trip: GuardTrip | null = null;

  const targets = plan.guards.map((g) => (g.kind === 'promql' ? renderGuardQuery(g.query, g.window, opts.vars) : { text: g.url }));
  const pollOnce = (): Promise<GuardObservation[]> => Promise.all(plan.guards.map(async (g, i) => {
    const target = targets[i]!;
    if (g.kind === 'http') return judgeHttpGuard(g, await probeHttp(g, stopAc.signal));
    if ('error' in target) return judgePromqlGuard(g, { value: null, error: target.error });
    return judgePromqlGuard(g, await measure(opts.metrics, target.text));
  }));

  const loop = (async () => {
    while (!stopAc.signal.aborted && !trip) {
      await sleep(intervalMs, stopAc.signal);
      if (stopAc.signal.aborted) return;
      const observations = await raceAbort(pollOnce(), stopAc.signal);
      if (!observations || stopAc.signal.aborted) return;
      const next = recordGuardPolls(plan, tally, observations, targets.map((t) => ('text' in t ? t.text : t.error)));
      tally = next.tally;
      if (next.trip) {
        trip = next.trip;
        tripAc.abort(trip);
      }
    }
  })();

  return {
    tripped: tripAc.signal,
    trip: () => trip,
    polls: () => tally.polls,
    async settle(ms, signal) {
      const any = signal ? AbortSignal.any([tripAc.signal, signal]) : tripAc.signal;
      await sleep(ms, any);
    },
    async stop() {
      stopAc.abort();
      await loop;
    },
  };
}

function renderGuardQuery(query: string, window: string | undefined, vars: QueryVars | undefined): { text: string } | { error: string } {
  try {
    return { text: renderQuery(query, { ...vars, window: window ?? vars?.window ?? DEFAULT_GUARD_WINDOW }) };
  } catch (err) {
    return { error: errorText(err) };
  }
}

async function measure(metrics: GuardWatchOptions['metrics'], query: string): Promise<{ value: number | null; error?: string }> {
  if (!metrics) return { value: null, error: 'no metrics source (PROMETHEUS_URL is not set)' };
  try {
    return { value: (await metrics.queryInstant(query)).value };
  } catch (err) {
    return { value: null, error: errorText(err) };
  }
}

/** The promise's value, or undefined as soon as `signal` aborts. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e: unknown) => { signal.removeEventListener('abort', onAbort); reject(e); },
    );
  });
}
