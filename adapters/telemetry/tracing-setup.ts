import { context, propagation, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { type TracingConfig, type TracingHandle, otlpTracesUrl, parseOtlpHeaders, TRACING_DISABLED, tracingEnabled } from './tracing-config.js';

export { otlpTracesUrl, parseOtlpHeaders, tracingEnabled, type TracingConfig, type TracingHandle } from './tracing-config.js';

/**
 * Register a tracer provider that batches spans to an OTLP/HTTP (JSON) exporter, when the
 * configuration asks for tracing; otherwise register nothing. `exporter` replaces the OTLP one
 * (tests). The resource is `service.name` (OTEL_SERVICE_NAME, default `opsloop`) plus
 * `OTEL_RESOURCE_ATTRIBUTES`; the sampler comes from `OTEL_TRACES_SAMPLER`/`_ARG` (the SDK reads them).
 */
export function startTracing(config: TracingConfig, opts: { exporter?: SpanExporter; version?: string } = {}): TracingHandle {
  if (!tracingEnabled(config)) return TRACING_DISABLED;
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
