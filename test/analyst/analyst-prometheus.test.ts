import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findingsForCase, runAnalystPass, type AnalystDeps, type SignalOutcome } from '../../adapters/agents/analyst.js';
import { parseServices } from '../../adapters/config/services-loader.js';
import type { SqlCaseStore } from '../../adapters/store/sql/sql-case-store.js';
import { SqlEvidenceStore } from '../../adapters/store/sql/sql-evidence-store.js';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';
import { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import type { CaseRecord } from '../../core/schemas/case.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { cleanupTestPostgresStore, createTestPostgresStore } from '../support/postgres.js';
import { prometheusSkipReason, startPrometheus, type PrometheusHarness } from '../support/prometheus.js';

/*
 * The Analyst on a REAL Prometheus (Debian `prometheus`), scraping every second a target whose
 * value the test sets: noise around 100 (σ ≈ 1), then a 12σ step. Signals use a 1 s step and a
 * 20 s baseline so the whole file runs in well under a minute. "Two processes" are two
 * Orchestrators over two connections: on the PostgreSQL server when TEST_DATABASE_URL is set
 * (two pools), else two Orchestrators over one PGlite store.
 */

const CONSECUTIVE = 3;
const SERVICES = parseServices(`
services:
  demo:
    env: staging
    signals:
      - name: latency
        query: max(opsloop_demo_latency{service="$service"})
        direction: up
        step: 1s
        baseline: 20s
        lookback_points: 10
        detectors:
          - { kind: robust_z, threshold: 4, consecutive: ${CONSECUTIVE}, min_points: 10 }
`);

const skip = process.env.PROMETHEUS_BIN === '' ? 'PROMETHEUS_BIN is empty' : false;

describe('Analyst on real Prometheus', { skip, timeout: 120_000 }, () => {
  let prom: PrometheusHarness | null = null;
  let stores: SqlCaseStore[] = [];
  let cleanup: () => Promise<void> = async () => {};
  let level = 100;
  let noise: NodeJS.Timeout | null = null;
  let deps: AnalystDeps[] = [];

  before(async () => {
    prom = await startPrometheus({ intervalSeconds: 1 });
    if (!prom) return;
    const target = prom.target;
    let seed = 42;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const gauss = () => Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand());
    const setValue = () => target.set('opsloop_demo_latency', { service: 'demo' }, level + gauss());
    setValue();
    noise = setInterval(setValue, 200);

    const pgA = await createTestPostgresStore({ max: 5 });
    if (pgA) {
      const url = pgA.pool.options.connectionString!;
      const { createPostgresCaseStore } = await import('../../adapters/store/postgres/postgres-case-store.js');
      const pgB = createPostgresCaseStore({ url, max: 5 });
      await pgB.connect();
      stores = [pgA, pgB];
      cleanup = async () => { await pgB.close(); await cleanupTestPostgresStore(pgA); };
    } else {
      const store = await createTestPgliteStore();
      stores = [store, store];
      cleanup = () => cleanupTestPgliteStore(store);
    }
    deps = stores.map((store) => ({
      services: SERVICES,
      prometheus: prom!.client,
      orchestrator: new Orchestrator({ store, clock: systemClock, ids: uuidGen }),
      store,
      clock: systemClock,
      evidence: new SqlEvidenceStore(store),
      prometheusUrl: prom!.url,
    }));
  });

  after(async () => {
    if (noise) clearInterval(noise);
    await cleanup();
    await prom?.close();
  });

  const analystCases = async (): Promise<CaseRecord[]> =>
    (await stores[0]!.queries.listCases({ limit: 500 })).filter((c) => c.labels.source === 'analyst');

  it('a stable noisy series opens no case', async (t) => {
    if (!prom) return t.skip(prometheusSkipReason());
    // Wait for the baseline to fill (≥ 10 points, 20 s window), then keep passing for a while.
    await waitUntil(async () => {
      const series = await prom!.client.queryRange('max(opsloop_demo_latency)', new Date(Date.now() - 25_000), new Date(), 1);
      return (series[0]?.points.length ?? 0) >= 22;
    }, 60_000, 'the baseline window to fill');
    const outcomes: SignalOutcome[] = [];
    for (let i = 0; i < 6; i++) {
      outcomes.push(...await runAnalystPass(deps[0]!));
      await delay(700);
    }
    assert.ok(outcomes.every((o) => o.status === 'quiet'), JSON.stringify(outcomes));
    assert.equal((await analystCases()).length, 0);
  });

  it('a step change opens exactly one case, even with two processes passing concurrently', async (t) => {
    if (!prom) return t.skip(prometheusSkipReason());
    const stepAt = Math.floor(Date.now() / 1000);
    level = 112;
    let opened: SignalOutcome[] = [];
    await waitUntil(async () => {
      const [a, b] = await Promise.all([runAnalystPass(deps[0]!), runAnalystPass(deps[1]!)]);
      opened = [...a!, ...b!].filter((o) => o.status === 'opened' || o.status === 'attached');
      if (!opened.length) await delay(300);
      return opened.length > 0;
    }, 30_000, 'the Analyst to open a case');

    const cases = await analystCases();
    assert.equal(cases.length, 1, `exactly one case: ${JSON.stringify(cases.map((c) => c.id))}`);
    const c = cases[0]!;
    assert.equal(c.service, 'demo');
    assert.equal(c.labels.signal, 'latency');
    for (const o of opened) if ('case_id' in o) assert.equal(o.case_id, c.id, 'both passes name the same case');

    // The episode fired on its CONSECUTIVE-th anomalous point, and it started at the step.
    const first = opened.find((o) => 'episode' in o)!;
    assert.ok('episode' in first);
    assert.equal(first.episode.fired_at - first.episode.start, (CONSECUTIVE - 1) * 1, JSON.stringify(first.episode));
    assert.ok(first.episode.start >= stepAt - 2, `episode starts at the step (${first.episode.start} vs ${stepAt})`);
    assert.equal(first.episode.direction, 'up');

    // More passes from both "processes" attach to the same case: still one case.
    for (let i = 0; i < 3; i++) {
      await Promise.all([runAnalystPass(deps[0]!), runAnalystPass(deps[1]!)]);
      await delay(300);
    }
    assert.equal((await analystCases()).length, 1);

    const after = (await stores[0]!.queries.getCase(c.id))!;
    assert.equal(after.status, 'ANALYZING', 'the case started analysis');
    const timeline = await stores[0]!.queries.listTimeline(c.id);
    const findings = timeline.filter((e) => e.event === 'findings');
    assert.ok(findings.length >= 1);
    const meta = findings[0]!.meta as { findings: Array<{ signal: string; detector: string; peak: { value: number } }> };
    assert.equal(meta.findings[0]!.signal, 'latency');
    assert.ok(meta.findings[0]!.peak.value > 105, 'the peak is the stepped value');
    assert.equal(timeline.filter((e) => e.event === 'start_analysis').length, 1);

    const evidence = await new SqlEvidenceStore(stores[0]!).evidence.listEvidence(c.id);
    assert.ok(evidence.length >= 1 && evidence.every((e) => e.kind === 'finding'));
    assert.equal(evidence.length, findings.length, 'one evidence row per findings note');
    assert.match(evidence[0]!.url ?? '', /\/graph\?g0\.expr=/);
    assert.equal(evidence[0]!.locator, 'max(opsloop_demo_latency{service="demo"})');

    const topics = await stores[0]!.transactSql(async (_tx, q) =>
      (await q.query<{ topic: string }>("SELECT topic FROM outbox WHERE payload->>'case_id' = $1 OR payload::text LIKE $2", [c.id, `%${c.id}%`])).rows.map((r) => r.topic));
    assert.equal(topics.filter((x) => x === 'evt.analysis.findings.v1').length, findings.length);
    assert.equal(topics.filter((x) => x === 'evt.case.created.v1').length, 1);

    // The analyze step's findings for the same case use the same detectors.
    const items = await findingsForCase(after, SERVICES, prom.client, systemClock);
    assert.equal(items.length, 1);
    assert.match(items[0]!.title, /latency: up anomaly \(robust_z\)/);
  });
});

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await delay(250);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
