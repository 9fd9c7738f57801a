import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createIngestExtension } from '../../app/extensions/ingest.js';
import { createSilencesExtension } from '../../app/extensions/silences.js';
import type { RunningOpsloop } from '../../app/start-opsloop.js';
import { IngestConfigSchema } from '../../core/sensor/ingest-config.js';
import type { SilenceView } from '../../core/schemas/silence.js';
import { useOpsloopOnAlertChain } from '../support/alert-chain.js';

/*
 * The real chain with a silence: a controlled target → real Prometheus (rule evaluation) → real
 * Alertmanager (grouping by alertname, webhook with a bearer token) → opsloop. The silenced
 * service's alert opens no case and moves opsloop_suppressed_total and the silence's count; the
 * other service's alert of the same rule (same group) opens a case.
 */

const TOKEN = 'silence-chain-token';
const RULE = `groups:
  - name: opsloop-silence-chain
    interval: 1s
    rules:
      - alert: ErrorsHigh
        expr: errors_now > 5
        for: 0s
        labels:
          severity: critical
          env: prod
        annotations:
          summary: errors above 5
`;

const setUp = useOpsloopOnAlertChain({
  token: TOKEN, rule: RULE,
  extensions: [
    { name: 'silences', provides: ['silences'], create: (ctx) => createSilencesExtension(ctx, { services: { version: 1, services: {} } }) },
    { name: 'ingest', needs: ['silences'], create: (ctx) => createIngestExtension(ctx, { ingestConfig: IngestConfigSchema.parse({}) }) },
  ],
});

async function suppressedTotal(app: RunningOpsloop): Promise<number> {
  const body = await (await fetch(`${app.url}/metrics`)).text();
  return Number(/^opsloop_suppressed_total\{reason="silence",source="alert"\} (\d+)/m.exec(body)?.[1] ?? NaN);
}

test('Prometheus → Alertmanager → opsloop: the silenced service opens no case and is counted; the other service opens one', { skip: setUp.skip }, async () => {
  const { app, store, chain } = setUp.get();
  const auth = { authorization: `Bearer ${app.auth.adminToken}`, 'content-type': 'application/json' };
  const made = await fetch(`${app.url}/silences`, {
    method: 'POST', headers: { ...auth, 'idempotency-key': 'chain-silence' },
    body: JSON.stringify({ matchers: [{ name: 'service', op: '=', value: 'checkout-api' }, { name: 'alertname', op: '=~', value: 'Errors.*' }], duration: '1h', reason: 'chain test' }),
  });
  assert.equal(made.status, 201);
  const silence = ((await made.json()) as { data: SilenceView }).data;
  assert.equal(await suppressedTotal(app), 0);

  chain.prom.target.set('errors_now', { service: 'checkout-api' }, 12);
  await chain.waitFor('the silenced alert to reach opsloop', async () => ((await suppressedTotal(app)) >= 1 ? true : undefined));
  assert.equal((await store.queries.listCases()).length, 0, 'no case for the silenced alert');

  chain.prom.target.set('errors_now', { service: 'payments-api' }, 9);
  const opened = await chain.waitFor('a case for the unsilenced alert', async () => (await store.queries.listCases()).find((c) => c.labels.alertname === 'ErrorsHigh'));
  // One Alertmanager group (by alertname) holds both alerts: only the unsilenced one became evidence.
  const evidence = await app.backend.evidence.evidence.listEvidence(opened.id);
  const services = new Set(evidence.filter((e) => e.kind === 'alert').map((e) => e.labels.service));
  assert.deepEqual([...services], ['payments-api']);
  assert.equal((await store.queries.listCases()).length, 1, 'the silenced one still opened nothing');
  assert.equal(await suppressedTotal(app), 1, 'the re-sent silenced episode is counted once');
  const listed = await (await fetch(`${app.url}/silences`, { headers: auth })).json() as { data: SilenceView[] };
  assert.equal(listed.data.find((s) => s.id === silence.id)?.suppressed_count, 1);
});
