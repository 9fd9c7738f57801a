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

/** The members a fusion detector can combine (core/analyst/ops-detectors.ts). */
export const FUSION_MEMBERS = ['spike', 'shift', 'drift'] as const;
export type FusionMember = (typeof FUSION_MEMBERS)[number];

/**
 * Fusion (issue 16, the default): a robust, seasonality-aware residual scored by several small
 * detectors — `spike` (robust z with a MAD floor), `shift` (CUSUM), `drift` (recent vs long-run
 * median) — that vote; a page needs `votes` of them (or one beyond `alone` × its threshold), a
 * learning period of history, and a quiet spell after the previous page.
 */
export const FusionSettingsSchema = z
  .object({
    kind: z.literal('fusion'),
    ...Common,
    members: z.array(z.enum(FUSION_MEMBERS)).min(1).max(3).optional(),
    /** `log`: score log(1 + x) (counts, rates, bytes, latencies: bursts are multiplicative); needs x ≥ 0. */
    transform: z.enum(['none', 'log']).optional(),
    /** `auto`: use the seasonal residual when it is steadier than the plain one. */
    seasonal: z.enum(['auto', 'none', 'daily', 'weekly']).optional(),
    /** Previous days (weeks) with data whose same-time median is the expectation; missing ones are skipped. */
    seasonal_days: z.number().int().min(3).max(28).optional(),
    /** Points either side of the same time that count as "the same time". */
    seasonal_window: z.number().int().min(0).max(60).optional(),
    /** Trailing window (points) of the residual's median and scale. */
    baseline_points: z.number().int().min(10).max(100_000).optional(),
    /** Baseline location and scale: `iqr` (median, interquartile range) or `shorth` (the shortest half; robust to an earlier incident in the baseline). */
    scale: z.enum(['iqr', 'shorth']).optional(),
    /** Floor for the scale, absolute (series unit) … */
    min_scale: z.number().min(0).optional(),
    /** … and relative to the level (0.05 = a 5 % change is one unit of scale at most). */
    min_scale_ratio: z.number().min(0).max(10).optional(),
    /** spike: |z| beyond this votes. */
    threshold: z.number().positive().max(1000).optional(),
    /** shift: CUSUM slack (σ) and decision threshold (σ). */
    cusum_slack: z.number().min(0).max(10).optional(),
    cusum_threshold: z.number().positive().max(1000).optional(),
    /** drift: points of the recent median and of the long-run reference before it; votes beyond `drift_threshold` σ. */
    drift_points: z.number().int().min(3).max(100_000).optional(),
    drift_reference_points: z.number().int().min(10).max(100_000).optional(),
    drift_threshold: z.number().positive().max(1000).optional(),
    /** Members that must vote at one point for it to count as anomalous. */
    votes: z.number().int().min(1).max(3).optional(),
    /** One member alone suffices beyond `alone` × its threshold. */
    alone: z.number().min(1).max(100).optional(),
    /** Valid points of history before anything can page (learning period). */
    learning_points: z.number().int().min(0).max(100_000).optional(),
    /**
     * Novelty: a point pages only when its strongest member score is beyond the
     * `novelty_quantile` of those scores over the previous `novelty_points` (0 turns it off).
     */
    novelty_points: z.number().int().min(0).max(100_000).optional(),
    novelty_quantile: z.number().min(0).max(1).optional(),
    /**
     * Anomaly likelihood: a point pages only when the mean of its strongest member scores over the
     * last `likelihood_recent_points` is `likelihood_sigma` long-run σ above their mean over the
     * `likelihood_points` before (0 turns it off).
     */
    likelihood_points: z.number().int().min(0).max(100_000).optional(),
    likelihood_recent_points: z.number().int().min(1).max(1_000).optional(),
    likelihood_sigma: z.number().min(0).max(1000).optional(),
    /**
     * Fast step path: a point is anomalous when the last `step_points` residual z-scores all lie
     * beyond `step_sigma` on one side (a level shift that holds), whatever the votes (0 turns it off).
     */
    step_points: z.number().int().min(0).max(120).optional(),
    step_sigma: z.number().positive().max(1000).optional(),
    /** The baseline scale the step path's z stands on (`shorth`: an earlier incident in the baseline does not blunt the next). */
    step_scale: z.enum(['iqr', 'shorth']).optional(),
    /**
     * Daily peak bar: a point pages only when its strongest member score is beyond `peak_ratio` ×
     * the median of the daily maxima of those scores over the previous `peak_days` days (needs 3
     * whole days; 0 turns it off).
     */
    peak_days: z.number().int().min(0).max(28).optional(),
    peak_ratio: z.number().min(0).max(100).optional(),
    /** Re-alert suppression: an episode starting within this many points of the last page's end joins it. */
    quiet_points: z.number().int().min(0).max(100_000).optional(),
  })
  .strict();

export const DetectorSettingsSchema = z.discriminatedUnion('kind', [RobustZSettingsSchema, EwmaSettingsSchema, StaticSettingsSchema, FusionSettingsSchema]);
export type DetectorSettings = z.infer<typeof DetectorSettingsSchema>;
export type RobustZSettings = z.infer<typeof RobustZSettingsSchema>;
export type EwmaSettings = z.infer<typeof EwmaSettingsSchema>;
export type StaticSettings = z.infer<typeof StaticSettingsSchema>;
export type FusionSettings = z.infer<typeof FusionSettingsSchema>;

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
  fusion: {
    members: FUSION_MEMBERS, transform: 'none', seasonal: 'auto', seasonal_days: 5, seasonal_window: 1, baseline_points: 288,
    min_scale_ratio: 0.01, threshold: 5, cusum_slack: 1, cusum_threshold: 8, drift_points: 30, drift_reference_points: 720,
    drift_threshold: 4, votes: 2, alone: 2.5, learning_points: 120, quiet_points: 60, consecutive: 2,
    novelty_points: 0, novelty_quantile: 0.995, likelihood_points: 0, likelihood_recent_points: 10, likelihood_sigma: 4,
    scale: 'iqr', step_points: 3, step_sigma: 3.5, step_scale: 'iqr', peak_days: 7, peak_ratio: 1,
  },
} as const;
