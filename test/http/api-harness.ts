import type { FastifyInstance } from 'fastify';
import { buildServer, type HttpPlugin } from '../../adapters/http/server.js';
import { silentLogger } from '../../adapters/log.js';
import { PromMetrics } from '../../adapters/metrics/prom-metrics.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite-case-store.js';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';
import { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import type { ChangePlan } from '../../core/schemas/plan.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';

export interface ApiHarness {
  app: FastifyInstance;
  store: PgliteCaseStore;
  metrics: PromMetrics;
  orchestrator: Orchestrator;
  close(): Promise<void>;
}

/** The real HTTP API on a fresh PGlite store (not listening; use inject, or listen for fetch). */
export async function startApi(options: { bodyLimit?: number; plugins?: HttpPlugin[] } = {}): Promise<ApiHarness> {
  const store = await createTestPgliteStore();
  const metrics = new PromMetrics();
  metrics.trackBacklog(() => store.outbox.backlog());
  const orchestrator = new Orchestrator({ store, clock: systemClock, ids: uuidGen, metrics });
  const app = buildServer({
    orchestrator, store, metrics, logger: silentLogger(),
    ...(options.bodyLimit ? { bodyLimit: options.bodyLimit } : {}),
    ...(options.plugins ? { plugins: options.plugins } : {}),
  });
  await app.ready();
  return {
    app, store, metrics, orchestrator,
    async close() {
      await app.close();
      await cleanupTestPgliteStore(store);
    },
  };
}

let keySeq = 0;
/** A fresh Idempotency-Key. */
export function key(label = 'k'): string {
  keySeq += 1;
  return `${label}-${process.pid}-${Date.now()}-${keySeq}`;
}

export const completePlan: ChangePlan = {
  title: 'restart checkout-api',
  risk_score: 0.2,
  steps: [{ action: 'script.exec', params: { script: 'echo-ok' }, timeout_s: 30, retry: 1 }],
  rollback: { note: 'nothing to undo' },
  verify: { settle_s: 0, checks: [] },
};

export async function createCase(app: FastifyInstance, body: Record<string, unknown> = { title: 'p95 spike', tenant: 't-001' }): Promise<{ case_id: string; version: number; status: string }> {
  const res = await app.inject({ method: 'POST', url: '/case/create', headers: { 'idempotency-key': key('create') }, payload: body });
  if (res.statusCode !== 201) throw new Error(`create failed: ${res.statusCode} ${res.body}`);
  return res.json().data;
}

export function transition(app: FastifyInstance, caseId: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'PATCH', url: `/case/${caseId}/transition`,
    headers: { 'idempotency-key': key('tr'), ...headers },
    payload: body,
  });
}

/** Events that carry a case from NEW to CLOSED, with the meta each needs. */
export const HAPPY_PATH: Array<{ event: string; actor: string; to: string; meta?: Record<string, unknown> }> = [
  { event: 'start_analysis', actor: 'analyst@svc', to: 'ANALYZING' },
  { event: 'analysis_done', actor: 'analyst@svc', to: 'PLANNING' },
  { event: 'plan_ready', actor: 'planner@svc', to: 'WAIT_GATE', meta: { plan: completePlan } },
  { event: 'gate_approved', actor: 'alice@example.com', to: 'EXECUTING' },
  { event: 'exec_done', actor: 'executor@svc', to: 'VERIFYING' },
  { event: 'verify_pass', actor: 'verifier@svc', to: 'CLOSED' },
];

/** Drive a case through the first `steps` events of the happy path. */
export async function advance(app: FastifyInstance, caseId: string, steps: number): Promise<void> {
  for (const step of HAPPY_PATH.slice(0, steps)) {
    const res = await transition(app, caseId, { event: step.event, actor: step.actor, ...(step.meta ? { meta: step.meta } : {}) });
    if (res.statusCode !== 200) throw new Error(`${step.event} failed: ${res.statusCode} ${res.body}`);
  }
}

/** Value of one counter series in Prometheus text, 0 when absent. */
export function counterValue(metricsText: string, series: string): number {
  for (const line of metricsText.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return 0;
}
