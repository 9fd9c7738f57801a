import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../adapters/config/env.js';
import { parseServices } from '../../adapters/config/services-loader.js';
import { createInvestigationKit } from '../../adapters/investigation/investigation-kit.js';
import { DEFAULT_INVESTIGATION_BUDGET } from '../../core/investigation/contracts.js';
import { startFakeGithub } from '../support/fake-github.js';
import { kubeconfigText, startFakeK8s } from '../support/fake-k8s.js';
import { startMcpHttpServer } from '../support/mcp-test-server.js';
import { seedCheckoutCluster, seedCheckoutHistory, testCase } from './fixtures.js';

test('the kit from configuration: sources, budget env vars, MCP tools after start, one toolbox per case', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'opsloop-kit-'));
  const [k8s, gh, mcp] = await Promise.all([startFakeK8s({ token: 'kube-token-0123' }), startFakeGithub({ token: 'gh-token-0123' }), startMcpHttpServer()]);
  try {
    seedCheckoutCluster(k8s);
    seedCheckoutHistory(gh);
    await writeFile(join(dir, 'kubeconfig'), kubeconfigText(k8s.url, 'kube-token-0123'));
    await writeFile(join(dir, 'mcp.yml'), `servers:\n  remote:\n    transport: http\n    url: ${mcp.url}\n    read_only_tools: [get_pod_status]\n`);
    const env = {
      PROMETHEUS_URL: 'http://127.0.0.1:9/', KUBECONFIG: join(dir, 'kubeconfig'), GITHUB_TOKEN: 'gh-token-0123', GITHUB_API_URL: gh.url,
      OPSLOOP_INVESTIGATION_MAX_TOOL_CALLS: '4', OPSLOOP_MCP_FILE: join(dir, 'mcp.yml'),
    };
    const config = loadConfig(env);
    assert.deepEqual([config.investigationMaxTokens, config.investigationMaxWallMs], [DEFAULT_INVESTIGATION_BUDGET.maxTokens, DEFAULT_INVESTIGATION_BUDGET.maxWallMs]);
    const kit = createInvestigationKit({ config, services: parseServices('services:\n  checkout: { namespace: shop, deployment: checkout, repo: acme/checkout }\n'), env });
    assert.deepEqual(kit.budget, { ...DEFAULT_INVESTIGATION_BUDGET, maxToolCalls: 4 });
    await kit.start();
    assert.deepEqual(kit.warnings, []);
    const tb = kit.toolboxFor(testCase());
    assert.deepEqual(tb.tools.map((t) => t.name), [
      'case_evidence', 'prom_query', 'prom_query_range', 'k8s_get', 'k8s_describe', 'k8s_events', 'k8s_pod_logs', 'deploys_recent', 'commits_recent', 'mcp_remote_get_pod_status',
    ]);
    const now = new Date('2026-12-05T10:00:00Z');
    const ctx = { case: testCase(), now, signal: new AbortController().signal };
    assert.equal((await tb.call('deploys_recent', { lookback: '2h' }, ctx)).ok, true);
    assert.equal((await tb.call('mcp_remote_get_pod_status', { pod: 'p' }, ctx)).ok, true);
    assert.equal(kit.toolboxFor(testCase()).nextEvidenceId(), 'ev-1', 'each case gets its own numbering');
    const run = await kit.playbook.investigate({ case: testCase(), toolbox: kit.toolboxFor(testCase()), budget: kit.budget, now });
    assert.equal(run.stopped, 'budget_tool_calls');
    assert.deepEqual(run.calls.map((c) => c.tool), ['case_evidence', 'k8s_describe', 'k8s_events', 'deploys_recent'], 'the built-in playbook');
    await kit.stop();
  } finally {
    await Promise.all([k8s.close(), gh.close(), mcp.close()]);
    await rm(dir, { recursive: true, force: true });
  }
});
