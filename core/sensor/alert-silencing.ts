import type { Suppressor } from '../ports/suppressor.js';
import type { NormalizedAlert, NormalizedNotification } from '../schemas/alert-webhook.js';
import type { SuppressionTarget } from '../silences/matchers.js';
import type { Suppression } from '../silences/suppression.js';
import type { AlertIngestor } from './alert-ingestor.js';
import type { IngestResult, PayloadInfo } from './ingest-result.js';
import { routeAlert, type IngestConfig } from './ingest-config.js';

/**
 * Silences and maintenance windows in front of the Sensor: each firing alert of a notification is
 * checked (its service and env as the routing file reads them, its alertname and labels); the
 * suppressed ones are left out before the ingestor sees the notification, so they open no case
 * and attach to none. Resolutions pass untouched (they only close what was recorded). When every
 * firing alert is suppressed and nothing resolves, nothing is written: the answer is `suppressed`.
 */
export function silencingIngestor(inner: Pick<AlertIngestor, 'ingest'>, config: IngestConfig, suppressor: Suppressor): Pick<AlertIngestor, 'ingest'> {
  return {
    async ingest(n: NormalizedNotification, payload: PayloadInfo): Promise<IngestResult> {
      const firing = n.alerts.filter((a) => a.status === 'firing');
      const verdicts = await suppressor.check(firing.map((a) => ({ target: alertTarget(config, n, a), key: `${a.fingerprint}@${a.startsAt.toISOString()}` })), 'alert');
      const suppressed = new Set(firing.filter((_, i) => verdicts[i]));
      if (suppressed.size === 0) return inner.ingest(n, payload);
      const by = [...new Set(verdicts.filter((v): v is Suppression => v !== null).map(suppressedBy))];
      const kept = n.alerts.filter((a) => !suppressed.has(a));
      if (kept.length === 0) return suppressedResult(firing.length, by);
      const result = await inner.ingest({ ...n, alerts: kept }, payload);
      return { ...result, suppressed_alerts: suppressed.size, suppressed_by: by };
    },
  };
}

/** What an alert is about, for matchers: the routed service and env, its alertname and labels. */
export function alertTarget(config: IngestConfig, n: NormalizedNotification, a: NormalizedAlert): SuppressionTarget {
  const labels = { ...n.commonLabels, ...a.labels };
  const route = routeAlert(config, labels);
  return { service: route.service, env: route.env, alertname: labels.alertname ?? null, labels };
}

function suppressedBy(s: Suppression): string {
  return s.reason === 'silence' ? `silence:${s.silence.id}` : `maintenance:${s.window.service}:${s.window.name}`;
}

function suppressedResult(firing: number, by: string[]): IngestResult {
  return {
    action: 'suppressed', case_id: null, matched_by: null, new_alerts: 0, resolved_alerts: 0, evidence_added: 0, firing, required: 0,
    message: `every firing alert matched ${by.join(', ')}; no case opened`, resolved_case_ids: [], analysis_started: false,
    suppressed_alerts: firing, suppressed_by: by,
  };
}
