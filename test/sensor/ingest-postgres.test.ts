import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createPostgresCaseStore, type PostgresCaseStore } from '../../adapters/store/postgres/postgres-case-store.js';
import { SqlEvidenceStore } from '../../adapters/store/sql/sql-evidence-store.js';
import { uuidGen } from '../../adapters/system-clock.js';
import { AlertmanagerWebhookSchema, normalizeAlertmanager } from '../../core/schemas/alert-webhook.js';
import { AlertIngestor } from '../../core/sensor/alert-ingestor.js';
import { defaultIngestConfig } from '../../core/sensor/ingest-config.js';
import { POSTGRES_SKIP_REASON, cleanupTestPostgresStore, createTestPostgresStore, testDatabaseUrl } from '../support/postgres.js';
import { alertmanagerBody, startIngestApi, type IngestHarness } from '../support/ingest-harness.js';

/* The storm and the dedupe on the PostgreSQL server, where transactions really run in parallel. */

const skip = testDatabaseUrl() ? false : POSTGRES_SKIP_REASON;
let store: PostgresCaseStore | null = null;
let h: IngestHarness;
/** Three more opsloop "processes" (own pools) on the same database. */
const others: Array<{ store: PostgresCaseStore; h: IngestHarness }> = [];

before(async () => {
  if (skip) return;
  store = await createTestPostgresStore({ max: 20 });
  h = await startIngestApi(store!);
  for (let i = 0; i < 3; i++) {
    const other = createPostgresCaseStore({ url: store!.pool.options.connectionString!, max: 10 });
    others.push({ store: other, h: await startIngestApi(other) });
  }
  // Warm the pool so the storm's transactions really overlap.
  await Promise.all(Array.from({ length: 20 }, () => store!.pool.query('SELECT 1')));
});
after(async () => {
  for (const o of others) {
    await o.h.app.close();
    await o.store.close();
  }
  await h?.app.close();
  await cleanupTestPostgresStore(store);
});

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const r = await store!.pool.query<{ n: number }>(sql, params);
  return r.rows[0]!.n;
}

test('PostgreSQL server: 1,000 concurrent copies of one notification over four processes → one case, one evidence set', { skip }, async () => {
  const groupKey = '{}:{alertname="PgStorm"}';
  const body = JSON.stringify(alertmanagerBody(groupKey, [
    { alertname: 'PgStorm', labels: { service: 'pg-storm', env: 'prod', severity: 'critical', pod: 'a' } },
    { alertname: 'PgStorm', labels: { service: 'pg-storm', env: 'prod', severity: 'critical', pod: 'b' } },
    { alertname: 'PgStorm', labels: { service: 'pg-storm', env: 'prod', severity: 'critical', pod: 'c' } },
  ]));
  const apps = [h, ...others.map((o) => o.h)];
  const answers = await Promise.all(Array.from({ length: 1000 }, (_, i) => apps[i % apps.length]!.post('/ingest/alertmanager', body)));
  assert.ok(answers.every((a) => a.status === 200 || a.status === 201), [...new Set(answers.map((a) => `${a.status}`))].join(','));
  assert.equal(answers.filter((a) => a.json.data.action === 'opened').length, 1);
  assert.equal(new Set(answers.map((a) => a.json.data.case_id)).size, 1);
  const caseId = answers[0]!.json.data.case_id as string;
  assert.equal(await count("SELECT count(*)::int AS n FROM ops_case WHERE labels->>'group_key' = $1", [groupKey]), 1);
  assert.equal(await count("SELECT count(*)::int AS n FROM evidence WHERE case_id = $1 AND kind = 'alert'", [caseId]), 3);
  assert.equal(await count("SELECT count(*)::int AS n FROM evidence WHERE case_id = $1 AND kind = 'metric'", [caseId]), 1);
  assert.equal(await count('SELECT count(*)::int AS n FROM alert_episode WHERE case_id = $1', [caseId]), 3);
  assert.equal(await count("SELECT count(*)::int AS n FROM case_timeline WHERE case_id = $1 AND event = 'alert_firing'", [caseId]), 1);
  assert.equal(await count("SELECT count(*)::int AS n FROM case_timeline WHERE case_id = $1 AND event = 'start_analysis'", [caseId]), 1);
});

test('PostgreSQL server: re-sends add nothing, concurrent different groups of one service correlate onto one case', { skip }, async () => {
  const groups = Array.from({ length: 20 }, (_, i) => alertmanagerBody(`{}:{alertname="Rule${i}"}`, [
    { alertname: `Rule${i}`, labels: { service: 'pg-corr', env: 'prod', severity: 'warning' } }]));
  const answers = await Promise.all([...groups, ...groups].map((g) => h.post('/ingest/alertmanager', g)));
  assert.ok(answers.every((a) => a.status === 200 || a.status === 201));
  assert.equal(answers.filter((a) => a.json.data.action === 'opened').length, 1, 'the correlation lock lets one group open, the others attach');
  assert.equal(new Set(answers.map((a) => a.json.data.case_id)).size, 1);
  const caseId = answers[0]!.json.data.case_id as string;
  assert.equal(await count("SELECT count(*)::int AS n FROM evidence WHERE case_id = $1 AND kind = 'alert'", [caseId]), 20);
  assert.equal(await count("SELECT count(*)::int AS n FROM case_timeline WHERE case_id = $1 AND event = 'alert_firing'", [caseId]), 20);
});

test('PostgreSQL server: 200 concurrent transactions of one notification (no in-process sharing) serialise on the group lock', { skip }, async () => {
  const ingestor = new AlertIngestor({ store: new SqlEvidenceStore(store!), clock: { now: () => new Date() }, ids: uuidGen, config: defaultIngestConfig(), singleFlight: false });
  const raw = alertmanagerBody('{}:{alertname="PgLock"}', [
    { alertname: 'PgLock', labels: { service: 'pg-lock', env: 'prod', pod: 'a' } },
    { alertname: 'PgLock', labels: { service: 'pg-lock', env: 'prod', pod: 'b' } },
  ]);
  const n = normalizeAlertmanager(AlertmanagerWebhookSchema.parse(raw));
  const results = await Promise.all(Array.from({ length: 200 }, () => ingestor.ingest(n, { id: 'pglock', body: raw })));
  assert.equal(results.filter((r) => r.action === 'opened').length, 1);
  assert.equal(results.filter((r) => r.action === 'duplicate').length, 199);
  const caseId = results.find((r) => r.action === 'opened')!.case_id!;
  assert.ok(results.every((r) => r.case_id === caseId));
  assert.equal(await count("SELECT count(*)::int AS n FROM evidence WHERE case_id = $1 AND kind = 'alert'", [caseId]), 2);
  assert.equal(await count('SELECT count(*)::int AS n FROM alert_episode WHERE case_id = $1', [caseId]), 2);
});
