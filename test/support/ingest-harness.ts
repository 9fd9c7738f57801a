import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { ingestRoutes } from '../../adapters/http/ingest-routes.js';
import { buildServer } from '../../adapters/http/server.js';
import { StaticTokenAuthenticator } from '../../adapters/auth/static-token.js';
import { INGEST_PRINCIPAL } from '../../app/auth-setup.js';
import { injectWithDefaultHeaders, testAuth } from './auth.js';
import { silentLogger } from '../../adapters/log.js';
import { PromMetrics } from '../../adapters/metrics/prom-metrics.js';
import type { SqlCaseStore } from '../../adapters/store/sql/sql-case-store.js';
import { SqlEvidenceStore } from '../../adapters/store/sql/sql-evidence-store.js';
import { uuidGen } from '../../adapters/system-clock.js';
import { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import type { Clock } from '../../core/ports/clock.js';
import { AlertIngestor } from '../../core/sensor/alert-ingestor.js';
import { IngestConfigSchema, type IngestConfig } from '../../core/sensor/ingest-config.js';

export const TOKEN = 'test-ingest-token';

/** A clock the test moves by hand (starts at the real time so alert timestamps look current). */
export class ManualClock implements Clock {
  private t = Date.now();
  now(): Date {
    return new Date(this.t);
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface IngestHarness {
  app: FastifyInstance;
  store: SqlCaseStore;
  evidence: SqlEvidenceStore;
  orchestrator: Orchestrator;
  clock: ManualClock;
  config: IngestConfig;
  post(path: '/ingest/alertmanager' | '/ingest/grafana', body: unknown, headers?: Record<string, string>): Promise<{ status: number; json: any }>;
}

/** The real HTTP API with the ingest plugin on `store` (the caller owns and closes the store). */
export async function startIngestApi(store: SqlCaseStore, options: {
  config?: Record<string, unknown>; token?: string | null; grafanaHmacSecret?: string; bodyLimit?: number; logUrlTemplate?: string;
} = {}): Promise<IngestHarness> {
  const clock = new ManualClock();
  const metrics = new PromMetrics({ defaultMetrics: false });
  const orchestrator = new Orchestrator({ store, clock, ids: uuidGen, metrics });
  const config = IngestConfigSchema.parse(options.config ?? {});
  const evidence = new SqlEvidenceStore(store);
  const ingestor = new AlertIngestor({
    store: evidence, clock, ids: uuidGen, config, orchestrator,
    ...(options.logUrlTemplate ? { logUrlTemplate: options.logUrlTemplate } : {}),
  });
  const token = options.token === null ? undefined : options.token ?? TOKEN;
  const app = buildServer({
    orchestrator, store, metrics, logger: silentLogger(),
    // OPSLOOP_INGEST_TOKEN as opsloop wires it: a credential accepted on the ingest routes only.
    auth: testAuth({ ingestAuthenticators: token ? [new StaticTokenAuthenticator('ingest-token', token, INGEST_PRINCIPAL)] : [] }),
    plugins: [ingestRoutes({
      ingestor, queries: store.queries, evidence: evidence.evidence, config, registry: new Registry(),
      ...(options.grafanaHmacSecret ? { grafanaHmacSecret: options.grafanaHmacSecret } : {}),
      ...(options.bodyLimit ? { bodyLimit: options.bodyLimit } : {}),
    })],
  });
  await app.ready();
  injectWithDefaultHeaders(app);
  return {
    app, store, evidence, orchestrator, clock, config,
    async post(path, body, headers = { authorization: `Bearer ${TOKEN}` }) {
      const res = await app.inject({
        method: 'POST', url: path, headers: { 'content-type': 'application/json', authorization: '', ...headers },
        payload: typeof body === 'string' ? body : JSON.stringify(body),
      });
      return { status: res.statusCode, json: res.body ? res.json() : null };
    },
  };
}

export interface AlertSpec {
  alertname: string;
  labels?: Record<string, string>;
  status?: 'firing' | 'resolved';
  startsAt?: string;
  endsAt?: string;
  expr?: string;
  summary?: string;
  fingerprint?: string;
}

/** An Alertmanager webhook body (version 4) as Alertmanager 0.25 sends it. */
export function alertmanagerBody(groupKey: string, alerts: AlertSpec[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  const built = alerts.map((a) => {
    const labels: Record<string, string> = { alertname: a.alertname, ...(a.labels ?? {}) };
    const expr = a.expr ?? `rate(http_errors_total{service="${labels.service ?? 'x'}"}[5m]) > 1`;
    return {
      status: a.status ?? 'firing',
      labels,
      annotations: { summary: a.summary ?? `${a.alertname} is firing` },
      startsAt: a.startsAt ?? '2026-11-25T10:00:00.000Z',
      endsAt: a.endsAt ?? (a.status === 'resolved' ? '2026-11-25T10:20:00.000Z' : '0001-01-01T00:00:00Z'),
      generatorURL: `http://prometheus.example:9090/graph?g0.expr=${encodeURIComponent(expr)}&g0.tab=1`,
      fingerprint: a.fingerprint ?? fingerprintOf(labels),
    };
  });
  const firing = built.some((a) => a.status === 'firing');
  const common = built.length ? intersect(built.map((a) => a.labels)) : {};
  return {
    receiver: 'opsloop', status: firing ? 'firing' : 'resolved', alerts: built,
    groupLabels: { alertname: alerts[0]?.alertname ?? '' }, commonLabels: common,
    commonAnnotations: {}, externalURL: 'http://alertmanager.example:9093', version: '4',
    groupKey, truncatedAlerts: 0, ...extra,
  };
}

function intersect(sets: Array<Record<string, string>>): Record<string, string> {
  const [first, ...rest] = sets;
  return Object.fromEntries(Object.entries(first ?? {}).filter(([k, v]) => rest.every((s) => s[k] === v)));
}

/** A stable 16-hex fingerprint like Alertmanager's (any stable hash of the labels works here). */
export function fingerprintOf(labels: Record<string, string>): string {
  let h = 0xcbf29ce484222325n;
  for (const ch of JSON.stringify(Object.entries(labels).sort())) {
    h ^= BigInt(ch.charCodeAt(0));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}
