import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startFakeGithub, type FakeGithub } from '../support/fake-github.js';
import { kubeconfigText, startFakeK8s, type FakeK8s } from '../support/fake-k8s.js';
import { prometheusSkipReason, startPrometheus, type PrometheusHarness } from '../support/prometheus.js';
import { seedCheckoutCluster, seedCheckoutHistory } from '../investigation/fixtures.js';
import { describeTimeline, openAndStart, startE2e, waitForStatus, type E2e } from './e2e-harness.js';

/*
 * OPSLOOP_INVESTIGATION=on without an LLM: the agents extension builds the investigation kit from
 * the configuration (real Prometheus, Kubernetes and GitHub stand-ins through the real clients),
 * the playbook runs in the analyze step, every tool call is a timeline note with its evidence id,
 * and the claim checker verifies the playbook's hypothesis against the same sources.
 */

const POLICY = 'version: 1\ndefault_decision: needs_human\napprovers:\n  default:\n    users: [oncall@example.com]\n';
const SERVICES = `
version: 1
services:
  checkout:
    namespace: shop
    deployment: checkout
    env: prod
    repo: acme/checkout
    investigate:
      queries: [{ name: error-ratio, query: 'max(http_error_ratio{service="$service"})' }]
      k8s: { describe: [{ kind: Deployment, name: $deployment }], events: true, pod_logs: { tail: 20 } }
      deploy_lookback: 2h
      knowledge: false
      hypotheses:
        - statement: A deploy of $service in the last two hours raised its error ratio
          category: deploy
          component: $deployment
          claims:
            - { kind: deploy, service: $service, window: { lookback: 2h } }
            - { kind: metric, query: 'max(http_error_ratio{service="$service"})', op: ">", value: 0.05 }
        - statement: $service is fine
          category: none
          component: $service
          claims:
            - { kind: metric, query: 'max(http_error_ratio{service="$service"})', op: "<", value: 0.01 }
`;
const skip = process.env.OPSLOOP_SKIP_E2E ? 'OPSLOOP_SKIP_E2E is set' : false;

describe('the playbook investigation in the analyze step (OPSLOOP_INVESTIGATION=on)', { skip }, () => {
  let prom: PrometheusHarness | null = null;
  let k8s: FakeK8s;
  let gh: FakeGithub;
  let e2e: E2e | undefined;
  let dir: string;
  before(async () => {
    prom = await startPrometheus();
    if (!prom) return;
    [k8s, gh, dir] = await Promise.all([startFakeK8s({ token: 'kube-token-0123' }), startFakeGithub({ token: 'gh-token-0123' }), mkdtemp(join(tmpdir(), 'opsloop-inv-e2e-'))]);
    seedCheckoutCluster(k8s);
    seedCheckoutHistory(gh, new Date());
    await writeFile(join(dir, 'kubeconfig'), kubeconfigText(k8s.url, 'kube-token-0123'));
    prom.target.set('http_error_ratio', { service: 'checkout' }, 0.12);
    await prom.waitForValue('max(http_error_ratio{service="checkout"})', (v) => v === 0.12);
    e2e = await startE2e({
      policy: POLICY, services: SERVICES,
      env: {
        OPSLOOP_INVESTIGATION: 'on', PROMETHEUS_URL: prom.url, KUBECONFIG: join(dir, 'kubeconfig'),
        GITHUB_TOKEN: 'gh-token-0123', GITHUB_API_URL: gh.url, OPSLOOP_MCP_FILE: join(dir, 'none.yml'),
      },
    });
  });
  after(async () => {
    await e2e?.close();
    await Promise.all([prom?.close(), k8s?.close(), gh?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('tool calls are timeline evidence; the deploy hypothesis is verified, the other refuted', async (t) => {
    if (!prom || !e2e) return t.skip(prometheusSkipReason());
    const caseId = await openAndStart(e2e.url, { title: 'checkout error ratio above 5%', tenant: 't-001', service: 'checkout', env: 'prod' });
    const { timeline } = await waitForStatus(e2e.url, caseId, 'WAIT_GATE', 90_000);
    const context = describeTimeline(timeline);
    const tools = timeline.filter((e) => e.event === 'investigation_tool').map((e) => [e.meta.evidence_id, e.meta.tool, e.meta.ok]);
    assert.deepEqual(tools, [
      ['ev-1', 'case_evidence', true], ['ev-2', 'prom_query', true], ['ev-3', 'k8s_describe', true], ['ev-4', 'k8s_events', true],
      ['ev-5', 'k8s_pod_logs', true], ['ev-6', 'deploys_recent', true], ['ev-7', 'commits_recent', true],
    ], context);
    const findings = timeline.find((e) => e.event === 'investigation_findings')?.meta as Record<string, any> | undefined;
    assert.ok(findings, context);
    assert.equal(findings.mode, 'playbook');
    assert.equal(findings.insufficient_evidence, false, context);
    assert.deepEqual(findings.findings.map((h: any) => [h.statement, h.status]), [['A deploy of checkout in the last two hours raised its error ratio', 'verified']]);
    assert.deepEqual(findings.refuted.map((h: any) => h.statement), ['checkout is fine']);
    assert.ok(findings.findings[0].checks.every((c: any) => /^ev-(8|9|1\d)$/.test(c.evidence_id)), 'claim checks continue the numbering');
    assert.ok(!k8s.requests.some((r) => r.method !== 'GET'), 'nothing but reads');
  });
});
