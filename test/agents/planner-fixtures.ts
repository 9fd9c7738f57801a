import type { CaseRecord } from '../../core/schemas/case.js';

/** A stored case as the planner job would load it. */
export function sampleCase(overrides: Partial<CaseRecord> = {}): CaseRecord {
  const at = new Date('2026-11-25T10:00:00Z');
  return {
    id: '00000000-0000-4000-8000-000000000001',
    tenant: 't-001',
    title: 'p95 latency spike on checkout',
    severity: 2,
    service: 'checkout-api',
    env: 'prod',
    requester: 'U123',
    labels: {},
    status: 'PLANNING',
    version: 3,
    plan_id: null,
    created_at: at,
    updated_at: at,
    ...overrides,
  };
}

/** Per-service settings a services file would give (GitHub repository for the rollback workflow). */
export const SAMPLE_SERVICE_DEFAULTS = { owner: 'acme', repo: 'checkout', demo_port: 41234 } as const;

/** A plan a model could answer with for the sample case. */
export const VALID_LLM_PLAN = {
  title: 'Restart checkout-api in prod to clear the latency build-up',
  risk_score: 0.3,
  steps: [
    {
      name: 'rolling restart',
      action: 'k8s.rollout',
      params: { operation: 'restart', namespace: 'prod', deployment: 'checkout-api' },
      timeout_s: 600,
      retry: 0,
    },
  ],
  rollback: { note: 'nothing to undo for a restart' },
  verify: {
    settle_s: 60,
    checks: [{ query: 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{service="checkout-api"}[$window])))', op: '<', threshold: 0.5, window: '5m' }],
  },
} as const;

/** A plan that breaks the schema twice over: an unknown action and a timeout below 10 s. */
export const SCHEMA_VIOLATING_PLAN = {
  title: 'Reboot everything',
  steps: [{ action: 'ssh.reboot', params: {}, timeout_s: 5, retry: 0 }],
  rollback: {},
  verify: {},
} as const;
