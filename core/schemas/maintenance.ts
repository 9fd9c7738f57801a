import { z } from 'zod';
import { isValidTimeZone, WEEKDAYS } from '../agents/policy-schema.js';
import { parseDurationMs } from '../silences/duration.js';

/**
 * A recurring maintenance window of a service (config/services.yml, `maintenance:`): on each of
 * `days`, at `start` wall-clock time in `time_zone`, for `duration` of elapsed time. While one is
 * open, alerts and detector episodes of the service (and `env`, when given) open no case, as if a
 * silence matched them. Unrelated to the Gatekeeper's change windows (config/policy.yml), which
 * decide when a plan may run.
 */
export const MAX_WINDOW_MS = 7 * 86_400_000;

export const MaintenanceWindowSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/, 'a name like sunday-patching'),
  /** IANA zone the days and start are read in (Europe/Berlin, America/New_York, UTC). */
  time_zone: z.string().min(1).refine(isValidTimeZone, { message: 'not an IANA time zone (e.g. Europe/Berlin, UTC)' }),
  days: z.array(z.enum(WEEKDAYS)).min(1).max(7),
  /** Local start time, 24-hour clock. */
  start: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time like 02:00 (24-hour clock)'),
  /** How long it stays open (elapsed time, so a window over a DST change still lasts this long): 90m, 2h, 1h30m; at most 7d. */
  duration: z.string().refine((d) => { const ms = parseDurationMs(d); return ms !== null && ms > 0 && ms <= MAX_WINDOW_MS; },
    { message: 'a duration like 30m, 2h or 1h30m (at most 7d)' }),
  /** Only alerts and episodes of this env (default: every env of the service). */
  env: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/).optional(),
  /** Shown in logs and counted under this window's name. */
  reason: z.string().max(500).optional(),
}).strict();
export type MaintenanceWindow = z.infer<typeof MaintenanceWindowSchema>;
