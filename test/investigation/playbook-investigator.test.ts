import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Octokit } from '@octokit/rest';
import { z } from 'zod';
import { loadServices, parseServices } from '../../adapters/config/services-loader.js';
import { kubeTargetFromKubeconfig } from '../../adapters/executors/k8s-client.js';
import { createGithubDeployHistory } from '../../adapters/investigation/github-deploy-history.js';
import { investigationTools, repoForService } from '../../adapters/investigation/investigation-setup.js';
import { createK8sReader } from '../../adapters/investigation/k8s-reader.js';
import { PlaybookInvestigator } from '../../adapters/investigation/playbook-investigator.js';
import { createToolbox } from '../../adapters/investigation/toolbox.js';
import { DEFAULT_INVESTIGATION_BUDGET, type InvestigationTool, type ToolCallRecord } from '../../core/investigation/contracts.js';
import { fillHypotheses, playbookCalls } from '../../core/investigation/playbook-steps.js';
import type { InvestigationSources } from '../../core/ports/investigation-sources.js';
import { InvestigationAnswerSchema } from '../../core/schemas/investigation.js';
import { serviceDefaultsFor } from '../../core/schemas/services.js';
import { startFakeGithub, type FakeGithub } from '../support/fake-github.js';
import { kubeconfigText, startFakeK8s, type FakeK8s } from '../support/fake-k8s.js';
import { prometheusSkipReason, startPrometheus, type PrometheusHarness } from '../support/prometheus.js';
import { INJECTION_LINE, seedCheckoutCluster, seedCheckoutHistory, testCase } from './fixtures.js';

const SERVICES = parseServices(`
services:
  checkout:
    namespace: shop
    deployment: checkout
    env: prod
    repo: acme/checkout
    investigate:
      queries:
        - { name: error-ratio, query: 'max(http_error_ratio{service="$service"})' }
        - { name: error-ratio-1h, type: range, lookback: 1h, query: 'max(http_error_ratio{service="$service"})' }
      k8s:
        describe: [{ kind: Deployment, name: $deployment }]
        get: [{ kind: ConfigMap, name: $deployment-config }]
        events: true
        pod_logs: { tail: 20 }
      deploy_lookback: 2h
      knowledge: false
      hypotheses:
        - statement: A deploy of $service in the last two hours raised its error ratio
          category: deploy
          component: $deployment
          claims:
            - { kind: deploy, service: $service, window: { lookback: 2h } }
            - { kind: metric, query: 'max(http_error_ratio{service="$service"})', window: { lookback: 30m }, reduce: max, op: ">", value: 0.05 }
        - statement: $deployment containers are OOM-killed
          category: resource_exhaustion
          component: $deployment
          claims:
            - { kind: k8s, namespace: $namespace, object: { kind: Deployment, name: $deployment }, event_reason: OOMKilling }
            - { kind: log, namespace: $namespace, deployment: $deployment, pattern: "OOMKilled|out of memory", min_count: 1 }
`);
const K8S_TOKEN = 'k8s-test-token-0123456789';
const GH_TOKEN = 'ghp_' + 'b'.repeat(36);

describe('playbook investigation end to end (real Prometheus, Kubernetes and GitHub stand-ins)', () => {
  let prom: PrometheusHarness | null;
  let k8s: FakeK8s;
  let gh: FakeGithub;
  let sources: InvestigationSources;
  let now = new Date();

  before(async () => {
    [prom, k8s, gh] = await Promise.all([startPrometheus(), startFakeK8s({ token: K8S_TOKEN }), startFakeGithub({ token: GH_TOKEN })]);
    seedCheckoutCluster(k8s);
    seedCheckoutHistory(gh, new Date(now.getTime() + 60_000));
    sources = {
      k8s: createK8sReader(kubeTargetFromKubeconfig(kubeconfigText(k8s.url, K8S_TOKEN), '/', 'test')),
      deploys: createGithubDeployHistory({ octokit: new Octokit({ auth: GH_TOKEN, baseUrl: gh.url }), repoFor: (s) => repoForService(SERVICES, undefined, s) }),
    };
    if (prom) {
      sources.metrics = prom.client;
      prom.target.set('http_error_ratio', { service: 'checkout' }, 0.12);
      await prom.waitForValue('max(http_error_ratio{service="checkout"})', (v) => v === 0.12);
      now = new Date();
    }
  });
  after(async () => {
    await Promise.all([prom?.close(), k8s?.close(), gh?.close()]);
  });

  test('every playbook call is a ToolCallRecord with ev ids, reported through onToolCall; the answer is the filled hypotheses', async (t) => {
    if (!prom) return t.skip(prometheusSkipReason());
    const toolbox = createToolbox(investigationTools({ sources, services: SERVICES }));
    const seen: ToolCallRecord[] = [];
    const run = await new PlaybookInvestigator({ services: SERVICES }).investigate({
      case: testCase({ created_at: now }), toolbox, budget: DEFAULT_INVESTIGATION_BUDGET, now, onToolCall: async (c) => { seen.push(c); },
    });
    assert.equal(run.mode, 'playbook');
    assert.equal(run.stopped, 'done');
    assert.deepEqual(run.calls, seen, 'each call was handed to onToolCall, in order');
    assert.deepEqual(run.calls.map((c) => [c.evidence_id, c.tool, c.ok]), [
      ['ev-1', 'case_evidence', true], ['ev-2', 'prom_query', true], ['ev-3', 'prom_query_range', true],
      ['ev-4', 'k8s_describe', true], ['ev-5', 'k8s_get', true], ['ev-6', 'k8s_events', true], ['ev-7', 'k8s_pod_logs', true],
      ['ev-8', 'deploys_recent', true], ['ev-9', 'commits_recent', true],
    ]);
    assert.match(run.calls[1]!.output, /^1 series\n\{\} 0\.12$/);
    assert.deepEqual(run.calls[4]!.input, { namespace: 'shop', kind: 'ConfigMap', name: 'checkout-config' });
    assert.match(run.calls[4]!.output, /-Xmx256m/);
    assert.match(run.calls[7]!.output, /a1b2c3d4e5f6 env=prod status=success/);
    assert.ok(run.calls[6]!.output.includes(INJECTION_LINE), 'the log line comes back as tool output text');
    assert.deepEqual(run.tokens, { prompt: 0, completion: 0 });

    assert.ok(run.answer && InvestigationAnswerSchema.safeParse(run.answer).success);
    assert.deepEqual(run.answer.hypotheses.map((h) => [h.statement, h.component]), [
      ['A deploy of checkout in the last two hours raised its error ratio', 'checkout'],
      ['checkout containers are OOM-killed', 'checkout'],
    ]);
    assert.deepEqual(run.answer.hypotheses[1]!.claims[0], { kind: 'k8s', namespace: 'shop', object: { kind: 'Deployment', name: 'checkout' }, event_reason: 'OOMKilling' });
    assert.match(run.answer.summary, /^Playbook investigation of checkout: 9 tool calls — the alert and evidence of the case \(ev-1\); query error-ratio \(ev-2\)/);
    assert.match(run.answer.summary, /2 candidate hypotheses from the playbook, to be re-checked/);
    // The injection changed nothing: same hypotheses as configured, no other tool called, no writes.
    assert.doesNotMatch(JSON.stringify(run.answer), /ignore previous|approve|delete_pod/);
    assert.ok(!k8s.requests.some((r) => r.method !== 'GET'));
  });

  test('the tool-call budget stops the playbook and says what was not looked at', async () => {
    const toolbox = createToolbox(investigationTools({ sources, services: SERVICES }));
    let reported = 0;
    const run = await new PlaybookInvestigator({ services: SERVICES }).investigate({
      case: testCase(), toolbox, budget: { ...DEFAULT_INVESTIGATION_BUDGET, maxToolCalls: 3 }, now, onToolCall: async () => { reported += 1; },
    });
    assert.equal(run.stopped, 'budget_tool_calls');
    assert.equal(run.calls.length, 3);
    assert.equal(reported, 3);
    assert.deepEqual(run.calls.map((c) => c.evidence_id), ['ev-1', 'ev-2', 'ev-3']);
    assert.match(run.answer?.summary ?? '', /Stopped by the tool-call budget; not looked at: Deployment shop\/checkout; ConfigMap shop\/checkout-config; events in shop; logs of checkout's pods; deploys in the last 2h; commits in the last 2h\./);
    assert.equal(run.answer?.hypotheses.length, 2, 'the candidates are still handed to the claim checker');
  });

  test('the wall-time budget aborts a slow call and stops', async () => {
    const slow: InvestigationTool<Record<string, never>> = { name: 'case_evidence', description: 'slow', source: 'case', input: z.object({}).strict(), run: () => new Promise(() => {}) };
    const toolbox = createToolbox([slow, ...investigationTools({ sources: { k8s: sources.k8s! }, services: SERVICES }).slice(1)] as InvestigationTool<unknown>[], { callTimeoutMs: 30_000 });
    const t0 = Date.now();
    const run = await new PlaybookInvestigator({ services: SERVICES }).investigate({ case: testCase(), toolbox, budget: { ...DEFAULT_INVESTIGATION_BUDGET, maxWallMs: 300 }, now });
    assert.ok(Date.now() - t0 < 5_000);
    assert.equal(run.stopped, 'budget_time');
    assert.equal(run.calls.length, 1);
    assert.match(run.calls[0]!.error ?? '', /ran out of time/);
  });

  test('sources that are not configured are skipped and named; no tools at all → no_tools', async () => {
    const toolbox = createToolbox(investigationTools({ sources: { k8s: sources.k8s! }, services: SERVICES }));
    const run = await new PlaybookInvestigator({ services: SERVICES }).investigate({ case: testCase(), toolbox, budget: DEFAULT_INVESTIGATION_BUDGET, now });
    assert.deepEqual(run.calls.map((c) => c.tool), ['case_evidence', 'k8s_describe', 'k8s_get', 'k8s_events', 'k8s_pod_logs']);
    assert.match(run.answer?.summary ?? '', /Skipped: no source configured for prom_query, prom_query_range, deploys_recent, commits_recent\./);
    const none = await new PlaybookInvestigator({ services: SERVICES }).investigate({ case: testCase(), toolbox: createToolbox([]), budget: DEFAULT_INVESTIGATION_BUDGET, now });
    assert.equal(none.stopped, 'no_tools');
    assert.equal(none.calls.length, 0);
  });
});

describe('playbooks (pure)', () => {
  test('the shipped config/services.yml playbooks for checkout and demo plan every call and fill every hypothesis', async () => {
    const file = await loadServices('config/services.yml');
    for (const service of ['checkout', 'demo']) {
      const d = serviceDefaultsFor(file, service);
      assert.ok(d.investigate, service);
      const vars = { service, env: d.env ?? null, namespace: d.namespace ?? null, deployment: d.deployment ?? null };
      const { calls, skipped } = playbookCalls(d.investigate, vars, 'error ratio above 5%');
      assert.deepEqual(skipped, [], service);
      assert.ok(calls.length <= DEFAULT_INVESTIGATION_BUDGET.maxToolCalls, `${service}: ${calls.length} calls fit the default budget`);
      assert.ok(calls.every((c) => !JSON.stringify(c.input).includes('$')), `${service}: no placeholder left`);
      const filled = fillHypotheses(d.investigate.hypotheses, vars);
      assert.deepEqual(filled.dropped, []);
      assert.ok(filled.hypotheses.length >= 2 && !JSON.stringify(filled.hypotheses).includes('$'));
    }
  });

  test('a case without a deployment: object calls and hypotheses needing it are skipped/dropped, never sent half-filled', () => {
    const pb = serviceDefaultsFor(SERVICES, 'checkout').investigate!;
    const vars = { service: 'checkout', env: 'prod', namespace: 'shop', deployment: null };
    const { calls, skipped } = playbookCalls(pb, vars, 'x');
    assert.ok(!calls.some((c) => c.tool === 'k8s_describe' || c.tool === 'k8s_get' || c.tool === 'k8s_pod_logs'));
    assert.equal(skipped.length, 3);
    assert.deepEqual(fillHypotheses(pb.hypotheses, vars).dropped, pb.hypotheses.map((h) => h.statement));
    const unsafe = playbookCalls(pb, { ...vars, service: 'x"} or vector(1) #' }, 'x');
    assert.ok(unsafe.skipped.some((s) => /query error-ratio: refusing to put/.test(s)), 'an unsafe value never reaches a query');
  });
});
