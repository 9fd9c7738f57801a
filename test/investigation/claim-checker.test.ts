import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createClaimChecker, servicesClaimScope } from '../../adapters/investigation/claim-checker.js';
import type { DeployHistory, K8sEvent, K8sReader } from '../../core/ports/investigation-sources.js';
import type { CaseRecord } from '../../core/schemas/case.js';
import type { Claim, Hypothesis } from '../../core/schemas/investigation.js';
import { ServicesFileSchema } from '../../core/schemas/services.js';
import { prometheusBinary, prometheusSkipReason, startPrometheus, type PrometheusHarness } from '../support/prometheus.js';

/*
 * The claim checker against a real Prometheus (metric claims, instant and range), and against
 * small data stand-ins for the Kubernetes and deploy sources (the HTTP adapters are i14-tools'):
 * what is checked, what is out of scope, and what a failing or missing source makes of a claim.
 */

const skip = prometheusBinary() ? false : prometheusSkipReason();
const services = ServicesFileSchema.parse({ services: { api: { namespace: 'shop' } } });
const at = new Date();
const theCase = { id: 'c', service: 'api', labels: {}, title: 'api' } as unknown as CaseRecord;
const hyp = (claims: Claim[]): Hypothesis => ({ statement: 's', category: 'other', component: 'api', claims });

const pod = { metadata: { name: 'api-1' }, status: { phase: 'Running', containerStatuses: [{ lastState: { terminated: { reason: 'OOMKilled' } } }] } };
const events: K8sEvent[] = [{ type: 'Warning', reason: 'OOMKilling', message: 'killed', object: { kind: 'Pod', name: 'api-1' }, count: 3, last_seen: null }];
const k8s: K8sReader = {
  get: async (ref) => (ref.kind === 'Pod' && ref.name === 'api-1' ? pod
    : ref.kind === 'Deployment' && ref.name === 'api' ? { spec: { selector: { matchLabels: { app: 'api' } } } } : null),
  list: async (_ns, kind, opts) => (kind === 'Pod' && opts?.labelSelector === 'app=api' ? [pod] : []),
  events: async () => events,
  podLogs: async () => 'java.lang.OutOfMemoryError\njava.lang.OutOfMemoryError\n',
};
const deploys: DeployHistory = {
  deploys: async (service) => [{ service, revision: 'abc1234def', at: new Date(at.getTime() - 10 * 60_000).toISOString() }],
  commits: async () => [],
};

let prom: PrometheusHarness | null = null;
before(async () => {
  if (skip) return;
  prom = await startPrometheus();
  prom!.target.set('queue_depth', { service: 'api' }, 40);
  await prom!.waitForValue('max(queue_depth{service="api"})', (v) => v === 40);
});
after(() => prom?.close());

let n = 0;
const ctx = () => ({ case: theCase, now: new Date(), nextEvidenceId: () => `ev-${++n}` });

describe('the claim checker re-runs claims on the sources', { skip }, () => {
  test('metric claims on a real Prometheus: instant and range, verified and refuted, errors unverifiable', async () => {
    const checker = createClaimChecker({ metrics: prom!.client }, servicesClaimScope(services));
    const q = 'max(queue_depth{service="api"})';
    const [h] = await checker.check([hyp([
      { kind: 'metric', query: q, op: '>', value: 10 },
      { kind: 'metric', query: q, op: '<', value: 10 },
      { kind: 'metric', query: q, op: '>=', value: 40, window: { lookback: '5m' }, reduce: 'max' },
      { kind: 'metric', query: 'max(no_such_metric)', op: '>', value: 1 },
      { kind: 'metric', query: 'sum(rate(', op: '>', value: 1 },
    ])], ctx());
    assert.deepEqual(h!.checks.map((c) => c.status), ['verified', 'refuted', 'verified', 'unverifiable', 'unverifiable']);
    assert.match(h!.checks[2]!.observed, /max over 5m 40, claimed >= 40/);
    assert.match(h!.checks[4]!.observed, /the source failed/);
    assert.equal(h!.status, 'refuted', 'one refuted claim refutes the hypothesis');
    assert.equal(h!.confidence, 0);
    assert.equal(new Set(h!.checks.map((c) => c.evidence_id)).size, 5, 'each check has its own evidence id');
  });

  test('k8s and log claims: in scope they are checked; another namespace or no source is unverifiable', async () => {
    const checker = createClaimChecker({ k8s }, servicesClaimScope(services));
    const [h] = await checker.check([hyp([
      { kind: 'k8s', namespace: 'shop', object: { kind: 'Pod', name: 'api-1' }, field: 'status.containerStatuses.0.lastState.terminated.reason', expected: 'OOMKilled', event_reason: 'OOMKilling' },
      { kind: 'k8s', namespace: 'shop', object: { kind: 'Pod', name: 'api-1' }, field: 'status.phase', expected: 'Pending' },
      { kind: 'k8s', namespace: 'kube-system', object: { kind: 'Pod', name: 'coredns' }, event_reason: 'BackOff' },
      { kind: 'log', namespace: 'shop', deployment: 'api', pattern: 'OutOfMemoryError', min_count: 2 },
      { kind: 'log', namespace: 'shop', pod: 'api-1', pattern: '(a+)+$', min_count: 1 },
      { kind: 'metric', query: 'up', op: '>', value: 0 },
    ])], ctx());
    assert.deepEqual(h!.checks.map((c) => c.status), ['verified', 'refuted', 'unverifiable', 'verified', 'unverifiable', 'unverifiable']);
    assert.match(h!.checks[2]!.observed, /kube-system is outside the case's service scope \(shop\)/);
    assert.match(h!.checks[3]!.observed, /2 match\(es\)/);
    assert.match(h!.checks[5]!.observed, /no metrics source/);
  });

  test('deploy claims: the case\'s service only, within the window, revision by prefix', async () => {
    const checker = createClaimChecker({ deploys }, servicesClaimScope(services));
    const [h] = await checker.check([hyp([
      { kind: 'deploy', service: 'api', revision: 'abc1234', window: { lookback: '1h' } },
      { kind: 'deploy', service: 'api', window: { lookback: '5m' } },
      { kind: 'deploy', service: 'billing', window: { lookback: '1h' } },
    ])], ctx());
    assert.deepEqual(h!.checks.map((c) => c.status), ['verified', 'refuted', 'unverifiable']);
    assert.match(h!.checks[2]!.observed, /not the case's service/);
  });

  test('a hypothesis without any checkable claim is unsupported', async () => {
    const checker = createClaimChecker({}, servicesClaimScope(services));
    const [empty, unverifiable] = await checker.check([hyp([]), hyp([{ kind: 'deploy', service: 'api', window: { lookback: '1h' } }])], ctx());
    assert.equal(empty!.status, 'unsupported');
    assert.equal(unverifiable!.status, 'unsupported');
    assert.equal(unverifiable!.confidence, 0);
  });
});
