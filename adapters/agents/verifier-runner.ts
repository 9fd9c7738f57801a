import { performance } from 'node:perf_hooks';
import { evaluateChecks, renderQuery, resolveVerifySpec, type Measurement, type ResolvedCheck, type ResolvedVerifySpec, type VerifyEvaluation } from '../../core/agents/verifier.js';
import { runProbes } from '../executors/http-probe.js';
import type { MetricsSource } from '../../core/ports/metrics-source.js';
import type { ChangePlan, VerifySpec } from '../../core/schemas/plan.js';
import { serviceDefaultsFor, type ServiceDefaults, type ServicesFile, type VerifyDefaults } from '../../core/schemas/services.js';

/**
 * Runs a plan's verification: renders each PromQL check's query for the case and measures it in
 * Prometheus, runs each HTTP probe check's probes (no Prometheus needed), all checks at once, and
 * judges the results with the pure core Verifier.
 * The settle delay is NOT waited here: the job scheduler runs this `settleSeconds()` later.
 */

export interface VerificationCase {
  service?: string | null;
  env?: string | null;
}

export interface VerificationInput {
  plan: ChangePlan;
  case: VerificationCase;
  /** Without it, PromQL checks fail ("PROMETHEUS_URL is not set"); HTTP probe checks still run. */
  prometheus?: Pick<MetricsSource, 'queryInstant'> | undefined;
  /** The service's entry from config/services.yml (see `serviceDefaultsFor`). */
  serviceDefaults?: ServiceDefaults;
  /** Evaluation time for the queries; default: Prometheus' now. */
  at?: Date;
  /** Called once with the whole run's duration (verify_latency_seconds). */
  observeLatency?: (seconds: number) => void;
}

export interface VerificationReport extends VerifyEvaluation {
  spec: ResolvedVerifySpec;
  /** Wall-clock duration of the measurement, seconds. */
  duration_s: number;
}

/** Seconds to wait after execution before measuring: the plan's settle_s, else the service's, else 60. */
export function settleSeconds(planVerify: VerifySpec | undefined, defaults: Partial<VerifyDefaults> | undefined): number {
  return resolveVerifySpec(planVerify, defaults).settle_s;
}

export async function runVerification(input: VerificationInput): Promise<VerificationReport> {
  const started = performance.now();
  const spec = resolveVerifySpec(input.plan.verify, input.serviceDefaults?.verify);
  const vars = { service: input.case.service ?? null, env: input.case.env ?? input.serviceDefaults?.env ?? null };
  const rendered = spec.checks.map((check): Rendered => (check.kind === 'http' ? { probe: check } : renderVars(check.query, { ...vars, window: check.window })));
  const measurements = await Promise.all(rendered.map((r) => measure(input, r)));
  // Report the query as it was sent (placeholders filled in), so the thread shows what ran.
  const evaluation = evaluateChecks(spec.checks.map((check, i) => {
    const r = rendered[i];
    return r && 'query' in r ? { ...check, query: r.query } : check;
  }), measurements);
  const duration_s = (performance.now() - started) / 1000;
  input.observeLatency?.(duration_s);
  return { ...evaluation, spec, duration_s };
}

type Rendered = { query: string } | { error: string } | { probe: Extract<ResolvedCheck, { kind: 'http' }> };

function renderVars(query: string, vars: { service: string | null; env: string | null; window: string }): Rendered {
  try {
    return { query: renderQuery(query, vars) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

async function measure(input: VerificationInput, rendered: Rendered): Promise<Measurement> {
  if ('error' in rendered) return { value: null, error: rendered.error };
  if ('probe' in rendered) return { value: null, probes: await runProbes(rendered.probe) };
  if (!input.prometheus) return { value: null, error: 'PROMETHEUS_URL is not set' };
  try {
    const result = await input.prometheus.queryInstant(rendered.query, input.at);
    return { value: result.value };
  } catch (err) {
    return { value: null, error: (err as Error).message };
  }
}

/**
 * The Verifier as the agent jobs use it: `settleSeconds(plan, case)` and `verify(plan, case)`,
 * with the service defaults looked up in the loaded services file.
 */
export function createPrometheusVerifier(deps: { prometheus?: Pick<MetricsSource, 'queryInstant'> | undefined; services: ServicesFile; observeLatency?: (seconds: number) => void }) {
  const defaultsOf = (c: VerificationCase) => serviceDefaultsFor(deps.services, c.service);
  return {
    settleSeconds(plan: ChangePlan, c: VerificationCase): number {
      return settleSeconds(plan.verify, defaultsOf(c).verify);
    },
    verify(plan: ChangePlan, c: VerificationCase): Promise<VerificationReport> {
      return runVerification({ plan, case: c, ...(deps.prometheus ? { prometheus: deps.prometheus } : {}), serviceDefaults: defaultsOf(c), ...(deps.observeLatency ? { observeLatency: deps.observeLatency } : {}) });
    },
  };
}
