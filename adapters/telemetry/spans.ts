import {
  ROOT_CONTEXT, SpanKind, SpanStatusCode, context, isSpanContextValid, trace,
  type Attributes, type Context, type Span, type SpanContext,
} from '@opentelemetry/api';

/**
 * Manual spans for opsloop (no instrumentation packages): a helper around a unit of work, and the
 * W3C `traceparent` that carries a trace through the outbox and the job queue. With no tracer
 * provider registered every call here goes to the API's no-op tracer (tracing off costs nothing).
 */

export const TRACER_NAME = 'opsloop';

export { SpanKind };

function tracer() {
  return trace.getTracer(TRACER_NAME);
}

/** Whether a real tracer provider is registered (the no-op tracer's spans have an invalid context). */
export function tracingRegistered(): boolean {
  return isSpanContextValid(tracer().startSpan('opsloop.probe', {}, ROOT_CONTEXT).spanContext());
}

/**
 * Run `fn` inside a span named `name` (a child of the active span, or of `parent` when given):
 * an error thrown is recorded on the span and rethrown; the span ends when `fn` settles.
 */
export async function withSpan<T>(
  name: string, attributes: Attributes, fn: (span: Span) => Promise<T>,
  opts: { kind?: SpanKind; parent?: Context } = {},
): Promise<T> {
  const parent = opts.parent ?? context.active();
  return tracer().startActiveSpan(name, { kind: opts.kind ?? SpanKind.INTERNAL, attributes }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      markFailed(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** A client span around one outbound call (Prometheus, Kubernetes, GitHub, LLM, chat APIs). */
export function withClientSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
  return withSpan(name, attributes, fn, { kind: SpanKind.CLIENT });
}

/** Record `err` on `span` as an exception and an error status. */
export function markFailed(span: Span, err: unknown): void {
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

/** Start (not activate) a span; for hooks that begin and end a span in different callbacks. */
export function startSpan(name: string, attributes: Attributes, kind: SpanKind, parent: Context): Span {
  return tracer().startSpan(name, { kind, attributes }, parent);
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The W3C `traceparent` of a span context, or null when it is not valid (no tracing). */
export function formatTraceparent(sc: SpanContext): string | null {
  if (!isSpanContextValid(sc)) return null;
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** The span context a W3C `traceparent` names (remote), or null when it is malformed or all zeros. */
export function parseTraceparent(value: string | null | undefined): SpanContext | null {
  const m = value ? TRACEPARENT.exec(value.trim()) : null;
  if (!m || m[1] === 'ff') return null;
  const sc: SpanContext = { traceId: m[2]!, spanId: m[3]!, traceFlags: parseInt(m[4]!, 16), isRemote: true };
  return isSpanContextValid(sc) ? sc : null;
}

/** A context whose parent is the span `traceparent` names; the root context when it names none. */
export function contextFromTraceparent(value: string | null | undefined, base: Context = ROOT_CONTEXT): Context {
  const sc = parseTraceparent(value);
  return sc ? trace.setSpanContext(base, sc) : base;
}

/** The `traceparent` of the active span, or null (no span, or tracing off). */
export function activeTraceparent(): string | null {
  const span = trace.getSpan(context.active());
  return span ? formatTraceparent(span.spanContext()) : null;
}

/** The trace id of the active span, or null (no span, or tracing off). */
export function activeTraceId(): string | null {
  const sc = trace.getSpan(context.active())?.spanContext();
  return sc && isSpanContextValid(sc) ? sc.traceId : null;
}

/**
 * A `fetch` whose every call is a client span named `${name} ${METHOD}` that sends the span's
 * `traceparent` along, for client libraries that take a `fetch` (OpenAI, Octokit).
 */
export function tracedFetch(name: string, base: typeof fetch = fetch): typeof fetch {
  return (input, init) => {
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const url = input instanceof Request ? input.url : String(input);
    const target = URL.canParse(url) ? new URL(url) : null;
    const attributes: Attributes = { 'http.request.method': method, ...(target ? { 'server.address': target.hostname, 'url.path': target.pathname } : {}) };
    return withClientSpan(`${name} ${method}`, attributes, async (span) => {
      const traceparent = formatTraceparent(span.spanContext());
      const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
      if (traceparent) headers.set('traceparent', traceparent);
      const response = await base(input, { ...init, headers });
      span.setAttribute('http.response.status_code', response.status);
      if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${response.status}` });
      return response;
    });
  };
}
