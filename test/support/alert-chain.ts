import { after, before } from 'node:test';
import { loadConfig } from '../../adapters/config/env.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import type { ExtensionEntry } from '../../app/extensions.js';
import type { RunningOpsloop } from '../../app/start-opsloop.js';
import { alertmanagerBinary, alertmanagerSkipReason, startAlertmanager, type AlertmanagerHarness } from './alertmanager.js';
import { startTestOpsloop } from './test-opsloop.js';
import { prometheusBinary, prometheusSkipReason, startPrometheus, type PrometheusHarness } from './prometheus.js';
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

/** Why the chain cannot run here (a missing Prometheus or Alertmanager binary), or false. */
export function alertChainSkipReason(): string | false {
  return !prometheusBinary() ? prometheusSkipReason() : !alertmanagerBinary() ? alertmanagerSkipReason() : false;
}

/** opsloop on a fresh PGlite store, its Alertmanager webhook fed by a real chain. */
export interface OpsloopOnAlertChain {
  store: PgliteCaseStore;
  app: RunningOpsloop;
  chain: AlertChain;
  /** Close the chain, opsloop and the store. */
  close(): Promise<void>;
}

/**
 * Start opsloop with `extensions` (the ingest extension among them), its ingest token `token`, on a
 * fresh PGlite store, and the chain evaluating `rule` that posts to its `/ingest/alertmanager`.
 * Throws when a binary is missing (check `alertChainSkipReason()` first); opsloop is closed again then.
 */
export async function startOpsloopOnAlertChain(o: { token: string; rule: string; extensions: ExtensionEntry[] }): Promise<OpsloopOnAlertChain> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', OPSLOOP_INGEST_TOKEN: o.token });
  const opsloop = await startTestOpsloop(config, { extensions: o.extensions });
  const chain = await startAlertChain({ webhookUrl: `${opsloop.app.url}/ingest/alertmanager`, bearerToken: o.token, ruleFiles: [o.rule] })
    .catch(async (err: unknown) => { await opsloop.close(); throw err; });
  if (!chain) {
    await opsloop.close();
    throw new Error(`the alert chain cannot start: ${alertChainSkipReason() || 'a binary is missing'}`);
  }
  return {
    store: opsloop.store, app: opsloop.app, chain,
    async close() {
      await chain.close();
      await opsloop.close();
    },
  };
}

/**
 * A test file's set-up on the chain: registers `before` (start it, unless the chain cannot run here)
 * and `after` (close it). `skip` is for the tests' options; `get()` is the running set-up.
 */
export function useOpsloopOnAlertChain(o: { token: string; rule: string; extensions: ExtensionEntry[] }): { skip: string | false; get(): OpsloopOnAlertChain } {
  const skip = alertChainSkipReason();
  let run: OpsloopOnAlertChain | undefined;
  before(async () => {
    if (!skip) run = await startOpsloopOnAlertChain(o);
  });
  after(async () => {
    await run?.close();
  });
  return {
    skip,
    get() {
      if (!run) throw new Error('the alert chain set-up did not start (see the before hook)');
      return run;
    },
  };
}
