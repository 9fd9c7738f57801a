import type { CaseRecord } from '../../core/schemas/case.js';

/** A case as stored, for investigation tests. */
export function testCase(over: Partial<CaseRecord> = {}): CaseRecord {
  return {
    id: '11111111-2222-4333-8444-555555555555',
    tenant: 't-001',
    title: 'checkout error ratio above 5%',
    severity: 2,
    service: 'checkout',
    env: 'prod',
    requester: null,
    labels: { alertname: 'CheckoutErrors', service: 'checkout' },
    status: 'ANALYZING',
    version: 2,
    plan_id: null,
    created_at: new Date('2026-12-05T09:50:00Z'),
    updated_at: new Date('2026-12-05T09:50:00Z'),
    ...over,
  };
}
