import { access } from 'node:fs/promises';
import { loadYamlConfig } from '../../adapters/config/yaml-file-loader.js';
import { ingestRoutes } from '../../adapters/http/ingest-routes.js';
import { AlertIngestor } from '../../core/sensor/alert-ingestor.js';
import { silencingIngestor } from '../../core/sensor/alert-silencing.js';
import { IngestConfigSchema, defaultIngestConfig, type IngestConfig } from '../../core/sensor/ingest-config.js';
import type { OpsloopContext, OpsloopExtension } from '../extension-context.js';
import { tracingRegistered } from '../../adapters/telemetry/spans.js';
import { tracedTransactor } from '../../adapters/telemetry/traced-store.js';

const DEFAULT_INGEST_FILE = 'config/ingest.yml';

/**
 * Load the routing file (OPSLOOP_INGEST_FILE). A bad file stops start-up with every problem
 * named; only the default path may be absent (then the defaults apply).
 */
export async function loadIngestConfig(file: string): Promise<IngestConfig> {
  if (file === DEFAULT_INGEST_FILE && !(await access(file).then(() => true, () => false))) return defaultIngestConfig();
  return loadYamlConfig(file, IngestConfigSchema);
}

export interface IngestExtensionOptions {
  /** Use this routing instead of reading OPSLOOP_INGEST_FILE (tests). */
  ingestConfig?: IngestConfig;
}

/**
 * The Sensor as an opsloop feature: `POST /ingest/alertmanager`, `POST /ingest/grafana` and
 * `GET /case/{id}/evidence`, on the context's store and Orchestrator.
 */
export async function createIngestExtension(ctx: OpsloopContext, options: IngestExtensionOptions = {}): Promise<OpsloopExtension> {
  const ingestConfig = options.ingestConfig ?? (await loadIngestConfig(ctx.config.ingestFile));
  // Traced like the case store when tracing runs: alert cases' messages carry the ingest's traceparent.
  const evidenceStore = tracingRegistered() ? tracedTransactor(ctx.backend.evidence, 'opsloop.sensor.transact') : ctx.backend.evidence;
  const sensor = new AlertIngestor({
    store: evidenceStore, clock: ctx.clock, ids: ctx.ids, config: ingestConfig, orchestrator: ctx.orchestrator,
    afterCommit: ctx.outboxWritten,
    ...(ctx.config.logUrlTemplate ? { logUrlTemplate: ctx.config.logUrlTemplate } : {}),
    ...(ctx.config.prometheusUrl ? { prometheusUrl: ctx.config.prometheusUrl } : {}),
  });
  // Alerts matching an active silence or an open maintenance window open no case.
  const silences = ctx.services.get('silences');
  const ingestor = silences ? silencingIngestor(sensor, ingestConfig, silences.suppressor) : sensor;
  return {
    name: 'ingest',
    http: [ingestRoutes({
      ingestor, queries: ctx.store.queries, evidence: evidenceStore.evidence, config: ingestConfig,
      bodyLimit: ctx.config.bodyLimitBytes, registry: ctx.metrics.registry,
      ...(ctx.config.grafanaHmacSecret ? { grafanaHmacSecret: ctx.config.grafanaHmacSecret } : {}),
    })],
    urls: [{ label: 'alert webhook', path: '/ingest/alertmanager' }],
  };
}
