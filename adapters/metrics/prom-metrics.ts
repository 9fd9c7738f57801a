import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CoreMetrics } from '../../core/ports/metrics.js';
import { scrubText } from '../secrets.js';

/** What the outbox relay and inbox consumers report. */
export interface OutboxMetrics {
  /** outbox_publish_total{topic,status}: one message handed to its consumers (`ok`) or failed (`error`). */
  outboxPublished(topic: string, status: 'ok' | 'error'): void;
  /** inbox_dedup_total: a consumer saw a message id it had already processed. */
  inboxDedup(): void;
  /** outbox_backlog: messages not yet published, as last measured. */
  outboxBacklog(count: number): void;
}

/** What the Executor and Verifier report. */
export interface AgentMetrics {
  /** adapter_step_latency_seconds{action,outcome} */
  adapterStep(action: string, outcome: 'ok' | 'failed' | 'timeout' | string, seconds: number): void;
  /** verify_latency_seconds{outcome} */
  verifyLatency(seconds: number, outcome?: 'pass' | 'failed' | string): void;
}

export type OpsMetrics = CoreMetrics & OutboxMetrics & AgentMetrics;

/** The design's metric names, so tests and docs can check they are all exported. */
export const METRIC_NAMES = [
  'case_transition_total',
  'conflict_total',
  'idempotent_replay_total',
  'outbox_publish_total',
  'inbox_dedup_total',
  'outbox_backlog',
  'adapter_step_latency_seconds',
  'verify_latency_seconds',
] as const;

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/**
 * prom-client metrics with the design's names, on a registry of their own (so several
 * opsloop instances in one test process do not collide), plus default process metrics.
 */
export class PromMetrics implements OpsMetrics {
  readonly registry: Registry;
  private readonly transitions: Counter<'from' | 'to' | 'event'>;
  private readonly conflicts: Counter<'reason'>;
  private readonly replays: Counter;
  private readonly publishes: Counter<'topic' | 'status'>;
  private readonly dedups: Counter;
  private readonly backlog: Gauge;
  private readonly stepLatency: Histogram<'action' | 'outcome'>;
  private readonly verifyLatencyHist: Histogram<'outcome'>;
  private backlogSource: (() => Promise<number>) | null = null;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    this.registry = new Registry();
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    this.transitions = new Counter({ name: 'case_transition_total', help: 'Case transitions applied, by from/to status and event.', labelNames: ['from', 'to', 'event'], registers });
    this.conflicts = new Counter({ name: 'conflict_total', help: 'Refused writes: 409 illegal/version, 412 If-Match, 422 guard.', labelNames: ['reason'], registers });
    this.replays = new Counter({ name: 'idempotent_replay_total', help: 'Writes answered from the idempotency store.', registers });
    this.publishes = new Counter({ name: 'outbox_publish_total', help: 'Outbox messages delivered by the relay, by topic and status.', labelNames: ['topic', 'status'], registers });
    this.dedups = new Counter({ name: 'inbox_dedup_total', help: 'Messages a consumer had already processed (ignored).', registers });
    const self = this;
    this.backlog = new Gauge({
      name: 'outbox_backlog', help: 'Outbox messages not yet published.', registers,
      async collect() {
        if (!self.backlogSource) return;
        try {
          this.set(await self.backlogSource());
        } catch {
          // The store is down: keep the last value; /healthz reports the outage.
        }
      },
    });
    this.stepLatency = new Histogram({ name: 'adapter_step_latency_seconds', help: 'Executor step duration by action and outcome.', labelNames: ['action', 'outcome'], buckets: LATENCY_BUCKETS, registers });
    this.verifyLatencyHist = new Histogram({ name: 'verify_latency_seconds', help: 'Verifier run duration (settle excluded).', labelNames: ['outcome'], buckets: LATENCY_BUCKETS, registers });
    // Zero series so every name shows up in /metrics from the start.
    this.replays.inc(0);
    this.dedups.inc(0);
  }

  transition(from: string, to: string, event: string): void {
    this.transitions.inc({ from, to, event });
  }
  conflict(reason: '409' | '412' | '422'): void {
    this.conflicts.inc({ reason });
  }
  idempotentReplay(): void {
    this.replays.inc();
  }
  outboxPublished(topic: string, status: 'ok' | 'error'): void {
    this.publishes.inc({ topic, status });
  }
  /** The relay's hook (adapters/jobs/outbox-relay.ts `RelayMetrics`). */
  published(topic: string, status: 'ok' | 'error'): void {
    this.outboxPublished(topic, status);
  }
  inboxDedup(): void {
    this.dedups.inc();
  }
  outboxBacklog(count: number): void {
    this.backlog.set(count);
  }
  adapterStep(action: string, outcome: string, seconds: number): void {
    this.stepLatency.observe({ action, outcome }, seconds);
  }
  verifyLatency(seconds: number, outcome = 'done'): void {
    this.verifyLatencyHist.observe({ outcome }, seconds);
  }

  /** Measure the backlog at scrape time (e.g. `() => store.outbox.backlog()`). */
  trackBacklog(source: () => Promise<number>): void {
    this.backlogSource = source;
  }

  /**
   * Prometheus text exposition of every metric. Label values come from code (statuses, events,
   * topics) or from plans (step actions); the text is scrubbed anyway, so no secret can leave here.
   */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: scrubText(await this.registry.metrics()) };
  }
}

export function createPromMetrics(options?: { defaultMetrics?: boolean }): PromMetrics {
  return new PromMetrics(options);
}
