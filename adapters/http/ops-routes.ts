import { z } from 'zod';
import { OpsError } from '../../core/errors.js';
import { ErrorBodySchema, HealthSchema } from '../../core/schemas/http.js';
import { buildOpenApi, type ApiRouteDoc } from './openapi.js';
import type { HttpApi, ServerDeps } from './server.js';

const HEALTH_TIMEOUT_MS = 3000;

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new OpsError('OPS_STORE_UNAVAILABLE', `the store did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Operations endpoints: health, metrics, and the OpenAPI document of every documented route. */
export function registerOpsRoutes(api: HttpApi, deps: Pick<ServerDeps, 'store' | 'metrics' | 'publicUrl'>, docs: () => readonly ApiRouteDoc[]): void {
  const { store, metrics } = deps;

  api.route({
    method: 'GET', auth: 'public', path: '/', tags: ['ops'], summary: 'Index: what this server is and where to go.',
    responses: { 200: { description: 'Links.', schema: z.object({ name: z.literal('opsloop'), links: z.record(z.string(), z.string()) }) } },
  }, async (_request, reply) => {
    const links: Record<string, string> = {};
    for (const doc of docs()) if (doc.method === 'GET' && !doc.path.includes('{') && doc.path !== '/') links[doc.path] = doc.summary;
    return reply.send({ name: 'opsloop', links });
  });

  api.route({
    method: 'GET', auth: 'public', path: '/healthz', tags: ['ops'], summary: 'Liveness and store health (pings the database).',
    responses: { 200: { description: 'Healthy.', schema: HealthSchema }, 503: { description: 'The store is unreachable.', schema: ErrorBodySchema } },
  }, async (request, reply) => {
    try {
      await withTimeout(store.ping(), HEALTH_TIMEOUT_MS);
      const backlog = await withTimeout(store.outbox.backlog(), HEALTH_TIMEOUT_MS);
      return reply.send({ status: 'ok', store: store.name, outbox_backlog: backlog });
    } catch (e) {
      request.log.warn({ err: e, store: store.name }, 'health check failed');
      throw new OpsError('OPS_STORE_UNAVAILABLE', `the ${store.name} store is unavailable`, { store: store.name });
    }
  });

  api.route({
    method: 'GET', path: '/metrics', tags: ['ops'], summary: 'Prometheus metrics (text exposition format).',
    responses: { 200: { description: 'Metrics.', contentType: 'text/plain; version=0.0.4' } },
  }, async (_request, reply) => {
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).send(body);
  });

  api.route({
    method: 'GET', auth: 'public', path: '/openapi.json', tags: ['ops'], summary: 'This API as OpenAPI 3.1, generated from the zod schemas.',
    responses: { 200: { description: 'The OpenAPI document.', schema: z.record(z.string(), z.unknown()) } },
  }, async (_request, reply) => {
    return reply.send(buildOpenApi(docs(), { title: 'opsloop', version: '0.1.0', ...(deps.publicUrl ? { serverUrl: deps.publicUrl } : {}) }));
  });
}
