import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import type { CaseStore } from '../../core/ports/case-store.js';
import { registerCaseRoutes } from './case-routes.js';
import { installErrorHandling, installJsonParser, toErrorResponse } from './http-errors.js';
import { fastifyPath, type ApiRouteDoc } from './openapi.js';
import { registerOpsRoutes } from './ops-routes.js';
import { caseHistoryRoutes } from './case-history-routes.js';
import { installAuth, type HttpAuthConfig } from './auth-plugin.js';
import { installRateLimits, type RateLimitSettings } from './rate-limits.js';
import { installHostCheck } from './host-check.js';
import { allowedHostsFor, type AllowedHosts } from '../../core/auth/allowed-hosts.js';
import { installHttpTracing } from '../telemetry/http-tracing.js';
import { tracingRegistered } from '../telemetry/spans.js';

export type { ApiRouteDoc } from './openapi.js';

export type RouteHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/** What a route module gets: register a documented route, or only document one it mounts itself. */
export interface HttpApi {
  /** The Fastify instance (a plugin's own encapsulated child for plugins). */
  readonly app: FastifyInstance;
  /** Mount `handler` at `doc.method doc.path` and list it in /openapi.json. */
  route(doc: ApiRouteDoc, handler: RouteHandler): void;
  /** List a route in /openapi.json that was mounted some other way (e.g. by a chat SDK). */
  describe(doc: ApiRouteDoc): void;
}

/**
 * A later feature's HTTP surface (agents' REST triggers, Slack/Discord receivers, the simulator).
 * Each runs in its own encapsulated Fastify context: it may add content-type parsers and hooks
 * without affecting the case API, and it inherits the JSON error shape.
 */
export type HttpPlugin = (app: FastifyInstance, api: HttpApi) => Promise<void>;

/** Anything with a Prometheus text rendering (adapters/metrics/prom-metrics.ts). */
export interface MetricsRenderer {
  render(): Promise<{ contentType: string; body: string }>;
}

export interface ServerDeps {
  orchestrator: Orchestrator;
  store: Pick<CaseStore, 'name' | 'queries' | 'ping' | 'outbox'>;
  metrics: MetricsRenderer;
  logger: Logger;
  /** Largest accepted body in bytes (default 1 MiB); larger → 413. */
  bodyLimit?: number;
  plugins?: HttpPlugin[];
  /** Advertised in the OpenAPI `servers` list. */
  publicUrl?: string;
  /** Who may call which route (adapters/http/auth-plugin.ts); required, so no server is open by accident. */
  auth: HttpAuthConfig;
  /** Per-principal limits on writes and ingest (adapters/http/rate-limits.ts); absent → none. */
  rateLimits?: RateLimitSettings;
  /** The Host header values answered (DNS rebinding protection); absent → localhost, IP addresses and `publicUrl`'s host. */
  allowedHosts?: AllowedHosts;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** Build the HTTP API (not listening; call `listen` or use `inject`). */
export function buildServer(deps: ServerDeps): FastifyInstance {
  const bodyLimit = deps.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: 'x-request-id',
    bodyLimit,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    // Errors the router raises before any route runs (a malformed %-escape, a path parameter over
    // maxParamLength) leave in our error shape too, not Fastify's (found by test/reliability/fuzz).
    frameworkErrors: (error, _request, reply) => {
      const { status, body } = toErrorResponse(error);
      void (reply as FastifyReply).code(status).type('application/json').send(body);
    },
  }) as unknown as FastifyInstance;

  // A server span per request, only when tracing runs (adapters/telemetry): no hooks otherwise.
  if (tracingRegistered()) installHttpTracing(app);
  installJsonParser(app, bodyLimit);
  installErrorHandling(app);
  // The Host check before anything else: a request for another host is answered by nobody.
  installHostCheck(app, deps.allowedHosts ?? allowedHostsFor({ publicUrl: deps.publicUrl }));
  // Authentication next: the rate limits below are keyed by the principal it finds.
  installAuth(app, deps.auth);
  if (deps.rateLimits) installRateLimits(app, deps.rateLimits);
  app.addHook('onResponse', async (request, reply) => {
    const line = { method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) };
    if (reply.statusCode >= 400) request.log.info(line, 'request answered with an error');
    else request.log.debug(line, 'request');
  });

  const docs: ApiRouteDoc[] = [];
  const apiFor = (instance: FastifyInstance): HttpApi => ({
    app: instance,
    route(doc, handler) {
      docs.push(doc);
      instance.route({ method: doc.method, url: fastifyPath(doc.path), handler, ...(doc.auth ? { config: { auth: doc.auth } } : {}) });
    },
    describe(doc) {
      docs.push(doc);
    },
  });

  const root = apiFor(app);
  registerCaseRoutes(root, deps);
  registerOpsRoutes(root, deps, () => docs);
  // Replay and report belong to every case, whatever extensions run.
  app.register(async (child) => caseHistoryRoutes(deps.store.queries, deps.publicUrl)(child, apiFor(child)));
  for (const plugin of deps.plugins ?? []) {
    app.register(async (child) => plugin(child, apiFor(child)));
  }
  return app;
}
