import { judgeHttpGuard, expectedStatusText, type HttpProbeResult } from '../executor/step-guards.js';
import { PROBE_LIMITS, type HttpProbeCheck } from '../schemas/plan.js';

/**
 * The pure part of the Verifier's HTTP probe check (a blackbox probe): judge each probe's status
 * (the same rule as the step guards' HTTP probe) and body, then the success ratio and the latency
 * percentile over all probes. A probe with no answer fails and counts with the time it waited.
 */

/** The judged probe run, shaped like a PromQL check's result so the thread and events read both. */
export interface ProbeCheckJudgement {
  pass: boolean;
  /** The latency percentile (ms) when the check bounds latency, else the success ratio. */
  value: number | null;
  op: '<=' | '>=';
  threshold: number;
  /** Why it failed (absent when it passed). */
  error?: string;
  /** One line: "4/5 ok (HTTP 200×4, 503×1), p95 31 ms (want ≤ 250 ms)". */
  detail: string;
  probe: { sent: number; ok: number; statuses: Record<string, number>; percentile: number; latency_ms: number | null };
}

/** Nearest-rank percentile of `values` (p in 1..100); null for none. */
export function percentile(values: readonly number[], p: number): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/** Why one probe failed, or null when it passed (accepted status and, when asked, a matching body). */
export function probeFailure(check: Pick<HttpProbeCheck, 'expect_status' | 'body_match'>, probe: HttpProbeResult): string | null {
  const status = judgeHttpGuard({ ...(check.expect_status !== undefined ? { expect_status: check.expect_status } : {}) }, probe);
  if (!status.ok) return status.why;
  if (check.body_match !== undefined && !new RegExp(check.body_match).test(probe.body ?? '')) return `body does not match /${check.body_match}/`;
  return null;
}

export function judgeProbeCheck(check: HttpProbeCheck, probes: readonly HttpProbeResult[]): ProbeCheckJudgement {
  const failures = probes.map((p) => probeFailure(check, p));
  const ok = failures.filter((f) => f === null).length;
  const statuses: Record<string, number> = {};
  for (const p of probes) {
    const key = p.status === undefined ? 'no answer' : String(p.status);
    statuses[key] = (statuses[key] ?? 0) + 1;
  }
  const pct = check.latency_percentile ?? PROBE_LIMITS.defaultPercentile;
  const latency = percentile(probes.map((p) => p.latency_ms), pct);
  const latencyMs = latency === null ? null : Math.round(latency);
  const minRatio = check.min_success_ratio ?? 1;
  const ratio = probes.length ? ok / probes.length : 0;
  const ratioOk = probes.length > 0 && ratio >= minRatio;
  const latencyOk = check.max_latency_ms === undefined || (latencyMs !== null && latencyMs <= check.max_latency_ms);
  const seen = Object.entries(statuses).map(([k, n]) => (k === 'no answer' ? `no answer×${n}` : `HTTP ${k}×${n}`)).join(', ');
  const want = check.max_latency_ms !== undefined ? ` (want ≤ ${check.max_latency_ms} ms)` : '';
  const detail = `${ok}/${probes.length} ok (${seen || 'no probes'}), p${pct} ${latencyMs ?? '-'} ms${want}`;
  const firstFailure = failures.find((f) => f !== null);
  const errors: string[] = [];
  if (!ratioOk) errors.push(`${ok}/${probes.length} probes succeeded, want ≥ ${Math.ceil(minRatio * probes.length)} (status ${expectedStatusText(check)}${check.body_match ? `, body /${check.body_match}/` : ''})${firstFailure ? `: ${firstFailure}` : ''}`);
  if (!latencyOk) errors.push(`p${pct} latency ${latencyMs ?? '-'} ms, want ≤ ${check.max_latency_ms} ms`);
  const bounded = check.max_latency_ms !== undefined;
  return {
    pass: ratioOk && latencyOk,
    value: bounded ? latencyMs : Number(ratio.toFixed(3)),
    op: bounded ? '<=' : '>=',
    threshold: bounded ? check.max_latency_ms! : minRatio,
    ...(errors.length ? { error: errors.join('; ') } : {}),
    detail,
    probe: { sent: probes.length, ok, statuses, percentile: pct, latency_ms: latencyMs },
  };
}
