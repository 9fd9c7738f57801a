import { startAlertmanager, type AlertmanagerHarness } from './alertmanager.js';
import { startPrometheus, type PrometheusHarness } from './prometheus.js';
import { pollFor, type Probe } from './wait.js';

/** A real Prometheus evaluating rules → a real Alertmanager → a webhook (opsloop's), on loopback. */
export interface AlertChain {
  am: AlertmanagerHarness;
  prom: PrometheusHarness;
  /** Poll `fn` (250 ms) until it answers; on a timeout the error shows both servers' last log lines. */
  waitFor<T>(what: string, fn: Probe<T>, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

/** Start the chain; null when a binary is missing (the caller skips with the harnesses' reasons). */
export async function startAlertChain(o: { webhookUrl: string; bearerToken: string; ruleFiles: string[] }): Promise<AlertChain | null> {
  const am = await startAlertmanager({ webhookUrl: o.webhookUrl, bearerToken: o.bearerToken });
  if (!am) return null;
  const prom = await startPrometheus({ ruleFiles: o.ruleFiles, alertmanagers: [am.hostPort] });
  if (!prom) {
    await am.close();
    return null;
  }
  return {
    am, prom,
    waitFor: (what, fn, timeoutMs = 60_000) => pollFor(what, fn, {
      timeoutMs, intervalMs: 250,
      describe: () => `alertmanager: ${am.logs().slice(-1500)}\nprometheus: ${prom.logs().slice(-1500)}`,
    }),
    async close() {
      await prom.close();
      await am.close();
    },
  };
}
