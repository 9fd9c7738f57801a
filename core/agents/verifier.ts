import { OpsError } from '../errors.js';
import { checkTarget, isHttpProbeCheck, type HttpProbeCheck, type PromqlCheck, type VerifyCheck, type VerifyOperator, type VerifySpec } from '../schemas/plan.js';
import type { HttpProbeResult } from '../executor/step-guards.js';
import { judgeProbeCheck, type ProbeCheckJudgement } from './http-probe-check.js';
import type { VerifyDefaults } from '../schemas/services.js';

/**
 * The Verifier's pure part: merge the plan's verify spec with the service's defaults, render
 * PromQL placeholders from validated values, and judge measured values against thresholds.
 * A missing, non-finite or failed measurement FAILS its check; it never passes.
 */

export const DEFAULT_SETTLE_S = 60;
export const DEFAULT_WINDOW = '5m';

/** A check after defaults: every PromQL check has a window. */
export type ResolvedCheck = (PromqlCheck & { window: string }) | HttpProbeCheck;

export interface ResolvedVerifySpec {
  settle_s: number;
  window: string;
  checks: ResolvedCheck[];
}

/** One measurement per check, in the same order: a value, or why there is none; HTTP probe checks carry their probes. */
export interface Measurement {
  value: number | null;
  error?: string;
  probes?: readonly HttpProbeResult[];
}

export interface CheckResult {
  name: string;
  /** Present for HTTP probe checks; PromQL checks leave it out. */
  kind?: 'http';
  /** The PromQL query, or "GET <url>" for an HTTP probe. */
  query: string;
  op: VerifyOperator;
  threshold: number;
  window: string | null;
  value: number | null;
  pass: boolean;
  error?: string;
  /** HTTP probe checks: what the probes saw, in one line, and the tally. */
  detail?: string;
  probe?: ProbeCheckJudgement['probe'];
}

export interface VerifyEvaluation {
  pass: boolean;
  results: CheckResult[];
  /** One line for the timeline and the chat thread. */
  summary: string;
}

/**
 * Merge per-service defaults with the plan's verify block; the plan wins. Default checks stay
 * unless the plan has a check with the same name (or, unnamed, the same query), which replaces it.
 */
export function resolveVerifySpec(planVerify: VerifySpec | undefined, serviceDefaults: Partial<VerifyDefaults> | undefined): ResolvedVerifySpec {
  const window = serviceDefaults?.window ?? DEFAULT_WINDOW;
  const key = (c: VerifyCheck) => c.name ?? checkTarget(c);
  const merged = new Map<string, VerifyCheck>();
  for (const c of serviceDefaults?.checks ?? []) merged.set(key(c), c);
  for (const c of planVerify?.checks ?? []) merged.set(key(c), c);
  return {
    settle_s: planVerify?.settle_s ?? serviceDefaults?.settle_s ?? DEFAULT_SETTLE_S,
    window,
    checks: [...merged.values()].map((c): ResolvedCheck => (isHttpProbeCheck(c) ? c : { ...c, window: c.window ?? window })),
  };
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const DURATION = /^\d+[smhdwy]$/;
const PLACEHOLDER = /\$(?:\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*))/g;

export interface QueryVars {
  service?: string | null;
  env?: string | null;
  window?: string | null;
}

/**
 * Substitute `$service`, `$env`, `$window` (or `${…}`) in a PromQL query. Values must be plain
 * names / durations, so nothing can break out of a label matcher. Throws OpsError
 * OPS_VALIDATION for an unknown placeholder, a missing value or an invalid one.
 */
export function renderQuery(query: string, vars: QueryVars): string {
  return query.replace(PLACEHOLDER, (_match, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare) as string;
    if (name !== 'service' && name !== 'env' && name !== 'window') {
      throw new OpsError('OPS_VALIDATION', `unknown placeholder $${name} in query (known: $service, $env, $window)`, { query });
    }
    const value = vars[name];
    if (value === undefined || value === null || value === '') {
      throw new OpsError('OPS_VALIDATION', `the query uses $${name} but the case has no ${name}`, { query });
    }
    const valid = name === 'window' ? DURATION.test(value) : NAME.test(value);
    if (!valid) {
      throw new OpsError('OPS_VALIDATION', `refusing to put ${JSON.stringify(value)} into a query as $${name}: ${name === 'window' ? 'expected a duration like 5m' : 'expected a plain name like checkout-api'}`, { query });
    }
    return value;
  });
}

/** `value op threshold`. */
export function compare(value: number, op: VerifyOperator, threshold: number): boolean {
  switch (op) {
    case '<': return value < threshold;
    case '<=': return value <= threshold;
    case '>': return value > threshold;
    case '>=': return value >= threshold;
    case '==': return value === threshold;
    case '!=': return value !== threshold;
  }
}

/**
 * Judge each check against its measurement. Passes only when there is at least one check and
 * every check has a finite value satisfying its operator (set `passWhenEmpty` to accept none).
 */
export function evaluateChecks(checks: readonly VerifyCheck[], measurements: readonly Measurement[], options: { passWhenEmpty?: boolean } = {}): VerifyEvaluation {
  if (checks.length !== measurements.length) {
    throw new Error(`evaluateChecks: ${checks.length} checks but ${measurements.length} measurements`);
  }
  const results = checks.map((check, i) => judge(check, measurements[i] as Measurement, i));
  if (results.length === 0) {
    const pass = options.passWhenEmpty === true;
    return { pass, results, summary: pass ? 'no checks to run: passed by configuration' : 'no checks to run: verification cannot pass without a measurement' };
  }
  const pass = results.every((r) => r.pass);
  const passed = results.filter((r) => r.pass).length;
  const detail = results.map(describe).join('; ');
  return { pass, results, summary: `${passed}/${results.length} checks passed: ${detail}` };
}

function judge(check: VerifyCheck, m: Measurement, index: number): CheckResult {
  if (isHttpProbeCheck(check)) return judgeProbe(check, m, index);
  const base = { name: check.name ?? `check ${index + 1}`, query: check.query, op: check.op, threshold: check.threshold, window: check.window ?? null };
  if (m.error) return { ...base, value: null, pass: false, error: m.error };
  if (m.value === null || m.value === undefined) return { ...base, value: null, pass: false, error: 'the query returned no value' };
  if (!Number.isFinite(m.value)) return { ...base, value: null, pass: false, error: `the query returned ${String(m.value)}` };
  return { ...base, value: m.value, pass: compare(m.value, check.op, check.threshold) };
}

function judgeProbe(check: HttpProbeCheck, m: Measurement, index: number): CheckResult {
  const base = { name: check.name ?? `check ${index + 1}`, kind: 'http' as const, query: checkTarget(check), window: null };
  if (m.error || !m.probes) return { ...base, op: '<=', threshold: check.max_latency_ms ?? 0, value: null, pass: false, error: m.error ?? 'no probes were made' };
  const j = judgeProbeCheck(check, m.probes);
  return { ...base, op: j.op, threshold: j.threshold, value: j.value, pass: j.pass, ...(j.error ? { error: j.error } : {}), detail: j.detail, probe: j.probe };
}

function describe(r: CheckResult): string {
  if (r.kind === 'http') return `${r.name} ${r.pass ? 'ok' : 'FAILED'} (${r.error ?? r.detail ?? ''})`;
  if (r.error) return `${r.name} failed (${r.error})`;
  return `${r.name} ${r.value} ${r.op} ${r.threshold} ${r.pass ? 'ok' : 'FAILED'}`;
}
