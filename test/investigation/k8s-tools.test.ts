import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseServices } from '../../adapters/config/services-loader.js';
import { createK8sReader } from '../../adapters/investigation/k8s-reader.js';
import { investigationTools } from '../../adapters/investigation/investigation-setup.js';
import { createToolbox, type InvestigationToolbox } from '../../adapters/investigation/toolbox.js';
import { kubeTargetFromKubeconfig } from '../../adapters/executors/k8s-client.js';
import type { ToolContext } from '../../core/investigation/contracts.js';
import { kubeconfigText, startFakeK8s, type FakeK8s } from '../support/fake-k8s.js';
import { INJECTION_LINE, seedCheckoutCluster, testCase } from './fixtures.js';

const TOKEN = 'k8s-test-token-0123456789';
const services = parseServices(`
services:
  checkout: { namespace: shop, namespaces: [shop-db], deployment: checkout }
  billing: { deployment: billing }
`);

describe('Kubernetes tools against the API stand-in, through the real client', () => {
  let fake: FakeK8s;
  let tb: InvestigationToolbox;
  const ctx = (over = {}): ToolContext => ({ case: testCase(over), now: new Date('2026-12-05T10:00:00Z'), signal: new AbortController().signal });
  const pathsSince = (n: number) => fake.requests.slice(n).map((r) => r.path);

  before(async () => {
    fake = await startFakeK8s({ token: TOKEN });
    seedCheckoutCluster(fake);
    const k8s = createK8sReader(kubeTargetFromKubeconfig(kubeconfigText(fake.url, TOKEN), '/', 'test kubeconfig'));
    tb = createToolbox(investigationTools({ sources: { k8s }, services }));
  });
  after(() => fake?.close());

  test('only the Kubernetes tools (and case_evidence) are offered without other sources', () => {
    assert.deepEqual(tb.tools.map((t) => t.name), ['case_evidence', 'k8s_get', 'k8s_describe', 'k8s_events', 'k8s_pod_logs']);
  });

  test('k8s_get reads objects by the real API paths (v1, apps/v1, autoscaling/v2) and lists with a selector', async () => {
    const n = fake.requests.length;
    const dep = await tb.call('k8s_get', { namespace: 'shop', kind: 'Deployment', name: 'checkout' }, ctx());
    assert.equal(dep.ok, true, dep.error);
    assert.match(dep.output, /"image": "registry.example\/checkout:2.4.1"/);
    const cm = await tb.call('k8s_get', { namespace: 'shop', kind: 'configmap', name: 'checkout-config' }, ctx());
    assert.match(cm.output, /"JVM_OPTS": "-Xmx256m"/);
    const hpa = await tb.call('k8s_get', { namespace: 'shop', kind: 'hpa', name: 'checkout' }, ctx());
    assert.match(hpa.output, /"maxReplicas": 2/);
    const pods = await tb.call('k8s_get', { namespace: 'shop', kind: 'Pod', label_selector: 'app=checkout', limit: 100 }, ctx());
    assert.match(pods.output, /^note: limit capped to 30/);
    assert.match(pods.output, /Pod\/checkout-7d9f-abcde phase=Running \[app ready=false restarts=4 waiting=CrashLoopBackOff lastTerminated=OOMKilled\]/);
    const missing = await tb.call('k8s_get', { namespace: 'shop', kind: 'Service', name: 'nope' }, ctx());
    assert.deepEqual([missing.ok, missing.output], [true, 'Service shop/nope not found']);
    assert.deepEqual(pathsSince(n), [
      '/apis/apps/v1/namespaces/shop/deployments/checkout',
      '/api/v1/namespaces/shop/configmaps/checkout-config',
      '/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers/checkout',
      '/api/v1/namespaces/shop/pods?labelSelector=app%3Dcheckout&limit=30',
      '/api/v1/namespaces/shop/services/nope',
    ]);
    assert.ok(fake.requests.every((r) => r.authorization === `Bearer ${TOKEN}` && r.method === 'GET'));
    const secret = await tb.call('k8s_get', { namespace: 'shop', kind: 'Secret', name: 'db' }, ctx());
    assert.equal(secret.ok, false, 'Secrets are not a readable kind');
  });

  test('k8s_describe and k8s_events read events with the involvedObject field selector', async () => {
    const n = fake.requests.length;
    const d = await tb.call('k8s_describe', { namespace: 'shop', kind: 'Pod', name: 'checkout-7d9f-abcde' }, ctx());
    assert.equal(d.ok, true, d.error);
    assert.match(d.output, /Warning OOMKilling Pod\/checkout-7d9f-abcde x4: Memory cgroup out of memory/);
    assert.match(d.output, /BackOff/);
    assert.doesNotMatch(d.output, /ScalingReplicaSet/);
    const e = await tb.call('k8s_events', { namespace: 'shop' }, ctx());
    assert.match(e.output, /ScalingReplicaSet[\s\S]*OOMKilling[\s\S]*BackOff/, 'oldest first, newest last');
    assert.deepEqual(pathsSince(n), [
      '/api/v1/namespaces/shop/pods/checkout-7d9f-abcde',
      `/api/v1/namespaces/shop/events?fieldSelector=${encodeURIComponent('involvedObject.name=checkout-7d9f-abcde,involvedObject.kind=Pod')}`,
      '/api/v1/namespaces/shop/events',
    ]);
  });

  test('k8s_pod_logs: tailLines capped to 200 in the request itself; a deployment\'s pods by its selector', async () => {
    const n = fake.requests.length;
    const one = await tb.call('k8s_pod_logs', { namespace: 'shop', pod: 'checkout-7d9f-abcde', tail_lines: 5000 }, ctx());
    assert.equal(one.ok, true, one.error);
    assert.match(one.output, /^note: tail_lines capped to 200\n--- pod checkout-7d9f-abcde: last 200 lines ---/);
    assert.equal(fake.requests[n]?.path, '/api/v1/namespaces/shop/pods/checkout-7d9f-abcde/log?tailLines=200');
    assert.ok(one.truncated, 'a 200-line log is cut to the output cap');
    const dep = await tb.call('k8s_pod_logs', { namespace: 'shop', deployment: 'checkout', tail_lines: 3, container: 'app' }, ctx());
    assert.match(dep.output, /--- pod checkout-7d9f-abcde: last 3 lines ---[\s\S]*--- pod checkout-7d9f-fghij: last 2 lines ---\nINFO started\nWARN pool exhausted/);
    assert.ok(fake.requests.some((r) => r.path === '/api/v1/namespaces/shop/pods?labelSelector=app%3Dcheckout&limit=20'));
    assert.ok(fake.requests.some((r) => r.path === '/api/v1/namespaces/shop/pods/checkout-7d9f-fghij/log?tailLines=3&container=app'));
  });

  test('prompt injection in a log line comes back only as tool output text', async () => {
    const rec = await tb.call('k8s_pod_logs', { namespace: 'shop', pod: 'checkout-7d9f-abcde', tail_lines: 3 }, ctx());
    assert.equal(rec.ok, true);
    assert.ok(rec.output.includes(INJECTION_LINE), 'the line is data, passed through verbatim');
    assert.deepEqual(Object.keys(rec).sort(), ['duration_ms', 'evidence_id', 'input', 'ok', 'output', 'source', 'tool', 'truncated']);
    assert.deepEqual(rec.input, { namespace: 'shop', pod: 'checkout-7d9f-abcde', tail_lines: 3 });
    assert.ok(!fake.requests.some((r) => r.method !== 'GET' || r.path.includes('delete')), 'nothing but reads reached the API');
  });

  test('a namespace outside the service\'s scope is refused and never reaches the API', async () => {
    const n = fake.requests.length;
    const attempts: Array<[string, Record<string, unknown>]> = [
      ['k8s_get', { namespace: 'other', kind: 'Pod', name: 'intruder' }],
      ['k8s_get', { namespace: 'kube-system', kind: 'Pod' }],
      ['k8s_describe', { namespace: 'other', kind: 'Pod', name: 'intruder' }],
      ['k8s_events', { namespace: 'other' }],
      ['k8s_pod_logs', { namespace: 'other', pod: 'intruder', tail_lines: 10 }],
    ];
    for (const [tool, input] of attempts) {
      const rec = await tb.call(tool, input, ctx());
      assert.equal(rec.ok, false, tool);
      assert.match(rec.error ?? '', /namespace "(other|kube-system)" is out of scope for this investigation \(allowed: shop, shop-db\)/);
    }
    // A service without a namespace, and a case without a service, may read none.
    for (const over of [{ service: 'billing' }, { service: null }]) {
      const rec = await tb.call('k8s_events', { namespace: 'shop' }, ctx(over));
      assert.match(rec.error ?? '', /no namespace is configured/);
    }
    assert.deepEqual(pathsSince(n), [], 'the fake API server received no request');
    const allowed = await tb.call('k8s_events', { namespace: 'shop-db' }, ctx());
    assert.equal(allowed.ok, true, 'the extra namespace of the service is allowed');
    assert.deepEqual(pathsSince(n), ['/api/v1/namespaces/shop-db/events']);
  });

  test('an API failure is an ok:false record with the server\'s message (bad credentials)', async () => {
    const k8s = createK8sReader(kubeTargetFromKubeconfig(kubeconfigText(fake.url, 'wrong-token-000'), '/', 'test kubeconfig'));
    const bad = createToolbox(investigationTools({ sources: { k8s }, services }));
    const rec = await bad.call('k8s_events', { namespace: 'shop' }, ctx());
    assert.equal(rec.ok, false);
    assert.match(rec.error ?? '', /answered 401: Unauthorized/);
  });
});
