import { ROOT_CONTEXT, SpanStatusCode, context, trace, type Span } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SpanKind, contextFromTraceparent, markFailed, startSpan } from './spans.js';

/**
 * A server span per HTTP request (`HTTP <METHOD> <route>`), a child of the caller's W3C
 * `traceparent` when it sends one. The span starts at `onRequest` and becomes the active span from
 * `preHandler` on (so route handlers, the Orchestrator's write and the outbox messages it writes
 * belong to it); it ends at `onResponse` with the status code. Install on the root instance before
 * routes and plugins are registered, and only when tracing runs.
 */
export function installHttpTracing(app: FastifyInstance): void {
  const spans = new WeakMap<FastifyRequest, Span>();
  app.addHook('onRequest', (request, _reply, done) => {
    const header = request.headers.traceparent;
    const parent = contextFromTraceparent(Array.isArray(header) ? header[0] : header, ROOT_CONTEXT);
    const route = request.routeOptions.url ?? request.url.split('?')[0];
    spans.set(request, startSpan(`HTTP ${request.method} ${route}`, {
      'http.request.method': request.method, 'http.route': route ?? '', 'url.path': request.url.split('?')[0] ?? '',
    }, SpanKind.SERVER, parent));
    done();
  });
  app.addHook('preHandler', (request, _reply, done) => {
    const span = spans.get(request);
    if (!span) return done();
    // `done` runs the remaining hooks and the handler synchronously: they start inside the span.
    context.with(trace.setSpan(context.active(), span), done);
  });
  app.addHook('onError', (request, _reply, error, done) => {
    const span = spans.get(request);
    if (span) markFailed(span, error);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const span = spans.get(request);
    if (span) {
      spans.delete(request);
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${reply.statusCode}` });
      span.end();
    }
    done();
  });
}
