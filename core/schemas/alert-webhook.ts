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
  status: AlertStatus,
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
  /** The sender's fingerprint, or a hash of the sorted label set when it sent none. */
  fingerprint: string;
  dashboardURL: string;
  panelURL: string;
  /** Grafana's measured values (`values`), else empty. */
  values: Record<string, number | null>;
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

/** A fingerprint for a label set: the same labels always give the same value. */
export function labelsFingerprint(labels: Record<string, string>): string {
  const canonical = Object.keys(labels).sort().map((k) => `${k}\u0000${labels[k]}`).join('\u0001');
  return fnv64(canonical);
}

type AnyAlert = z.output<typeof AlertmanagerAlertSchema> & Partial<Pick<z.output<typeof GrafanaAlertSchema>, 'values' | 'dashboardURL' | 'panelURL'>>;

function normalizeAlert(a: AnyAlert): NormalizedAlert {
  return {
    status: a.status,
    labels: a.labels,
    annotations: a.annotations,
    startsAt: new Date(a.startsAt),
    endsAt: endsAtOf(a.status, a.endsAt),
    generatorURL: a.generatorURL,
    fingerprint: a.fingerprint ?? labelsFingerprint(a.labels),
    dashboardURL: a.dashboardURL ?? '',
    panelURL: a.panelURL ?? '',
    values: a.values ?? {},
  };
}

export function normalizeAlertmanager(body: AlertmanagerWebhook): NormalizedNotification {
  return {
    source: 'alertmanager', receiver: body.receiver, status: body.status, groupKey: body.groupKey,
    groupLabels: body.groupLabels, commonLabels: body.commonLabels, commonAnnotations: body.commonAnnotations,
    externalURL: body.externalURL, truncatedAlerts: body.truncatedAlerts, title: '',
    alerts: body.alerts.map(normalizeAlert),
  };
}

export function normalizeGrafana(body: GrafanaWebhook): NormalizedNotification {
  return {
    source: 'grafana', receiver: body.receiver, status: body.status, groupKey: body.groupKey,
    groupLabels: body.groupLabels, commonLabels: body.commonLabels, commonAnnotations: body.commonAnnotations,
    externalURL: body.externalURL, truncatedAlerts: body.truncatedAlerts, title: body.title,
    alerts: body.alerts.map(normalizeAlert),
  };
}
