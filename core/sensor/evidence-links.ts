import type { NormalizedAlert } from '../schemas/alert-webhook.js';
import { fnv64 } from '../schemas/alert-webhook.js';
import type { EvidenceKind } from '../ports/evidence-store.js';
import type { IngestConfig } from './ingest-config.js';
import { withoutUserinfo } from '../auth/redact.js';

/**
 * Evidence locators: links that lead back to where an alert's data lives. Pure (URL and
 * URLSearchParams only). Each draft carries a dedupe key, so a re-sent alert adds nothing:
 * alert and log evidence are per episode, metric and dashboard links per case and link.
 */

export interface EvidenceDraft {
  kind: EvidenceKind;
  title: string;
  url: string | null;
  locator: string | null;
  labels: Record<string, string>;
  observed_at: Date;
  dedupe_key: string;
}

export interface LinkSettings {
  config: IngestConfig;
  /** Log query URL template (OPSLOOP_LOG_URL_TEMPLATE); no log evidence without it. */
  logUrlTemplate?: string;
  /** Fallback Prometheus base URL (PROMETHEUS_URL) when generatorURL has none and the file sets none. */
  prometheusUrl?: string;
}

const MAX_TITLE = 300;

/** The PromQL expression in a generatorURL's `g0.expr`, or null. */
export function promqlOf(generatorURL: string): string | null {
  if (!generatorURL || !URL.canParse(generatorURL)) return null;
  const expr = new URL(generatorURL).searchParams.get('g0.expr');
  return expr && expr.trim() ? expr : null;
}

/** Prometheus base URL from a generatorURL (`http://prom:9090/graph?...` → `http://prom:9090`), keeping a path prefix. */
export function prometheusBaseOf(generatorURL: string): string | null {
  if (!generatorURL || !URL.canParse(generatorURL)) return null;
  const u = new URL(generatorURL);
  if (!/^https?:$/.test(u.protocol)) return null;
  const prefix = u.pathname.replace(/\/graph\/?$/, '').replace(/\/$/, '');
  return `${u.origin}${prefix}`;
}

/** A Prometheus graph link for `expr` ending at `end`, over `rangeMinutes`. */
export function prometheusGraphUrl(base: string, expr: string, end: Date, rangeMinutes = 60): string {
  const params = new URLSearchParams({
    'g0.expr': expr,
    'g0.tab': '0',
    'g0.range_input': `${Math.max(1, Math.round(rangeMinutes))}m`,
    'g0.end_input': end.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ''),
  });
  return `${base.replace(/\/$/, '')}/graph?${params.toString()}`;
}

/** A LogQL-style stream selector from the alert's labels named in `names` (present ones only). */
export function logSelector(labels: Record<string, string>, names: readonly string[]): string | null {
  const parts = names.filter((n) => labels[n] !== undefined && labels[n] !== '')
    .map((n) => `${n}="${labels[n]!.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`);
  return parts.length ? `{${parts.join(',')}}` : null;
}

/**
 * Fill a log URL template. Placeholders (each URL-encoded): `{selector}` the label selector,
 * `{from}`/`{to}` RFC 3339, `{from_ms}`/`{to_ms}` Unix milliseconds, `{from_us}`/`{to_us}`
 * Unix microseconds (OpenObserve), `{from_s}`/`{to_s}` Unix seconds.
 */
export function fillLogTemplate(template: string, selector: string, from: Date, to: Date): string {
  const values: Record<string, string> = {
    selector,
    from: from.toISOString(), to: to.toISOString(),
    from_ms: String(from.getTime()), to_ms: String(to.getTime()),
    from_us: String(from.getTime() * 1000), to_us: String(to.getTime() * 1000),
    from_s: String(Math.floor(from.getTime() / 1000)), to_s: String(Math.floor(to.getTime() / 1000)),
  };
  return template.replace(/\{(selector|from|to|from_ms|to_ms|from_us|to_us|from_s|to_s)\}/g, (_m, name: string) => encodeURIComponent(values[name]!));
}

function alertTitle(alert: NormalizedAlert): string {
  const name = alert.labels.alertname ?? 'alert';
  const summary = alert.annotations.summary ?? alert.annotations.description ?? '';
  return (summary ? `${name}: ${summary}` : name).slice(0, MAX_TITLE);
}

function episodeKey(alert: NormalizedAlert): string {
  return `${alert.fingerprint}:${alert.startsAt.toISOString()}`;
}

/** The evidence one firing alert brings to case `caseId`. */
export function evidenceForAlert(alert: NormalizedAlert, caseId: string, settings: LinkSettings): EvidenceDraft[] {
  const drafts: EvidenceDraft[] = [];
  const observed = alert.startsAt;
  const expr = promqlOf(alert.generatorURL);
  drafts.push({
    kind: 'alert', title: alertTitle(alert), url: alert.generatorURL ? withoutUserinfo(alert.generatorURL) : null,
    locator: expr ?? `fingerprint=${alert.fingerprint}`, labels: alert.labels, observed_at: observed,
    dedupe_key: `alert:${episodeKey(alert)}`,
  });
  if (expr) {
    const base = settings.config.links.prometheus_url ?? prometheusBaseOf(alert.generatorURL) ?? settings.prometheusUrl;
    if (base) {
      drafts.push({
        kind: 'metric', title: `PromQL: ${expr}`.slice(0, MAX_TITLE), url: prometheusGraphUrl(withoutUserinfo(base), expr, new Date(observed.getTime() + 30 * 60_000)),
        locator: expr, labels: {}, observed_at: observed, dedupe_key: `metric:${caseId}:${fnv64(expr)}`,
      });
    }
  }
  for (const [title, url] of [['Grafana dashboard', alert.dashboardURL], ['Grafana panel', alert.panelURL]] as const) {
    if (!url || !URL.canParse(url)) continue;
    drafts.push({
      kind: 'dashboard', title, url, locator: grafanaLocator(url), labels: {}, observed_at: observed,
      dedupe_key: `dashboard:${caseId}:${fnv64(url)}`,
    });
  }
  const selector = settings.logUrlTemplate ? logSelector(alert.labels, settings.config.links.log_labels) : null;
  if (settings.logUrlTemplate && selector) {
    const from = new Date(observed.getTime() - settings.config.links.log_before_minutes * 60_000);
    const to = new Date(observed.getTime() + settings.config.links.log_after_minutes * 60_000);
    drafts.push({
      kind: 'log', title: `Logs ${selector}`.slice(0, MAX_TITLE), url: fillLogTemplate(settings.logUrlTemplate, selector, from, to),
      locator: `${selector} from ${from.toISOString()} to ${to.toISOString()}`, labels: {}, observed_at: observed,
      dedupe_key: `log:${episodeKey(alert)}`,
    });
  }
  return drafts;
}

/** `/d/<uid>/…?viewPanel=<id>` → `dashboard=<uid> panel=<id>`; else the URL itself. */
function grafanaLocator(url: string): string {
  const u = new URL(url);
  const uid = /\/d\/([^/]+)/.exec(u.pathname)?.[1];
  const panel = u.searchParams.get('viewPanel') ?? u.searchParams.get('panelId');
  if (!uid) return url;
  return panel ? `dashboard=${uid} panel=${panel}` : `dashboard=${uid}`;
}
