import { context, propagation, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Config } from '../config/env.js';

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

const disabled: TracingHandle = { enabled: false, url: null, shutdown: async () => {} };

/**
 * Register a tracer provider that batches spans to an OTLP/HTTP (JSON) exporter, when the
 * configuration asks for tracing; otherwise register nothing. `exporter` replaces the OTLP one
 * (tests). The resource is `service.name` (OTEL_SERVICE_NAME, default `opsloop`) plus
 * `OTEL_RESOURCE_ATTRIBUTES`; the sampler comes from `OTEL_TRACES_SAMPLER`/`_ARG` (the SDK reads them).
 */
export function startTracing(config: TracingConfig, opts: { exporter?: SpanExporter; version?: string } = {}): TracingHandle {
  if (!tracingEnabled(config)) return disabled;
  const url = otlpTracesUrl(config);
  const exporter = opts.exporter ?? new OTLPTraceExporter({ url, headers: parseOtlpHeaders(config.otelHeaders) });
  const resource = resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'opsloop', ...(opts.version ? { [ATTR_SERVICE_VERSION]: opts.version } : {}) })
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(config.otelServiceName ? resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.otelServiceName }) : null);
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(exporter)] });
  provider.register();
  let stopping: Promise<void> | null = null;
  return {
    enabled: true,
    url,
    shutdown() {
      stopping ??= provider.shutdown().finally(() => {
        trace.disable();
        context.disable();
        propagation.disable();
      });
      return stopping;
    },
  };
}
