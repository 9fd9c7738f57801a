import { z } from 'zod';

/**
 * The Sensor's routing file (config/ingest.yml): which alert labels give a case's service, env,
 * severity and tenant, where its card is posted, when a case opens, how alerts correlate, and how
 * evidence links are built. Every key has a default, so an empty file is valid.
 */

const LabelName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a label name');
const LabelList = z.array(LabelName).min(1).max(20);
const Severity = z.number().int().min(1).max(4);

const ChatRouteSchema = z.object({
  /** `slack`, `discord`, `sim`… (the thread notifier of that platform posts the card). */
  platform: z.string().regex(/^[a-z][a-z0-9_-]{0,30}$/),
  channel: z.string().min(1).max(200),
}).strict();
export type ChatRoute = z.infer<typeof ChatRouteSchema>;

/** A rule applies when every `match` label equals the given value (a value `~re` is a regex, anchored). */
const RuleSchema = z.object({
  name: z.string().min(1).max(100).optional(),
  match: z.record(LabelName, z.string().min(1).max(500)).default({}),
  /** Open a case only when at least this many alerts of the group fire (default 1). */
  min_firing: z.number().int().min(1).max(10_000).optional(),
  severity: Severity.optional(),
  tenant: z.string().min(1).max(100).optional(),
  chat: ChatRouteSchema.optional(),
  /** Start analysis right away (default: severity ≤ start_analysis_max_severity). */
  start_analysis: z.boolean().optional(),
  /** Open cases this rule may have at once (default: max_open_cases_per_route; 0 = no cap). */
  max_open_cases: z.number().int().min(0).max(100_000).optional(),
}).strict();
export type IngestRule = z.infer<typeof RuleSchema>;

export const IngestConfigSchema = z.object({
  labels: z.object({
    service: LabelList.default(['service', 'app', 'job']),
    env: LabelList.default(['env', 'environment', 'namespace']),
    severity: LabelList.default(['severity', 'priority']),
    tenant: LabelList.default(['tenant', 'team']),
  }).strict().default({ service: ['service', 'app', 'job'], env: ['env', 'environment', 'namespace'], severity: ['severity', 'priority'], tenant: ['tenant', 'team'] }),
  /** Label value → severity (1 is the worst). Numeric values 1-4 are taken as they are. */
  severity_map: z.record(z.string(), Severity).default({
    critical: 1, page: 1, high: 2, error: 2, major: 2, warning: 3, warn: 3, minor: 3, info: 4, low: 4, none: 4,
  }),
  defaults: z.object({
    tenant: z.string().min(1).max(100).default('default'),
    severity: Severity.default(3),
    chat: ChatRouteSchema.optional(),
  }).strict().default({ tenant: 'default', severity: 3 }),
  /**
   * Open (not CLOSED) alert cases one route may have at once: each rule is a route, alerts no rule
   * matches share the `default` route (per tenant). A new alert group beyond the cap opens no case:
   * the answer is `held` with the reason, and Alertmanager's next re-send of the group opens one
   * once a case of the route closed. 0 = no cap.
   */
  max_open_cases_per_route: z.number().int().min(0).max(100_000).default(50),
  /** New cases of severity ≤ this start analysis at once (a rule's start_analysis wins). 0 = never. */
  start_analysis_max_severity: z.number().int().min(0).max(4).default(2),
  correlation: z.object({
    /** Alerts of other groups whose values of all these labels match an open case attach to it. */
    labels: LabelList.default(['service', 'env']),
    /** …if that case saw a matching alert within this many minutes. 0 turns correlation off. */
    window_minutes: z.number().min(0).max(7 * 24 * 60).default(30),
  }).strict().default({ labels: ['service', 'env'], window_minutes: 30 }),
  rules: z.array(RuleSchema).max(500).default([]),
  links: z.object({
    /** Base URL for PromQL graph links; default: the origin of the alert's generatorURL. */
    prometheus_url: z.url({ protocol: /^https?$/ }).optional(),
    /** Alert labels that form the log query's selector (those present on the alert). */
    log_labels: LabelList.default(['service', 'env', 'namespace', 'pod', 'job']),
    /** Log window around the alert's start (and end, once resolved). */
    log_before_minutes: z.number().min(0).max(24 * 60).default(15),
    log_after_minutes: z.number().min(0).max(24 * 60).default(15),
  }).strict().default({ log_labels: ['service', 'env', 'namespace', 'pod', 'job'], log_before_minutes: 15, log_after_minutes: 15 }),
  grafana: z.object({
    /** Header carrying the hex HMAC-SHA256 signature (Grafana's default). */
    signature_header: z.string().regex(/^[A-Za-z0-9-]+$/).default('X-Grafana-Alerting-Signature'),
    /** Header with the Unix timestamp Grafana includes in the signature (`ts:body`), if configured there. */
    timestamp_header: z.string().regex(/^[A-Za-z0-9-]+$/).optional(),
    /** Oldest accepted timestamp, in seconds (with timestamp_header). */
    max_age_seconds: z.number().int().min(1).max(86_400).default(300),
  }).strict().default({ signature_header: 'X-Grafana-Alerting-Signature', max_age_seconds: 300 }),
}).strict();
export type IngestConfig = z.output<typeof IngestConfigSchema>;

/** The configuration with every default (what an empty or absent file means). */
export function defaultIngestConfig(): IngestConfig {
  return IngestConfigSchema.parse({});
}

/** What routing decided for one notification. */
export interface IngestRoute {
  tenant: string;
  service: string | null;
  env: string | null;
  severity: number;
  chat: ChatRoute | null;
  minFiring: number;
  startAnalysis: boolean;
  /** Values of the correlation labels, joined; null when one is missing (no correlation). */
  correlationKey: string | null;
  ruleName: string | null;
  /** The route the open-case cap counts on: `rule:<name or match>`, or `default`. */
  routeKey: string;
  /** Open cases the route may have at once; 0 = no cap. */
  maxOpenCases: number;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

function firstLabel(labels: Record<string, string>, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = labels[name]?.trim();
    if (value) return value;
  }
  return undefined;
}

function matches(rule: IngestRule, labels: Record<string, string>): boolean {
  return Object.entries(rule.match).every(([name, expected]) => {
    const value = labels[name];
    if (value === undefined) return false;
    if (expected.startsWith('~')) {
      try {
        return new RegExp(`^(?:${expected.slice(1)})$`).test(value);
      } catch {
        return false;
      }
    }
    return value === expected;
  });
}

function severityOf(value: string | undefined, map: Record<string, number>): number | undefined {
  if (value === undefined) return undefined;
  if (/^[1-4]$/.test(value)) return Number(value);
  return map[value.toLowerCase()];
}

/** Route a notification by `labels` (its common labels, or its first firing alert's). Pure. */
export function routeAlert(config: IngestConfig, labels: Record<string, string>): IngestRoute {
  const rule = config.rules.find((r) => matches(r, labels)) ?? null;
  const rawService = firstLabel(labels, config.labels.service);
  const rawEnv = firstLabel(labels, config.labels.env);
  const severity = rule?.severity ?? severityOf(firstLabel(labels, config.labels.severity), config.severity_map) ?? config.defaults.severity;
  const tenant = rule?.tenant ?? firstLabel(labels, config.labels.tenant) ?? config.defaults.tenant;
  const correlationValues = config.correlation.labels.map((name) => labels[name]);
  const correlationKey = config.correlation.window_minutes > 0 && correlationValues.every((v) => v !== undefined && v !== '')
    ? config.correlation.labels.map((name, i) => `${name}=${correlationValues[i]}`).join(',')
    : null;
  return {
    tenant: tenant.slice(0, 100),
    service: rawService && NAME.test(rawService) ? rawService : null,
    env: rawEnv && NAME.test(rawEnv) ? rawEnv : null,
    severity,
    chat: rule?.chat ?? config.defaults.chat ?? null,
    minFiring: rule?.min_firing ?? 1,
    startAnalysis: rule?.start_analysis ?? severity <= config.start_analysis_max_severity,
    correlationKey,
    ruleName: rule ? rule.name ?? JSON.stringify(rule.match) : null,
    routeKey: rule ? `rule:${rule.name ?? JSON.stringify(rule.match)}`.slice(0, 500) : 'default',
    maxOpenCases: rule?.max_open_cases ?? config.max_open_cases_per_route,
  };
}
