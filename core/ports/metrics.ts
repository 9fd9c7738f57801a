/** What core reports to metrics. The adapter maps it to prom-client with the design's names. */
export interface CoreMetrics {
  /** case_transition_total{from,to,event} */
  transition(from: string, to: string, event: string): void;
  /** conflict_total{reason} with reason 409 | 412 | 422 */
  conflict(reason: '409' | '412' | '422'): void;
  /** idempotent_replay_total */
  idempotentReplay(): void;
}

export const noMetrics: CoreMetrics = {
  transition() {},
  conflict() {},
  idempotentReplay() {},
};
