/**
 * What the Sensor writes about alerts, as pure functions of the notification: the case a firing
 * group opens (title, labels), the alerts and evidence as timeline meta and event payload, their
 * one-line summaries, and the received body as it is kept.
 */
import type { EvidenceRecord } from '../ports/evidence-store.js';
import type { NormalizedAlert, NormalizedNotification } from '../schemas/alert-webhook.js';
import { jsonBytes } from '../schemas/case.js';
import type { NewCase } from '../orchestrator/case-creation.js';
import type { IngestRoute } from './ingest-config.js';
import type { PayloadInfo } from './ingest-result.js';

const MAX_LABELS = 40;

/** Largest received body kept as it came (JSON bytes); a larger one is kept as its trimmed, normalised form. */
export const MAX_KEPT_PAYLOAD_BYTES = 64 * 1024;

/** What the Sensor says about the case a firing group opens. */
export function newCaseOf(n: NormalizedNotification, route: IngestRoute, alerts: NormalizedAlert[]): NewCase {
  const labels: Record<string, string> = {};
  const common = Object.keys(n.commonLabels).length ? n.commonLabels : alerts[0]?.labels ?? {};
  for (const [k, v] of Object.entries(common).slice(0, MAX_LABELS)) labels[k] = v.slice(0, 500);
  labels.source = n.source;
  labels.group_key = n.groupKey.slice(0, 500);
  labels.ingest_route = route.routeKey;
  if (route.chat) {
    labels.chat_platform = route.chat.platform;
    labels.chat_channel = route.chat.channel;
  }
  return { tenant: route.tenant, title: caseTitle(n, alerts), severity: route.severity, service: route.service, env: route.env, requester: `sensor:${n.source}`, labels };
}

/** The body to keep for `payload`: as received when small, else the notification as the Sensor read it (cut to ALERT_COPY_LIMITS). */
export function keptBody(payload: PayloadInfo, n: NormalizedNotification): unknown {
  const bytes = jsonBytes(payload.body);
  if (bytes <= MAX_KEPT_PAYLOAD_BYTES) return payload.body;
  return { opsloop_trimmed: { received_bytes: bytes, kept: 'normalised notification, labels and annotations cut to the copy limits' }, notification: n };
}

/** An alert as the timeline note and the firing/resolved events show it. */
export function alertView(a: NormalizedAlert) {
  return {
    alertname: a.labels.alertname ?? null, status: a.status, fingerprint: a.fingerprint,
    starts_at: a.startsAt.toISOString(), ends_at: a.endsAt?.toISOString() ?? null,
    summary: a.annotations.summary ?? a.annotations.description ?? null, labels: a.labels,
    ...(Object.keys(a.values).length ? { values: a.values } : {}),
  };
}

/** A piece of evidence as the firing event shows it. */
export function evidenceView(e: EvidenceRecord) {
  return { id: e.id, kind: e.kind, title: e.title, url: e.url, locator: e.locator };
}

/** The alert names, at most five and how many more. */
export function summarize(alerts: readonly NormalizedAlert[]): string {
  const names = [...new Set(alerts.map((a) => a.labels.alertname ?? 'alert'))];
  return names.slice(0, 5).join(', ') + (names.length > 5 ? ` and ${names.length - 5} more` : '');
}

/** The firing event's summary: how many, which, and the group's summary annotation. */
export function firingSummary(n: NormalizedNotification, alerts: readonly NormalizedAlert[]): string {
  const first = alerts[0];
  const text = n.commonAnnotations.summary ?? first?.annotations.summary ?? first?.annotations.description ?? '';
  return `${alerts.length} firing: ${summarize(alerts)}${text ? ` — ${text}` : ''}`.slice(0, 1000);
}

function caseTitle(n: NormalizedNotification, alerts: readonly NormalizedAlert[]): string {
  if (n.source === 'grafana' && n.title.trim()) return n.title.trim().slice(0, 200);
  const first = alerts[0];
  const name = n.commonLabels.alertname ?? first?.labels.alertname ?? 'alert';
  const summary = n.commonAnnotations.summary ?? first?.annotations.summary ?? '';
  const count = alerts.length > 1 ? ` (${alerts.length} alerts)` : '';
  return `${name}${count}${summary ? `: ${summary}` : ''}`.slice(0, 200);
}
