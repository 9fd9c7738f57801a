/**
 * Where measured values come from: a Prometheus-compatible HTTP API.
 * The Verifier reads instant values; the Analyst reads per-minute ranges.
 * Adapters throw on transport or query errors (the message says which); they never
 * invent a value.
 */
export interface MetricsSource {
  /**
   * Evaluate `query` at one instant (default: now on the server).
   * `value` is the first sample of a vector, the value of a scalar, or null when the result is empty.
   */
  queryInstant(query: string, time?: Date): Promise<InstantResult>;
  /** Evaluate `query` over [start, end] at `stepSeconds` resolution; one entry per returned series. */
  queryRange(query: string, start: Date, end: Date, stepSeconds: number): Promise<RangeSeries[]>;
  /** True when the server answers its readiness probe; never throws. */
  ready(): Promise<boolean>;
}

/** One instant query answer. */
export interface InstantResult {
  /** The measured value; null when the query returned no sample. May be NaN or ±Infinity. */
  value: number | null;
  /** Labels of the sample the value came from (vector results only). */
  labels?: Record<string, string>;
  /** How many series the query returned (the value is taken from the first). */
  series: number;
  /** The server's `data` object, for the timeline. */
  raw: unknown;
}

/** One series of a range query. */
export interface RangeSeries {
  labels: Record<string, string>;
  /** Points in time order: `t` in Unix seconds, `v` the value (NaN/±Infinity kept). */
  points: Array<{ t: number; v: number }>;
}
