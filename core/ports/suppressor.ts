import type { SuppressionTarget } from '../silences/matchers.js';
import type { Suppression } from '../silences/suppression.js';

/** Where a suppressed signal came from (a label of the `opsloop_suppressed_total` counter). */
export type SuppressionSource = 'alert' | 'detector';

/** One thing that would open a case: what it is about, and a key that names it across re-sends. */
export interface SuppressionCheck {
  target: SuppressionTarget;
  /**
   * The same for every re-send of one alert episode (`fingerprint@startsAt`) or detector episode
   * (`service:signal:start`): a suppression is counted once per key.
   */
  key: string;
}

/**
 * Asks whether alerts or detector episodes are silenced or in a maintenance window right now, and
 * records each suppression (the silence's count, the `opsloop_suppressed_total` counter, a log line
 * naming the silence or window). Implemented in adapters/silences/.
 */
export interface Suppressor {
  /** For each check, in order: what suppresses it, or null (it may open a case). */
  check(checks: readonly SuppressionCheck[], source: SuppressionSource): Promise<Array<Suppression | null>>;
}
