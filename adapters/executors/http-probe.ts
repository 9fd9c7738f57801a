/**
 * HTTP probes, shared by the step guards (guard-watcher.ts) and the Verifier's HTTP probe checks
 * (verifier-runner.ts): a plain GET, redirects not followed, within a timeout; the body is read
 * (capped) only when asked, otherwise discarded.
 */
import type { HttpProbeResult } from '../../core/executor/step-guards.js';
import { GUARD_LIMITS, PROBE_LIMITS, type HttpProbeCheck } from '../../core/schemas/plan.js';
import { errorText, sleep } from './executor-support.js';

/** Bodies longer than this are cut before matching. */
export const MAX_PROBE_BODY_CHARS = 64 * 1024;

/** GET `url` within its timeout; with `readBody`, keep the first 64 KiB of the body. */
export async function probeHttp(target: { url: string; timeout_ms?: number | undefined }, stop?: AbortSignal, opts: { readBody?: boolean } = {}): Promise<HttpProbeResult> {
  const timeoutMs = Math.min(target.timeout_ms ?? GUARD_LIMITS.defaultHttpTimeoutMs, GUARD_LIMITS.maxHttpTimeoutMs);
  const signal = stop ? AbortSignal.any([AbortSignal.timeout(timeoutMs), stop]) : AbortSignal.timeout(timeoutMs);
  const started = performance.now();
  try {
    const res = await fetch(target.url, { method: 'GET', redirect: 'manual', signal, headers: { 'user-agent': 'opsloop-probe' } });
    if (opts.readBody) {
      const body = (await res.text()).slice(0, MAX_PROBE_BODY_CHARS);
      return { status: res.status, latency_ms: performance.now() - started, body };
    }
    await res.body?.cancel().catch(() => {});
    return { status: res.status, latency_ms: performance.now() - started };
  } catch (err) {
    const name = (err as { name?: string })?.name;
    const error = name === 'TimeoutError' || name === 'AbortError' ? `no answer within ${timeoutMs} ms` : causeText(err);
    return { latency_ms: performance.now() - started, error };
  }
}

/** An HTTP probe check's probes: `probes` GETs, one after another, `interval_ms` apart. */
export async function runProbes(check: HttpProbeCheck, stop?: AbortSignal): Promise<HttpProbeResult[]> {
  const count = check.probes ?? PROBE_LIMITS.defaultProbes;
  const interval = check.interval_ms ?? PROBE_LIMITS.defaultIntervalMs;
  const results: HttpProbeResult[] = [];
  for (let i = 0; i < count; i++) {
    if (i > 0 && interval > 0) await sleep(interval, stop);
    if (stop?.aborted) break;
    results.push(await probeHttp(check, stop, { readBody: check.body_match !== undefined }));
  }
  return results;
}

function causeText(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? errorText(err);
}
