/** How a failed delivery is retried: exponential growth from `baseMs`, capped at `maxMs`. */
export interface BackoffPolicy {
  /** Delay after the first failed attempt. */
  baseMs: number;
  /** Growth per further attempt (2 doubles the delay each time). */
  factor: number;
  /** Upper bound on any delay. */
  maxMs: number;
}

export const DEFAULT_OUTBOX_BACKOFF: BackoffPolicy = { baseMs: 500, factor: 2, maxMs: 60_000 };

/**
 * Pure: milliseconds to wait before redelivering a message whose `attempts`-th delivery failed
 * (attempts counts from 1). Deterministic — no jitter — so tests and logs can name the delay.
 */
export function outboxBackoffMs(attempts: number, policy: BackoffPolicy = DEFAULT_OUTBOX_BACKOFF): number {
  const failures = Math.max(1, Math.floor(attempts));
  const delay = policy.baseMs * Math.pow(policy.factor, failures - 1);
  return Math.min(policy.maxMs, Number.isFinite(delay) ? Math.round(delay) : policy.maxMs);
}
