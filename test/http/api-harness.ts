import type { FastifyInstance } from 'fastify';
import { buildServer, type HttpPlugin } from '../../adapters/http/server.js';
import { silentLogger } from '../../adapters/log.js';
import { PromMetrics } from '../../adapters/metrics/prom-metrics.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';
import { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import type { ChangePlan } from '../../core/schemas/plan.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { ADMIN_HEADERS, TEST_USERS, injectWithDefaultHeaders, testAuth, type TestUser } from '../support/auth.js';
import type { HttpAuthConfig } from '../../adapters/http/auth-plugin.js';
import { dataOrThrow } from '../../core/orchestrator/outcome.js';

export interface ApiHarness {
  app: FastifyInstance;
  store: PgliteCaseStore;
  metrics: PromMetrics;
  orchestrator: Orchestrator;
  close(): Promise<void>;
}

/** The real HTTP API on a fresh PGlite store (not listening; use inject, or listen for fetch). */
/** Plugins to mount, or a function building them on the harness's store and Orchestrator (an extension's `http`). */
export type HarnessPlugins = HttpPlugin[] | ((parts: { store: PgliteCaseStore; orchestrator: Orchestrator; metrics: PromMetrics }) => Promise<HttpPlugin[]>);

export async function startApi(options: { bodyLimit?: number; plugins?: HarnessPlugins; auth?: HttpAuthConfig; defaultHeaders?: Record<string, string> } = {}): Promise<ApiHarness> {
  const store = await createTestPgliteStore();
  const metrics = new PromMetrics();
  metrics.trackBacklog(() => store.outbox.backlog());
  const orchestrator = new Orchestrator({ store, clock: systemClock, ids: uuidGen, metrics });
  const app = buildServer({
    orchestrator, store, metrics, logger: silentLogger(), auth: options.auth ?? testAuth(),
    ...(options.bodyLimit ? { bodyLimit: options.bodyLimit } : {}),
    ...(options.plugins ? { plugins: typeof options.plugins === 'function' ? await options.plugins({ store, orchestrator, metrics }) : options.plugins } : {}),
  });
  await app.ready();
  orchestrators.set(app, orchestrator);
  // Requests act as the test admin unless they send their own Authorization (or set it to '').
  injectWithDefaultHeaders(app, options.defaultHeaders ?? ADMIN_HEADERS);
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

/** Open a case as alice (a responder), unless `as` says otherwise. */
export async function createCase(app: FastifyInstance, body: Record<string, unknown> = { title: 'p95 spike', tenant: 't-001' }, as: TestUser = TEST_USERS.alice): Promise<{ case_id: string; version: number; status: string }> {
  const res = await app.inject({ method: 'POST', url: '/case/create', headers: { 'idempotency-key': key('create'), ...as.headers }, payload: body });
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

/**
 * Events that carry a case from NEW to CLOSED over REST, each sent by the principal the rules allow:
 * alice (responder) starts it, agent-only events are admin overrides with a reason, and bob, whom the
 * Gatekeeper's note names, approves (see `advance`). `actor` is the timeline actor each becomes.
 */
export const HAPPY_PATH: Array<{ event: string; actor: string; to: string; as: TestUser; override?: true; meta?: Record<string, unknown> }> = [
  { event: 'start_analysis', actor: 'token:alice', as: TEST_USERS.alice, to: 'ANALYZING' },
  { event: 'analysis_done', actor: 'token:admin', as: TEST_USERS.admin, override: true, to: 'PLANNING' },
  { event: 'plan_ready', actor: 'token:admin', as: TEST_USERS.admin, override: true, to: 'WAIT_GATE', meta: { plan: completePlan } },
  { event: 'gate_approved', actor: 'token:bob', as: TEST_USERS.bob, to: 'EXECUTING' },
  { event: 'exec_done', actor: 'token:admin', as: TEST_USERS.admin, override: true, to: 'VERIFYING' },
  { event: 'verify_pass', actor: 'token:admin', as: TEST_USERS.admin, override: true, to: 'CLOSED' },
];

const orchestrators = new WeakMap<FastifyInstance, Orchestrator>();

/** The Gatekeeper's needs_human note naming `approvers` (REST principal ids), written as the agent would. */
export async function writeGateNote(orchestrator: Orchestrator, caseId: string, approvers: string[], minApprovals = 1): Promise<void> {
  const res = await orchestrator.record(caseId, {
    event: 'gate_decision', actor: 'gatekeeper', reason: 'needs_human: test policy',
    meta: { decision: { decision: 'needs_human', reasons: ['test'], matched_rules: ['test'], approvers: { slack_users: [], slack_groups: [], discord_roles: [], users: approvers, sim_users: [], ...(minApprovals > 1 ? { min_approvals: minApprovals } : {}) } } },
    requireStatus: ['WAIT_GATE'],
  }, { idempotencyKey: key('gate-note') });
  dataOrThrow(res, 'gate note');
}

/** Drive a case through the first `steps` events of the happy path (started by alice). */
export async function advance(app: FastifyInstance, caseId: string, steps: number): Promise<void> {
  for (const step of HAPPY_PATH.slice(0, steps)) {
    if (step.event === 'gate_approved') await writeGateNote(orchestrators.get(app)!, caseId, ['token:bob']);
    const res = await transition(app, caseId, {
      event: step.event, ...(step.override ? { override: true, reason: `test drives ${step.event}` } : {}), ...(step.meta ? { meta: step.meta } : {}),
    }, step.as.headers);
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
