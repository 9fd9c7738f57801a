import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Histogram, type Registry } from 'prom-client';
import { z } from 'zod';
import { OpsError } from '../../core/errors.js';
import type { CaseQueries } from '../../core/ports/case-store.js';
import type { EvidenceQueries, EvidenceRecord } from '../../core/ports/evidence-store.js';
import {
  AlertmanagerWebhookSchema,
  GrafanaWebhookSchema,
  normalizeAlertmanager,
  normalizeGrafana,
  type NormalizedNotification,
} from '../../core/schemas/alert-webhook.js';
import { CaseIdParamsSchema, ErrorBodySchema, dataOf } from '../../core/schemas/http.js';
import type { AlertIngestor } from '../../core/sensor/alert-ingestor.js';
import type { IngestResult } from '../../core/sensor/ingest-result.js';
import type { IngestConfig } from '../../core/sensor/ingest-config.js';
import { installJsonParser } from './http-errors.js';
import { scrubValue } from '../secrets.js';
import { fastifyPath, type ApiRouteDoc } from './openapi.js';
import { parseInput } from './request-helpers.js';
import type { HttpPlugin } from './server.js';

export interface IngestRoutesDeps {
  ingestor: Pick<AlertIngestor, 'ingest'>;
  queries: Pick<CaseQueries, 'getCase'>;
  evidence: EvidenceQueries;
  config: IngestConfig;
  /** OPSLOOP_GRAFANA_HMAC_SECRET; set → Grafana bodies must be signed. */
  grafanaHmacSecret?: string;
  /** Largest accepted webhook body (default 1 MiB); larger → 413. */
  bodyLimit?: number;
  /** Where to register ingest metrics (the app's registry). */
  registry?: Registry;
  /** Seconds since the epoch, for the Grafana timestamp check (tests). */
  nowSeconds?: () => number;
}

const err = (description: string) => ({ description, schema: ErrorBodySchema });

export const IngestResultSchema = z.object({
  action: z.enum(['opened', 'attached', 'held', 'resolved', 'duplicate', 'suppressed']),
  case_id: z.string().nullable(),
  matched_by: z.enum(['group', 'correlation']).nullable(),
  new_alerts: z.number().int(),
  resolved_alerts: z.number().int(),
  evidence_added: z.number().int(),
  firing: z.number().int(),
  required: z.number().int(),
  held_reason: z.enum(['min_firing', 'open_case_cap']).optional(),
  message: z.string().optional(),
  resolved_case_ids: z.array(z.string()),
  analysis_started: z.boolean(),
  suppressed_alerts: z.number().int().optional().describe('firing alerts an active silence or maintenance window kept out (they open no case)'),
  suppressed_by: z.array(z.string()).optional().describe('silence:<id> or maintenance:<service>:<window>'),
});

export const EvidenceViewSchema = z.object({
  id: z.string(),
  case_id: z.string(),
  kind: z.enum(['alert', 'metric', 'log', 'dashboard', 'finding']),
  title: z.string(),
  url: z.string().nullable(),
  locator: z.string().nullable(),
  labels: z.record(z.string(), z.string()),
  observed_at: z.string(),
  source_payload_id: z.string().nullable(),
  created_at: z.string(),
});

export function evidenceView(e: EvidenceRecord): z.infer<typeof EvidenceViewSchema> {
  return {
    id: e.id, case_id: e.case_id, kind: e.kind, title: e.title, url: e.url, locator: e.locator, labels: e.labels,
    observed_at: e.observed_at.toISOString(), source_payload_id: e.source_payload_id, created_at: e.created_at.toISOString(),
  };
}

const INGEST_RESPONSES = {
  200: { description: 'Accepted: attached, held (below min_firing), resolved, a duplicate, or suppressed by a silence or maintenance window (nothing written).', schema: dataOf(IngestResultSchema) },
  201: { description: 'A case was opened.', schema: dataOf(IngestResultSchema) },
  400: err('Malformed body (validation errors in details); nothing written.'),
  401: err('Missing or wrong bearer token (or Grafana signature).'),
  413: err('Body too large.'), 415: err('Not application/json.'),
  503: err('OPSLOOP_INGEST_TOKEN is not configured, or the store is unavailable.'),
};

const AuthHeadersSchema = z.object({ authorization: z.string().optional().describe('Bearer <OPSLOOP_INGEST_TOKEN>') });

interface IngestMetrics {
  received: Counter<'source' | 'action'>;
  latency: Histogram<'source'>;
}

function ingestMetrics(registry: Registry | undefined): IngestMetrics | null {
  if (!registry) return null;
  const received = (registry.getSingleMetric('ingest_notifications_total') as Counter<'source' | 'action'> | undefined)
    ?? new Counter({ name: 'ingest_notifications_total', help: 'Alert notifications received, by source and outcome.', labelNames: ['source', 'action'], registers: [registry] });
  const latency = (registry.getSingleMetric('ingest_commit_seconds') as Histogram<'source'> | undefined)
    ?? new Histogram({ name: 'ingest_commit_seconds', help: 'Alert received → case committed.', labelNames: ['source'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5], registers: [registry] });
  return { received, latency };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function headerOf(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The Sensor's HTTP surface: `POST /ingest/alertmanager`, `POST /ingest/grafana` and
 * `GET /case/{id}/evidence`. The ingest routes check the bearer token before reading the body
 * (so an unauthenticated sender cannot make opsloop parse megabytes), then the size limit, then
 * (Grafana) the HMAC signature over the raw body, then the schema; only a valid body reaches the
 * AlertIngestor's one transaction.
 */
export function ingestRoutes(deps: IngestRoutesDeps): HttpPlugin {
  return async (app: FastifyInstance, api) => {
    const bodyLimit = deps.bodyLimit ?? 1024 * 1024;
    const metrics = ingestMetrics(deps.registry);
    const nowSeconds = deps.nowSeconds ?? (() => Date.now() / 1000);
    const rawBodies = new WeakMap<FastifyRequest, string>();
    installJsonParser(app, bodyLimit);
    // Keep the exact text for the signature and the payload id: wrap the JSON parser.
    app.addHook('preParsing', async (request, _reply, payload) => {
      // The matched route, never the raw URL: `/%69ngest/…` is the same route and gets the same treatment.
      if (!isIngestRoute(request)) return payload;
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of payload) {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk as Buffer;
        size += buf.length;
        if (size > bodyLimit) throw new OpsError('OPS_PAYLOAD_TOO_LARGE', `the body is larger than ${bodyLimit} bytes`, { limit_bytes: bodyLimit });
        chunks.push(buf);
      }
      const raw = Buffer.concat(chunks);
      rawBodies.set(request, raw.toString('utf8'));
      return Readable.from([raw]);
    });

    const mount = (doc: ApiRouteDoc, handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>) => {
      api.describe(doc);
      // Who may send: the auth plugin decides on the matched route (API tokens with the responder
      // role, OIDC users, or OPSLOOP_INGEST_TOKEN, which is accepted on these routes only).
      app.route({ method: doc.method, url: fastifyPath(doc.path), bodyLimit, handler, config: { auth: doc.auth ?? 'case.read' } });
    };

    const finish = async (reply: FastifyReply, n: NormalizedNotification, raw: string, body: unknown) => {
      const started = process.hrtime.bigint();
      // The Sensor writes cases in its own transaction: secrets pasted into alert labels or
      // annotations are redacted here, before anything is stored (the payload id is of the raw body).
      const result: IngestResult = await deps.ingestor.ingest(scrubValue(n), { id: sha256(raw).toString('hex'), body: scrubValue(body) });
      metrics?.latency.observe({ source: n.source }, Number(process.hrtime.bigint() - started) / 1e9);
      metrics?.received.inc({ source: n.source, action: result.action });
      return reply.code(result.action === 'opened' ? 201 : 200).send({ data: result });
    };

    mount({
      method: 'POST', path: '/ingest/alertmanager', tags: ['ingest'],
      summary: 'Alertmanager webhook (version "4"): opens, attaches or resolves in one transaction.', auth: 'ingest.write',
      description: 'Configure a webhook_config with url http://<opsloop>/ingest/alertmanager and http_config.authorization.credentials = OPSLOOP_INGEST_TOKEN. An alert episode is fingerprint + startsAt: re-sends add nothing.',
      headers: AuthHeadersSchema, body: AlertmanagerWebhookSchema, responses: INGEST_RESPONSES,
    }, async (request, reply) => {
      const body = parseInput(AlertmanagerWebhookSchema, request.body, 'body');
      return finish(reply, normalizeAlertmanager(body), rawBodies.get(request) ?? JSON.stringify(request.body), request.body);
    });

    mount({
      method: 'POST', path: '/ingest/grafana', tags: ['ingest'],
      summary: 'Grafana unified alerting webhook (version "1"), optionally HMAC-signed.', auth: 'ingest.write',
      description: `With OPSLOOP_GRAFANA_HMAC_SECRET set, the ${deps.config.grafana.signature_header} header must hold hex HMAC-SHA256 of the body${deps.config.grafana.timestamp_header ? ` prefixed by the ${deps.config.grafana.timestamp_header} value and ":"` : ''}.`,
      headers: AuthHeadersSchema, body: GrafanaWebhookSchema, responses: INGEST_RESPONSES,
    }, async (request, reply) => {
      const raw = rawBodies.get(request) ?? JSON.stringify(request.body);
      if (deps.grafanaHmacSecret) verifyGrafanaSignature(request, raw, deps.grafanaHmacSecret, deps.config, nowSeconds());
      const body = parseInput(GrafanaWebhookSchema, request.body, 'body');
      return finish(reply, normalizeGrafana(body), raw, request.body);
    });

    mount({
      method: 'GET', path: '/case/{id}/evidence', tags: ['cases'], summary: 'Evidence of a case (alerts, PromQL, dashboards, logs, findings), oldest first.',
      params: CaseIdParamsSchema,
      responses: { 200: { description: 'Evidence with resolvable links.', schema: dataOf(z.array(EvidenceViewSchema)) }, 400: err('Malformed id.'), 404: err('No such case.'), 503: err('Store unavailable.') },
    }, async (request, reply) => {
      const { id } = parseInput(CaseIdParamsSchema, request.params, 'params');
      const found = await deps.queries.getCase(id);
      if (!found) throw new OpsError('OPS_CASE_NOT_FOUND', `no case has id ${id}`, { case_id: id });
      const rows = await deps.evidence.listEvidence(id);
      return reply.send({ data: rows.map(evidenceView) });
    });
  };
}

function isIngestRoute(request: FastifyRequest): boolean {
  return request.routeOptions.url?.startsWith('/ingest/') ?? false;
}

/** Grafana's HMAC: hex(HMAC-SHA256(secret, [timestamp + ":"] + body)) in the configured header. */
export function grafanaSignature(secret: string, body: string, timestamp?: string): string {
  return createHmac('sha256', secret).update(timestamp !== undefined ? `${timestamp}:${body}` : body).digest('hex');
}

function verifyGrafanaSignature(request: FastifyRequest, raw: string, secret: string, config: IngestConfig, now: number): void {
  const header = config.grafana.signature_header;
  const given = headerOf(request, header)?.trim().replace(/^sha256=/i, '');
  if (!given) throw new OpsError('OPS_UNAUTHORIZED', `the ${header} signature header is missing`, { header });
  let timestamp: string | undefined;
  if (config.grafana.timestamp_header) {
    timestamp = headerOf(request, config.grafana.timestamp_header)?.trim();
    if (!timestamp || !/^\d{1,12}$/.test(timestamp)) {
      throw new OpsError('OPS_UNAUTHORIZED', `the ${config.grafana.timestamp_header} header must hold a Unix timestamp`, { header: config.grafana.timestamp_header });
    }
    if (Math.abs(now - Number(timestamp)) > config.grafana.max_age_seconds) {
      throw new OpsError('OPS_UNAUTHORIZED', `the signature timestamp is more than ${config.grafana.max_age_seconds} s away from now`, { header: config.grafana.timestamp_header });
    }
  }
  const expected = grafanaSignature(secret, raw, timestamp);
  const ok = /^[0-9a-f]{64}$/i.test(given) && timingSafeEqual(Buffer.from(given.toLowerCase(), 'hex'), Buffer.from(expected, 'hex'));
  if (!ok) throw new OpsError('OPS_UNAUTHORIZED', `the ${header} signature does not match the body`, { header });
}
