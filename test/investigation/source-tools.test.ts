import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { Octokit } from '@octokit/rest';
import { parseServices } from '../../adapters/config/services-loader.js';
import { createGithubDeployHistory } from '../../adapters/investigation/github-deploy-history.js';
import { investigationTools, repoForService } from '../../adapters/investigation/investigation-setup.js';
import { createToolbox } from '../../adapters/investigation/toolbox.js';
import { Librarian } from '../../adapters/knowledge/librarian.js';
import { SqlKnowledgeStore } from '../../adapters/store/sql/sql-knowledge-store.js';
import type { ToolContext } from '../../core/investigation/contracts.js';
import { startFakeGithub, type FakeGithub } from '../support/fake-github.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { prometheusSkipReason, startPrometheus, type PrometheusHarness } from '../support/prometheus.js';
import { runbookDir } from '../support/runbooks.js';
import { seedCheckoutHistory, testCase } from './fixtures.js';

const services = parseServices('services:\n  checkout: { namespace: shop, repo: acme/checkout }\n  billing: { namespace: billing }\n');
const ctxAt = (now: Date, over = {}): ToolContext => ({ case: testCase(over), now, signal: new AbortController().signal });

describe('Prometheus tools against a real Prometheus', () => {
  let prom: PrometheusHarness | null;
  before(async () => {
    prom = await startPrometheus();
    if (!prom) return;
    prom.target.set('http_error_ratio', { service: 'checkout' }, 0.12);
    prom.target.set('http_error_ratio', { service: 'search' }, 0.01);
    await prom.waitForValue('max(http_error_ratio{service="checkout"})', (v) => v === 0.12);
  });
  after(() => prom?.close());

  test('prom_query (instant) and prom_query_range with the range and step caps', async (t) => {
    if (!prom) return t.skip(prometheusSkipReason());
    const tb = createToolbox(investigationTools({ sources: { metrics: prom.client }, services }));
    const now = new Date();
    const instant = await tb.call('prom_query', { query: 'http_error_ratio' }, ctxAt(now));
    assert.equal(instant.ok, true, instant.error);
    assert.match(instant.output, /^2 series\n/);
    assert.match(instant.output, /service="checkout".* 0\.12/);
    const range = await tb.call('prom_query_range', { query: 'http_error_ratio{service="checkout"}', lookback: '24h', step_s: 1 }, ctxAt(now));
    assert.equal(range.ok, true, range.error);
    assert.match(range.output, /^note: range capped to 6h; step raised from 1s to 72s \(at most 300 points\)\n/);
    assert.match(range.output, /max 0\.12 .*last 0\.12/);
    const bad = await tb.call('prom_query', { query: 'sum(' }, ctxAt(now));
    assert.equal(bad.ok, false);
    assert.match(bad.error ?? '', /Prometheus api: .*parse error/i);
    const tooLong = await tb.call('prom_query', { query: 'x'.repeat(2001) }, ctxAt(now));
    assert.match(tooLong.error ?? '', /invalid input for prom_query: query/);
  });
});

describe('deploy and commit tools against the GitHub stand-in, through @octokit/rest', () => {
  const TOKEN = 'ghp_' + 'a'.repeat(36);
  let gh: FakeGithub;
  let octokit: Octokit;
  const now = new Date('2026-12-05T10:00:00Z');
  before(async () => {
    gh = await startFakeGithub({ token: TOKEN });
    seedCheckoutHistory(gh);
    octokit = new Octokit({ auth: TOKEN, baseUrl: gh.url });
  });
  after(() => gh?.close());

  test('deploys_recent / commits_recent read the service\'s repo within the lookback', async () => {
    const deploys = createGithubDeployHistory({ octokit, repoFor: (s) => repoForService(services, undefined, s) });
    const tb = createToolbox(investigationTools({ sources: { deploys }, services }));
    const n = gh.requests.length;
    const d = await tb.call('deploys_recent', { lookback: '2h' }, ctxAt(now));
    assert.equal(d.ok, true, d.error);
    assert.match(d.output, /^checkout, 2026-12-05T08:00:00.000Z → 2026-12-05T10:00:00.000Z\n2026-12-05T09:30:00Z a1b2c3d4e5f6 env=prod status=success ref v2\.4\.1$/);
    const c = await tb.call('commits_recent', { lookback: '2h' }, ctxAt(now));
    assert.match(c.output, /2026-12-05T09:10:00Z a1b2c3d4e5f6 dev1: Lower JVM heap to 256m$/);
    const paths = gh.requests.slice(n).map((r) => r.path);
    assert.deepEqual(paths.slice(0, 2), ['/repos/acme/checkout/deployments?per_page=30', `/repos/acme/checkout/deployments/500001/statuses?per_page=1`]);
    assert.match(paths[2] ?? '', /^\/repos\/acme\/checkout\/commits\?since=2026-12-05T08%3A00%3A00.000Z&until=2026-12-05T10%3A00%3A00.000Z&per_page=30$/);
    const long = await tb.call('deploys_recent', { lookback: '30d' }, ctxAt(now));
    assert.match(long.output, /^note: lookback capped to 7d\n/);
    assert.equal(long.output.split('\n').filter((l) => / env=prod /.test(l)).length, 2);
  });

  test('no repo for the service, or a repo outside OPSLOOP_GITHUB_REPOS → ok:false, no request', async () => {
    const n = gh.requests.length;
    const deploys = createGithubDeployHistory({ octokit, allowRepos: ['acme/other'], repoFor: (s) => repoForService(services, ['acme/other'], s) });
    const tb = createToolbox(investigationTools({ sources: { deploys }, services }));
    assert.match((await tb.call('deploys_recent', {}, ctxAt(now))).error ?? '', /acme\/checkout is not in OPSLOOP_GITHUB_REPOS/);
    assert.match((await tb.call('commits_recent', {}, ctxAt(now, { service: 'billing' }))).error ?? '', /no GitHub repository is configured for service "billing"/);
    assert.match((await tb.call('commits_recent', {}, ctxAt(now, { service: null }))).error ?? '', /the case names no service/);
    assert.equal(gh.requests.length, n);
    assert.equal(repoForService(services, ['acme/billing'], 'billing'), 'acme/billing', 'falls back to the allowed repo named like the service');
  });
});

describe('knowledge tools and case evidence over the Librarian', () => {
  let store: Awaited<ReturnType<typeof createTestPgliteStore>>;
  let dir: string;
  let librarian: Librarian;
  before(async () => {
    [store, dir] = await Promise.all([createTestPgliteStore(), runbookDir()]);
    const kb = new SqlKnowledgeStore(store);
    const past = '99999999-2222-4333-8444-555555555555';
    await kb.putDoc(
      { id: `case:${past}`, kind: 'case', source: `/case/${past}`, title: 'checkout pods OOMKilled after heap change', services: ['checkout'], tags: ['closed'], actions: [], content_hash: 'x', updated_at: new Date() },
      [{ id: `case:${past}#0`, doc_id: `case:${past}`, ord: 0, heading: 'Summary', body: 'checkout pods were OOMKilled after the JVM heap was lowered; rolled back.' }],
    );
    librarian = new Librarian({ kb, runbookDir: dir, scanIntervalMs: 60_000, watchFiles: false });
    await librarian.start();
  });
  after(async () => {
    await librarian?.stop();
    if (store) await cleanupTestPgliteStore(store);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('runbook_search returns runbooks only; similar_cases returns past cases only', async () => {
    const tb = createToolbox(investigationTools({ sources: {}, services, knowledge: librarian }));
    const rb = await tb.call('runbook_search', { query: 'container OOMKilled memory limit' }, ctxAt(new Date()));
    assert.equal(rb.ok, true, rb.error);
    assert.match(rb.output, /^\[runbook:oom-killed\.md\]/);
    assert.doesNotMatch(rb.output, /\[case:/);
    const sc = await tb.call('similar_cases', { query: 'checkout OOMKilled heap' }, ctxAt(new Date()));
    assert.match(sc.output, /^\[case:99999999-2222-4333-8444-555555555555\] Summary/);
    assert.doesNotMatch(sc.output, /\[runbook:/);
  });

  test('case_evidence: the case and its evidence rows', async () => {
    const rows = [{ id: 'e1', case_id: 'c', kind: 'alert' as const, title: 'CheckoutErrors firing', url: 'http://prom/graph', locator: 'rate(x[5m]) > 0.05', labels: { severity: 'page' }, observed_at: new Date('2026-12-05T09:49:00Z'), source_payload_id: null, dedupe_key: 'k', created_at: new Date() }];
    const tb = createToolbox(investigationTools({ sources: {}, services, evidence: { listEvidence: async () => rows } }));
    const rec = await tb.call('case_evidence', {}, ctxAt(new Date()));
    assert.equal(rec.ok, true);
    assert.match(rec.output, /case 11111111-.*: checkout error ratio above 5%\nservice=checkout env=prod severity=2/);
    assert.match(rec.output, /- alert "CheckoutErrors firing" observed 2026-12-05T09:49:00.000Z locator: rate\(x\[5m\]\) > 0.05 url: http:\/\/prom\/graph \{severity="page"\}/);
  });
});
