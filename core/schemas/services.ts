import { z } from 'zod';
import { VerifyCheckSchema } from './plan.js';
import { DetectorSettingsSchema } from './detectors.js';
import { PlaybookSchema } from './playbook.js';
import { MaintenanceWindowSchema } from './maintenance.js';

/**
 * Per-service defaults (config/services.yml): where a service runs, how the Verifier checks it
 * after a change, and which signals the Analyst watches. Validated at start-up.
 */

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const Name = z.string().regex(NAME, 'a name like checkout-api');
/** A PromQL duration as used in range selectors: 30s, 5m, 1h, 1d. */
export const PromDuration = z.string().regex(/^\d+[smhdwy]$/, 'a duration like 30s, 5m or 1h');

export const VerifyDefaultsSchema = z
  .object({
    /** Seconds to wait after execution before measuring. */
    settle_s: z.number().int().min(0).max(3600).optional(),
    /** Window substituted for `$window` when a check names none. */
    window: PromDuration.optional(),
    /** Checks every plan for this service is verified with (a plan's check of the same name overrides one). */
    checks: z.array(VerifyCheckSchema).max(20).default([]),
  })
  .strict();
export type VerifyDefaults = z.infer<typeof VerifyDefaultsSchema>;

/**
 * A signal the Analyst watches (issue 7). Detector settings are checked against the detectors'
 * own schemas (core/schemas/detectors.ts); other keys of the signal are still kept as given.
 */
export const SignalSchema = z
  .object({
    name: Name,
    /** PromQL; `$service`, `$env`, `$window` are substituted. */
    query: z.string().min(1).max(4000),
    /** Which way is bad. */
    direction: z.enum(['up', 'down', 'both']).default('both'),
    /** Resolution of the series the detectors see (default 1m). */
    step: PromDuration.default('1m'),
    /** How much history the baseline covers. */
    baseline: PromDuration.optional(),
    detectors: z.array(DetectorSettingsSchema).max(10).default([]),
    /** Severity (1..4) of a case the Analyst opens for this signal; default 3. */
    severity: z.number().int().min(1).max(4).optional(),
    /** Whether a case the Analyst opens starts analysis at once; default true. */
    start_analysis: z.boolean().optional(),
    /** Only episodes that fired within this many recent points open or attach (default 15). */
    lookback_points: z.number().int().min(1).max(10_000).optional(),
  })
  .loose();
export type Signal = z.infer<typeof SignalSchema>;

export const ServiceDefaultsSchema = z
  .object({
    namespace: z.string().min(1).max(63).optional(),
    /** More namespaces the investigation may read for this service (besides `namespace`). */
    namespaces: z.array(z.string().min(1).max(63)).max(10).optional(),
    /** The GitHub repository (owner/name) whose deploys and commits belong to this service. */
    repo: z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'owner/name').optional(),
    deployment: z.string().min(1).max(253).optional(),
    env: Name.optional(),
    verify: VerifyDefaultsSchema.default({ checks: [] }),
    signals: z.array(SignalSchema).default([]),
    /** The deterministic investigation's playbook (core/schemas/playbook.ts). */
    investigate: PlaybookSchema.optional(),
    /** Recurring maintenance windows (core/schemas/maintenance.ts): while one is open, the service's alerts and detector episodes open no case. */
    maintenance: z.array(MaintenanceWindowSchema).max(50).optional(),
  })
  .strict();
export type ServiceDefaults = z.infer<typeof ServiceDefaultsSchema>;

export const ServicesFileSchema = z
  .object({
    version: z.literal(1).default(1),
    /** Applies to every service (a service's own values win). */
    defaults: ServiceDefaultsSchema.partial().optional(),
    services: z.record(Name, ServiceDefaultsSchema).default({}),
  })
  .strict();
export type ServicesFile = z.infer<typeof ServicesFileSchema>;

/**
 * The defaults for one service: the file-wide defaults overlaid with the service's own entry.
 * Checks and signals are merged by name (the service's wins). Pure.
 */
export function serviceDefaultsFor(file: ServicesFile, service: string | null | undefined): ServiceDefaults {
  const base = file.defaults ?? {};
  const own = service ? file.services[service] : undefined;
  const byName = <T extends { name?: string; query?: string }>(a: T[] = [], b: T[] = []): T[] => {
    const key = (x: T) => x.name ?? x.query ?? '';
    const merged = new Map(a.map((x) => [key(x), x]));
    for (const x of b) merged.set(key(x), x);
    return [...merged.values()];
  };
  return {
    namespace: own?.namespace ?? base.namespace,
    namespaces: own?.namespaces ?? base.namespaces,
    repo: own?.repo ?? base.repo,
    deployment: own?.deployment ?? base.deployment,
    env: own?.env ?? base.env,
    verify: {
      settle_s: own?.verify.settle_s ?? base.verify?.settle_s,
      window: own?.verify.window ?? base.verify?.window,
      checks: byName(base.verify?.checks, own?.verify.checks),
    },
    signals: byName(base.signals, own?.signals),
    investigate: own?.investigate ?? base.investigate,
    maintenance: own?.maintenance ?? base.maintenance,
  };
}
