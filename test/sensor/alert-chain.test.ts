import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SqlEvidenceStore } from '../../adapters/store/sql/sql-evidence-store.js';
import { createIngestExtension } from '../../app/extensions/ingest.js';
import { IngestConfigSchema } from '../../core/sensor/ingest-config.js';
import type { CaseRecord } from '../../core/schemas/case.js';
import { useOpsloopOnAlertChain } from '../support/alert-chain.js';

/*
 * The real chain on loopback: a controlled target → real Prometheus (rule evaluation) → real
 * Alertmanager (grouping, webhook with a bearer token) → opsloop's POST /ingest/alertmanager.
 */

const TOKEN = 'chain-token';
const RULE = `groups:
  - name: opsloop-chain
    interval: 1s
    rules:
      - alert: CheckoutErrorsHigh
        expr: checkout_errors > 5
        for: 0s
        labels:
          severity: critical
          env: prod
        annotations:
          summary: checkout errors above 5
`;

const setUp = useOpsloopOnAlertChain({
  token: TOKEN, rule: RULE,
  extensions: [(ctx) => createIngestExtension(ctx, { ingestConfig: IngestConfigSchema.parse({}) })],
});

test('Prometheus → Alertmanager → opsloop: a case opens with evidence and starts analysis; the resolution lands on the timeline', { skip: setUp.skip }, async (t) => {
  const { app, store, chain } = setUp.get();
  const t0 = Date.now();
  chain.prom.target.set('checkout_errors', { service: 'checkout-api' }, 12);
  const opened = await chain.waitFor<CaseRecord>('a case from the alert', async () =>
    (await store.queries.listCases()).find((c) => c.labels.alertname === 'CheckoutErrorsHigh'));
  t.diagnostic(`case opened after ${Date.now() - t0} ms`);
  assert.equal(opened.service, 'checkout-api');
  assert.equal(opened.env, 'prod');
  assert.equal(opened.severity, 1);
  assert.equal(opened.labels.source, 'alertmanager');
  const analyzing = await chain.waitFor('analysis to start', async () => {
    const c = await store.queries.getCase(opened.id);
    return c?.status === 'ANALYZING' ? c : null;
  });
  assert.equal(analyzing.status, 'ANALYZING');

  const evidence = await new SqlEvidenceStore(store).evidence.listEvidence(opened.id);
  const metric = evidence.find((e) => e.kind === 'metric');
  assert.ok(metric, `metric evidence in ${JSON.stringify(evidence)}`);
  assert.equal(metric.locator, 'checkout_errors > 5');
  assert.equal(new URL(metric.url!).searchParams.get('g0.expr'), 'checkout_errors > 5');
  assert.ok(evidence.some((e) => e.kind === 'alert' && e.labels.alertname === 'CheckoutErrorsHigh'));
  const viaApi = await fetch(`${app.url}/case/${opened.id}/evidence`, { headers: { authorization: `Bearer ${app.auth.adminToken}` } }).then((r) => r.json()) as { data: unknown[] };
  assert.equal(viaApi.data.length, evidence.length);

  const t1 = Date.now();
  chain.prom.target.set('checkout_errors', { service: 'checkout-api' }, 0);
  const resolved = await chain.waitFor('the resolution note', async () =>
    (await store.queries.listTimeline(opened.id)).find((e) => e.event === 'alert_resolved'));
  t.diagnostic(`resolution after ${Date.now() - t1} ms`);
  assert.match(resolved.reason ?? '', /CheckoutErrorsHigh/);
  const after = await store.queries.getCase(opened.id);
  assert.equal(after!.status, 'ANALYZING', 'a resolution does not change the status');
  const cases = (await store.queries.listCases()).filter((c) => c.labels.alertname === 'CheckoutErrorsHigh');
  assert.equal(cases.length, 1, 'the re-sent and resolved notifications opened nothing new');
});
