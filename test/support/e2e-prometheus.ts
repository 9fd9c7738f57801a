import { startE2e, type E2e, type E2eOptions } from '../e2e/e2e-harness.js';
import { ERROR_RATIO_METRIC } from '../e2e/e2e-fixtures.js';
import { startPrometheus, type PrometheusHarness } from './prometheus.js';

/** The whole opsloop (`startE2e`) and the real Prometheus its Verifier and evidence gatherer query. */
export interface E2eWithPrometheus {
  prom: PrometheusHarness;
  e2e: E2e;
  /** Close opsloop, then Prometheus. */
  close(): Promise<void>;
}

/**
 * A real Prometheus scraping a target that serves `ERROR_RATIO_METRIC` at `errorRatios` (service →
 * value), and the whole opsloop with `opts` and `PROMETHEUS_URL` pointing at it. Resolves once
 * Prometheus has scraped every series, so verification measures real values rather than an empty
 * answer. Null when Prometheus is missing (skip with `prometheusSkipReason()`).
 */
export async function startE2eWithPrometheus(errorRatios: Record<string, number>, opts: E2eOptions): Promise<E2eWithPrometheus | null> {
  const prom = await startPrometheus();
  if (!prom) return null;
  try {
    for (const [service, value] of Object.entries(errorRatios)) prom.target.set(ERROR_RATIO_METRIC, { service }, value);
    const starting = startE2e({ ...opts, env: { ...opts.env, PROMETHEUS_URL: prom.url } });
    const scraped = prom.waitForValue(`count(${ERROR_RATIO_METRIC})`, (v) => v === Object.keys(errorRatios).length, 60_000);
    const [e2e] = await Promise.all([starting, scraped]).catch(async (err: unknown) => {
      await starting.then((started) => started.close(), () => undefined);
      throw err;
    });
    return { prom, e2e, async close() { await e2e.close(); await prom.close(); } };
  } catch (err) {
    await prom.close();
    throw err;
  }
}
