import { z } from 'zod';

/**
 * Settings of the Analyst's anomaly detectors (issue 7), as written in config/services.yml under
 * a signal's `detectors`, in a `detect --config` file, or built by code. No defaults are filled in
 * here (so a parsed file reads back as written); core/analyst/detectors.ts applies the defaults
 * listed in `DETECTOR_DEFAULTS`.
 */

const Consecutive = z.number().int().min(1).max(120);
const Common = {
  /** Label of this detector in findings (default: its kind). */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/).optional(),
  /** Anomalous points in a row before an episode opens. */
  consecutive: Consecutive.optional(),
  /** Normal points in a row that end an episode (default: `consecutive`). */
  clear: Consecutive.optional(),
  /** Missing points tolerated inside a run; a longer gap breaks it. */
  max_gap: z.number().int().min(0).max(120).optional(),
  /**
   * Hysteresis: a run starts at a point beyond the threshold; the points after it (and inside an
   * episode) need only be beyond threshold × continue_ratio. 1 turns it off. Not for static.
   */
  continue_ratio: z.number().gt(0).max(1).optional(),
};

/** Robust z-score: (x − median) / (1.4826 · MAD) over a trailing baseline window. */
export const RobustZSettingsSchema = z
  .object({
    kind: z.literal('robust_z'),
    ...Common,
    /** |z| above this is anomalous. */
    threshold: z.number().positive().max(1000).optional(),
    /** Trailing baseline length in points (default: the signal's baseline ÷ step, else 60). */
    baseline_points: z.number().int().min(3).max(100_000).optional(),
    /** Fewest valid baseline points needed to score a point. */
    min_points: z.number().int().min(3).max(100_000).optional(),
    /** Floor for the scale (same unit as the series), for series that are often constant. */
    min_scale: z.number().min(0).optional(),
    /**
     * `daily`: first subtract the median of the same minute of day (± `seasonal_window` points) on
     * the previous `seasonal_days` days, then score the residual. Needs ≥ 1 day of history.
     */
    seasonal: z.enum(['none', 'daily']).optional(),
    seasonal_days: z.number().int().min(1).max(28).optional(),
    seasonal_window: z.number().int().min(0).max(60).optional(),
  })
  .strict();

/** EWMA band: anomalous when x leaves mean ± band · sd of an exponentially weighted mean/variance. */
export const EwmaSettingsSchema = z
  .object({
    kind: z.literal('ewma'),
    ...Common,
    /** Smoothing factor 0..1 (higher follows faster). */
    alpha: z.number().gt(0).max(1).optional(),
    /** Band half-width in standard deviations. */
    band: z.number().positive().max(1000).optional(),
    /** Points used to initialise the mean and variance before anything is scored. */
    warmup: z.number().int().min(3).max(100_000).optional(),
    min_scale: z.number().min(0).optional(),
  })
  .strict();

/** Static thresholds: anomalous when x > above or x < below (the signal's direction is not applied). */
export const StaticSettingsSchema = z
  .object({
    kind: z.literal('static'),
    ...Common,
    above: z.number().optional(),
    below: z.number().optional(),
  })
  .strict()
  .refine((s) => s.above !== undefined || s.below !== undefined, { message: 'a static detector needs `above` or `below`' });

export const DetectorSettingsSchema = z.discriminatedUnion('kind', [RobustZSettingsSchema, EwmaSettingsSchema, StaticSettingsSchema]);
export type DetectorSettings = z.infer<typeof DetectorSettingsSchema>;
export type RobustZSettings = z.infer<typeof RobustZSettingsSchema>;
export type EwmaSettings = z.infer<typeof EwmaSettingsSchema>;
export type StaticSettings = z.infer<typeof StaticSettingsSchema>;

export const DIRECTIONS = ['up', 'down', 'both'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** What `detect` needs besides the series. */
export const DetectSettingsSchema = z
  .object({
    direction: z.enum(DIRECTIONS).default('both'),
    detectors: z.array(DetectorSettingsSchema).min(1).max(10),
    /** Default trailing baseline (points) for detectors that name none. */
    baseline_points: z.number().int().min(3).max(100_000).optional(),
  })
  .strict();
export type DetectSettings = z.input<typeof DetectSettingsSchema>;

/**
 * Defaults, tuned with `npm run bench:detect` (fixed-seed synthetic series): recall ≥ 0.95 for
 * 4σ steps within 5 points at < 1 false positive per 10,000 normal points.
 */
export const DETECTOR_DEFAULTS = {
  consecutive: 4,
  max_gap: 2,
  continue_ratio: 0.4,
  robust_z: { threshold: 3, baseline_points: 120, min_points: 20, seasonal_days: 7, seasonal_window: 2 },
  ewma: { alpha: 0.05, band: 2.75, warmup: 30 },
} as const;
