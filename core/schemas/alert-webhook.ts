import { z } from 'zod';

/**
 * Alert webhook bodies as Alertmanager (`version: "4"`) and Grafana unified alerting
 * (`version: "1"`) send them, and the one normalised shape the Sensor works on. Unknown keys are
 * dropped (zod objects strip by default), so newer senders with more fields still validate.
 */

const LabelSetSchema = z.record(z.string(), z.string());
const Timestamp = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an RFC 3339 timestamp');
const AlertStatus = z.enum(['firing', 'resolved']);

const AlertBaseShape = {
  /** Absent in bodies some receivers build (prometheus-msteams style): the notification's status holds. */
  status: AlertStatus.optional(),
  labels: LabelSetSchema,
  annotations: LabelSetSchema.default({}),
  startsAt: Timestamp,
  /** `0001-01-01T00:00:00Z` (or absent) while the alert fires. */
  endsAt: Timestamp.optional(),
  generatorURL: z.string().max(8000).default(''),
  fingerprint: z.string().min(1).max(200).optional(),
};

const NotificationBaseShape = {
  receiver: z.string().max(500).default(''),
  status: AlertStatus,
  groupKey: z.string().min(1).max(4000),
  groupLabels: LabelSetSchema.default({}),
  commonLabels: LabelSetSchema.default({}),
  commonAnnotations: LabelSetSchema.default({}),
  externalURL: z.string().max(2000).default(''),
  truncatedAlerts: z.number().int().min(0).default(0),
};

export const AlertmanagerAlertSchema = z.object(AlertBaseShape);

/** Alertmanager's webhook_config body. */
export const AlertmanagerWebhookSchema = z.object({
  version: z.literal('4'),
  ...NotificationBaseShape,
  alerts: z.array(AlertmanagerAlertSchema).min(1).max(2000),
});
export type AlertmanagerWebhook = z.output<typeof AlertmanagerWebhookSchema>;

export const GrafanaAlertSchema = z.object({
  ...AlertBaseShape,
  values: z.record(z.string(), z.number().nullable()).nullable().optional(),
  valueString: z.string().max(8000).optional(),
  dashboardURL: z.string().max(2000).default(''),
  panelURL: z.string().max(2000).default(''),
  silenceURL: z.string().max(2000).default(''),
});

/** Grafana unified alerting's webhook contact point body. */
export const GrafanaWebhookSchema = z.object({
  version: z.literal('1'),
  ...NotificationBaseShape,
  orgId: z.number().int().optional(),
  state: z.string().max(50).optional(),
  title: z.string().max(2000).default(''),
  message: z.string().max(20000).default(''),
  alerts: z.array(GrafanaAlertSchema).min(1).max(2000),
});
export type GrafanaWebhook = z.output<typeof GrafanaWebhookSchema>;

export type AlertSource = 'alertmanager' | 'grafana';

/** One alert as the Sensor sees it, whichever system sent it. */
export interface NormalizedAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: Date;
  /** null while firing. */
  endsAt: Date | null;
  generatorURL: string;
  /** The sender's fingerprint, or Alertmanager's hash of the label set when it sent none. */
  fingerprint: string;
  dashboardURL: string;
  panelURL: string;
  /** Grafana's measured values (`values`), else empty. */
  values: Record<string, number | null>;
  /** Set when labels or annotations were cut to `ALERT_COPY_LIMITS`. */
  trimmed?: boolean;
}

export interface NormalizedNotification {
  source: AlertSource;
  receiver: string;
  status: 'firing' | 'resolved';
  groupKey: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  truncatedAlerts: number;
  /** Grafana's title, else empty. */
  title: string;
  alerts: NormalizedAlert[];
}

const ZERO_TIME_PREFIX = '0001-01-01';

function endsAtOf(status: 'firing' | 'resolved', endsAt: string | undefined): Date | null {
  if (!endsAt || endsAt.startsWith(ZERO_TIME_PREFIX)) return null;
  // A firing alert carries a future endsAt (its resolve timeout); only a resolved one has ended.
  return status === 'resolved' ? new Date(endsAt) : null;
}

/** FNV-1a 64-bit hash as 16 hex characters: stable short keys for labels and long strings (not a security hash). */
export function fnv64(text: string): string {
  let hash = 0xcbf29ce484222325n;
  const prime = 0x100000001b3n;
  for (let i = 0; i < text.length; i++) {
    hash ^= BigInt(text.charCodeAt(i));
    hash = (hash * prime) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, '0');
}

const FNV64_OFFSET = 0xcbf29ce484222325n;
const FNV64_PRIME = 0x100000001b3n;
const LABEL_SEPARATOR = 0xff;

/**
 * A label set's fingerprint as Alertmanager computes it (prometheus/common model
 * `LabelSet.Fingerprint`): FNV-1a 64 over the UTF-8 bytes of each name and value, names sorted,
 * each followed by the byte 0xff; 16 hex digits. A body without fingerprints gets the ids
 * Alertmanager itself would have sent for the same alerts.
 */
export function labelsFingerprint(labels: Record<string, string>): string {
  const utf8 = new TextEncoder();
  let hash = FNV64_OFFSET;
  const add = (byte: number) => { hash = ((hash ^ BigInt(byte)) * FNV64_PRIME) & 0xffffffffffffffffn; };
  for (const name of Object.keys(labels).sort()) {
    for (const byte of utf8.encode(name)) add(byte);
    add(LABEL_SEPARATOR);
    for (const byte of utf8.encode(labels[name]!)) add(byte);
    add(LABEL_SEPARATOR);
  }
  return hash.toString(16).padStart(16, '0');
}

/**
 * What the Sensor copies of a sender's labels and annotations into cases, evidence, timeline and
 * events. Bodies are accepted as the sender built them (Alertmanager does not retry a 4xx, so a
 * refused notification would be an alert lost); the copies are cut to these sizes instead, and a
 * cut alert says so (`trimmed`). The fingerprint is computed before cutting, so identity holds.
 */
export const ALERT_COPY_LIMITS = {
  labelCount: 50,
  keyChars: 100,
  labelValueChars: 500,
  annotationValueChars: 2000,
  /** Per label set, as JSON. */
  setBytes: 8 * 1024,
  /** Per notification: labels and annotations of all alerts together, as JSON. Later alerts keep only `alertname`. */
  notificationBytes: 128 * 1024,
} as const;

const utf8Bytes = (text: string) => new TextEncoder().encode(text).length;

/** A label set cut to the copy limits; `trimmed` tells whether anything was dropped or shortened. */
export function capLabelSet(set: Record<string, string>, valueChars: number, maxBytes: number = ALERT_COPY_LIMITS.setBytes): { labels: Record<string, string>; trimmed: boolean } {
  const labels: Record<string, string> = {};
  let trimmed = false;
  let bytes = 2;
  let count = 0;
  for (const [key, raw] of Object.entries(set)) {
    if (count >= ALERT_COPY_LIMITS.labelCount || key.length > ALERT_COPY_LIMITS.keyChars) { trimmed = true; continue; }
    const value = raw.length > valueChars ? `${raw.slice(0, valueChars - 1)}…` : raw;
    const cost = utf8Bytes(JSON.stringify(key)) + utf8Bytes(JSON.stringify(value)) + 2;
    if (bytes + cost > maxBytes) { trimmed = true; continue; }
    if (value !== raw) trimmed = true;
    labels[key] = value;
    bytes += cost;
    count += 1;
  }
  return { labels, trimmed };
}

/** Cut every alert's labels and annotations (and the common sets) to `ALERT_COPY_LIMITS`. */
function capNotification(n: NormalizedNotification): NormalizedNotification {
  let budget: number = ALERT_COPY_LIMITS.notificationBytes;
  const alerts = n.alerts.map((a) => {
    let labels = capLabelSet(a.labels, ALERT_COPY_LIMITS.labelValueChars);
    let annotations = capLabelSet(a.annotations, ALERT_COPY_LIMITS.annotationValueChars);
    const cost = utf8Bytes(JSON.stringify(labels.labels)) + utf8Bytes(JSON.stringify(annotations.labels));
    if (cost > budget) {
      const name = a.labels.alertname;
      labels = { labels: name !== undefined ? { alertname: name.slice(0, ALERT_COPY_LIMITS.keyChars) } : {}, trimmed: true };
      annotations = { labels: {}, trimmed: Object.keys(a.annotations).length > 0 };
    }
    budget = Math.max(0, budget - cost);
    const valueNames = Object.keys(a.values);
    const values = valueNames.length > ALERT_COPY_LIMITS.labelCount || valueNames.some((k) => k.length > ALERT_COPY_LIMITS.keyChars)
      ? Object.fromEntries(Object.entries(a.values).filter(([k]) => k.length <= ALERT_COPY_LIMITS.keyChars).slice(0, ALERT_COPY_LIMITS.labelCount))
      : a.values;
    const trimmed = labels.trimmed || annotations.trimmed || values !== a.values;
    return { ...a, labels: labels.labels, annotations: annotations.labels, values, ...(trimmed ? { trimmed } : {}) };
  });
  return {
    ...n, alerts,
    groupLabels: capLabelSet(n.groupLabels, ALERT_COPY_LIMITS.labelValueChars).labels,
    commonLabels: capLabelSet(n.commonLabels, ALERT_COPY_LIMITS.labelValueChars).labels,
    commonAnnotations: capLabelSet(n.commonAnnotations, ALERT_COPY_LIMITS.annotationValueChars).labels,
  };
}

type AnyAlert = z.output<typeof AlertmanagerAlertSchema> & Partial<Pick<z.output<typeof GrafanaAlertSchema>, 'values' | 'dashboardURL' | 'panelURL'>>;

function normalizeAlert(a: AnyAlert, groupStatus: 'firing' | 'resolved'): NormalizedAlert {
  const status = a.status ?? groupStatus;
  return {
    status,
    labels: a.labels,
    annotations: a.annotations,
    startsAt: new Date(a.startsAt),
    endsAt: endsAtOf(status, a.endsAt),
    generatorURL: a.generatorURL,
    fingerprint: a.fingerprint ?? labelsFingerprint(a.labels),
    dashboardURL: a.dashboardURL ?? '',
    panelURL: a.panelURL ?? '',
    values: a.values ?? {},
  };
}

export function normalizeAlertmanager(body: AlertmanagerWebhook): NormalizedNotification {
  return capNotification({
    source: 'alertmanager', receiver: body.receiver, status: body.status, groupKey: body.groupKey,
    groupLabels: body.groupLabels, commonLabels: body.commonLabels, commonAnnotations: body.commonAnnotations,
    externalURL: body.externalURL, truncatedAlerts: body.truncatedAlerts, title: '',
    alerts: body.alerts.map((a) => normalizeAlert(a, body.status)),
  });
}

export function normalizeGrafana(body: GrafanaWebhook): NormalizedNotification {
  return capNotification({
    source: 'grafana', receiver: body.receiver, status: body.status, groupKey: body.groupKey,
    groupLabels: body.groupLabels, commonLabels: body.commonLabels, commonAnnotations: body.commonAnnotations,
    externalURL: body.externalURL, truncatedAlerts: body.truncatedAlerts, title: body.title,
    alerts: body.alerts.map((a) => normalizeAlert(a, body.status)),
  });
}
