import type { Config } from '../config/env.js';

/*
 * What tracing reads from the configuration, apart from the OpenTelemetry SDK (tracing-setup.ts),
 * so that a process without tracing configured never loads the SDK and its exporter
 * (~20 MB of heap, bench:memory).
 */

/** The configuration tracing reads (the standard OTEL_* variables, parsed by adapters/config/env.ts). */
export type TracingConfig = Pick<Config, 'otelTracesExporter' | 'otelEndpoint' | 'otelTracesEndpoint' | 'otelHeaders' | 'otelServiceName'>;

/** A started (or not) tracing setup. */
export interface TracingHandle {
  /** Whether a tracer provider was registered; false means the API's no-op tracer serves every span. */
  readonly enabled: boolean;
  /** Where spans are exported (null when off). */
  readonly url: string | null;
  /** Flush the spans still batched, shut the provider down and unregister it. Idempotent. */
  shutdown(): Promise<void>;
}

/**
 * Tracing is off by default. It is on when `OTEL_TRACES_EXPORTER=otlp`, or when an OTLP endpoint
 * (`OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, unless
 * `OTEL_TRACES_EXPORTER=none`.
 */
export function tracingEnabled(config: TracingConfig): boolean {
  if (config.otelTracesExporter === 'none') return false;
  if (config.otelTracesExporter === 'otlp') return true;
  return config.otelEndpoint !== undefined || config.otelTracesEndpoint !== undefined;
}

/** The OTLP/HTTP traces URL: the signal endpoint as given, else `<endpoint>/v1/traces`, else the collector default. */
export function otlpTracesUrl(config: TracingConfig): string {
  if (config.otelTracesEndpoint) return config.otelTracesEndpoint;
  if (config.otelEndpoint) return `${config.otelEndpoint.replace(/\/+$/, '')}/v1/traces`;
  return 'http://localhost:4318/v1/traces';
}

/** `OTEL_EXPORTER_OTLP_HEADERS`: `k=v,k2=v2` with URL-encoded values → a header record. Pure. */
export function parseOtlpHeaders(text: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of (text ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    headers[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return headers;
}

/** The handle of tracing that is off. */
export const TRACING_DISABLED: TracingHandle = { enabled: false, url: null, shutdown: async () => {} };

/** `startTracing` (tracing-setup.ts) when the configuration asks for tracing, loading the SDK only then; otherwise the off handle. */
export async function startConfiguredTracing(config: TracingConfig): Promise<TracingHandle> {
  if (!tracingEnabled(config)) return TRACING_DISABLED;
  return (await import('./tracing-setup.js')).startTracing(config);
}
