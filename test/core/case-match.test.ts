import assert from 'node:assert/strict';
import { test } from 'node:test';
import { caseMatchScore, matchCases, queryWords } from '../../core/knowledge/case-match.js';

const c = (id: string, title: string, extra: Partial<{ service: string | null; env: string | null; labels: Record<string, string> }> = {}) => ({
  id, title, tenant: 'default', service: extra.service ?? null, env: extra.env ?? null, labels: extra.labels ?? {},
});

test('query words: lower-case, two characters or more, deduplicated', () => {
  assert.deepEqual(queryWords('Checkout P95 spike, a checkout'), ['checkout', 'p95', 'spike']);
  assert.deepEqual(queryWords('?? !'), []);
});

test('a case scores one per word its title, service, env or labels mention, two for an id prefix', () => {
  const one = c('3f2a9c10-0000-4000-8000-000000000000', 'p95 spike on checkout', { service: 'checkout', env: 'prod', labels: { alertname: 'HighLatency' } });
  assert.equal(caseMatchScore(one, ['checkout', 'prod', 'highlatency', 'disk']), 3);
  assert.equal(caseMatchScore(one, ['3f2a9c']), 2);
  assert.equal(caseMatchScore(one, ['3f2']), 0, 'a short id prefix is not a match (it would match too much)');
});

test('matchCases: only matches, best first, ties keep the given (newest-first) order, limited', () => {
  const cases = [
    c('a0000000-0000-4000-8000-000000000001', 'disk full on db-1', { service: 'db' }),
    c('a0000000-0000-4000-8000-000000000002', 'checkout latency', { service: 'checkout' }),
    c('a0000000-0000-4000-8000-000000000003', 'checkout p95 spike', { service: 'checkout' }),
    c('a0000000-0000-4000-8000-000000000004', 'checkout errors'),
  ];
  assert.deepEqual(matchCases(cases, 'checkout p95', 10).map((m) => m.id.slice(-1)), ['3', '2', '4']);
  assert.deepEqual(matchCases(cases, 'checkout p95', 1).map((m) => m.id.slice(-1)), ['3']);
  assert.deepEqual(matchCases(cases, 'memory leak', 10), []);
});
