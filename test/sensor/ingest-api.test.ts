import { TEST_USERS } from '../support/auth.js';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { grafanaSignature } from '../../adapters/http/ingest-routes.js';
import { ChatHandler } from '../../bot/chat-handler.js';
import { factApplier } from '../../adapters/jobs/fact-applier.js';
import { uuidGen } from '../../adapters/system-clock.js';
import { AlertIngestor } from '../../core/sensor/alert-ingestor.js';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';
import { AlertmanagerWebhookSchema, normalizeAlertmanager } from '../../core/schemas/alert-webhook.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { TOKEN, alertmanagerBody, startIngestApi, type IngestHarness } from '../support/ingest-harness.js';

const AUTH = { authorization: `Bearer ${TOKEN}` };
const fixture = async (name: string): Promise<Record<string, any>> =>
  JSON.parse(await readFile(new URL(`../fixtures/grafana/${name}.json`, import.meta.url), 'utf8'));

async function count(store: PgliteCaseStore, table: string, where = 'true', params: unknown[] = []): Promise<number> {
  const r = await store.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`, params);
  return r.rows[0]!.n;
}

async function topics(store: PgliteCaseStore, caseId: string): Promise<string[]> {
  // One row per message (a fact is stored once per consumer group: its first copy stands for it).
  const r = await store.db.query<{ topic: string }>(
    'SELECT topic FROM outbox WHERE id IN (SELECT min(id) FROM outbox WHERE key = $1 GROUP BY msg_id) ORDER BY id', [caseId]);
  return r.rows.map((row) => row.topic);
}

describe('alert ingest over HTTP (PGlite)', () => {
  let store: PgliteCaseStore;
  let h: IngestHarness;

  before(async () => {
    store = await createTestPgliteStore();
    h = await startIngestApi(store, {
      logUrlTemplate: 'https://logs.example.com/explore?query={selector}&from={from_ms}&to={to_ms}',
      config: {
        rules: [{ name: 'disk needs three', match: { alertname: 'DiskPressure' }, min_firing: 3 }],
        correlation: { labels: ['service', 'env'], window_minutes: 30 },
      },
    });
  });
  after(async () => {
    await h.app.close();
    await cleanupTestPgliteStore(store);
  });

  test('a firing group opens one case with evidence, timeline and outbox in one go; sev ≤ 2 starts analysis', async () => {
    const body = alertmanagerBody('{}:{alertname="HighErrorRate"}', [
      { alertname: 'HighErrorRate', labels: { service: 'checkout-api', env: 'prod', severity: 'critical', instance: 'a:80' }, expr: 'rate(http_errors_total[5m]) > 1' },
    ]);
    const res = await h.post('/ingest/alertmanager', body);
    assert.equal(res.status, 201, JSON.stringify(res.json));
    const result = res.json.data;
    assert.equal(result.action, 'opened');
    assert.equal(result.new_alerts, 1);
    assert.equal(result.analysis_started, true);
    const c = await store.queries.getCase(result.case_id);
    assert.ok(c);
    assert.equal(c.status, 'ANALYZING');
    assert.equal(c.severity, 1);
    assert.equal(c.service, 'checkout-api');
    assert.equal(c.env, 'prod');
    assert.equal(c.labels.source, 'alertmanager');

    const ev = await h.app.inject({ method: 'GET', url: `/case/${c.id}/evidence` });
    assert.equal(ev.statusCode, 200);
    const evidence = ev.json().data as Array<Record<string, any>>;
    assert.deepEqual(evidence.map((e) => e.kind).sort(), ['alert', 'log', 'metric']);
    const metric = evidence.find((e) => e.kind === 'metric')!;
    assert.equal(metric.locator, 'rate(http_errors_total[5m]) > 1');
    const graph = new URL(metric.url);
    assert.equal(graph.origin + graph.pathname, 'http://prometheus.example:9090/graph');
    assert.equal(graph.searchParams.get('g0.expr'), 'rate(http_errors_total[5m]) > 1');
    const log = evidence.find((e) => e.kind === 'log')!;
    const logUrl = new URL(log.url);
    assert.equal(logUrl.searchParams.get('query'), '{service="checkout-api",env="prod"}');
    const from = Number(logUrl.searchParams.get('from'));
    assert.equal(from, Date.parse('2026-11-25T10:00:00.000Z') - 15 * 60_000);
    assert.ok(evidence.every((e) => e.source_payload_id && /^[0-9a-f]{64}$/.test(e.source_payload_id)));

    const timeline = await store.queries.listTimeline(c.id);
    assert.deepEqual(timeline.map((e) => e.event), ['case_created', 'alert_firing', 'start_analysis']);
    const t = await topics(store, c.id);
    assert.deepEqual(t.slice(0, 4), ['evt.case.created.v1', 'evt.alert.firing.v1', 'evt.analysis.requested.v1', 'evt.case.transition.v1']);
  });

  test('a crash between the ingest commit and start_analysis loses nothing: the written fact starts it on delivery, once', async () => {
    // The ingestor below has no Orchestrator: it stands for a process that died right after the commit.
    const crashed = new AlertIngestor({ store: h.evidence, clock: h.clock, ids: uuidGen, config: h.config });
    const body = alertmanagerBody('{}:{alertname="CrashBeforeStart"}', [
      { alertname: 'CrashBeforeStart', labels: { service: 'payments', env: 'prod', severity: 'critical' } },
    ]);
    const result = await crashed.ingest(normalizeAlertmanager(AlertmanagerWebhookSchema.parse(body)), { id: 'f'.repeat(64), body });
    assert.equal(result.action, 'opened');
    assert.equal(result.analysis_started, false);
    const caseId = result.case_id!;
    assert.equal((await store.queries.getCase(caseId))!.status, 'NEW');

    // After the restart the relay delivers the fact (twice here: at-least-once) to the fact applier.
    const [fact] = (await store.db.query<{ payload: OutboxEnvelope }>(
      "SELECT payload FROM outbox WHERE key = $1 AND topic = 'evt.analysis.requested.v1'", [caseId])).rows.map((r) => r.payload);
    assert.ok(fact, 'the request was written with the case');
    const apply = factApplier({ orchestrator: h.orchestrator });
    await apply(fact);
    await apply(fact);
    const c = await store.queries.getCase(caseId);
    assert.equal(c!.status, 'ANALYZING');
    assert.equal(c!.version, 2, 'one transition, not two');
    const timeline = await store.queries.listTimeline(caseId);
    assert.deepEqual(timeline.map((e) => e.event), ['case_created', 'alert_firing', 'start_analysis']);
    assert.equal(timeline[2]!.actor, 'sensor:alertmanager');
  });

  test('a re-sent group adds nothing; a new alert in the group attaches with only its own evidence', async () => {
    const groupKey = '{}:{alertname="QueueBacklog"}';
    const one = alertmanagerBody(groupKey, [{ alertname: 'QueueBacklog', labels: { service: 'orders', env: 'staging', severity: 'warning', queue: 'q1' } }]);
    const first = await h.post('/ingest/alertmanager', one);
    assert.equal(first.json.data.action, 'opened');
    const caseId = first.json.data.case_id as string;
    const c = await store.queries.getCase(caseId);
    assert.equal(c!.status, 'NEW', 'severity 3 does not start analysis by default');
    const evidenceBefore = await count(store, 'evidence', 'case_id = $1', [caseId]);
    const timelineBefore = await count(store, 'case_timeline', 'case_id = $1', [caseId]);
    const outboxBefore = await count(store, 'outbox');

    const again = await h.post('/ingest/alertmanager', one);
    assert.equal(again.status, 200);
    assert.equal(again.json.data.action, 'duplicate');
    assert.equal(again.json.data.case_id, caseId);
    assert.equal(await count(store, 'evidence', 'case_id = $1', [caseId]), evidenceBefore);
    assert.equal(await count(store, 'case_timeline', 'case_id = $1', [caseId]), timelineBefore);
    assert.equal(await count(store, 'outbox'), outboxBefore);

    const two = alertmanagerBody(groupKey, [
      { alertname: 'QueueBacklog', labels: { service: 'orders', env: 'staging', severity: 'warning', queue: 'q1' } },
      { alertname: 'QueueBacklog', labels: { service: 'orders', env: 'staging', severity: 'warning', queue: 'q2' }, startsAt: '2026-11-25T10:02:00.000Z' },
    ]);
    const grown = await h.post('/ingest/alertmanager', two);
    assert.equal(grown.json.data.action, 'attached');
    assert.equal(grown.json.data.matched_by, 'group');
    assert.equal(grown.json.data.case_id, caseId);
    assert.equal(grown.json.data.new_alerts, 1);
    // one alert evidence for q2; the PromQL link is the same expression, so it is not repeated
    assert.equal(await count(store, 'evidence', "case_id = $1 AND kind = 'alert'", [caseId]), 2);
    assert.equal(await count(store, 'evidence', "case_id = $1 AND kind = 'metric'", [caseId]), 1);
    assert.equal(await count(store, 'ops_case', "labels->>'group_key' = $1", [groupKey]), 1);
  });

  test('a storm of 1,000 concurrent copies of one notification makes exactly one case and one evidence set', async () => {
    const groupKey = '{}:{alertname="StormAlert"}';
    const body = JSON.stringify(alertmanagerBody(groupKey, [
      { alertname: 'StormAlert', labels: { service: 'storm', env: 'prod', severity: 'warning', pod: 'p1' } },
      { alertname: 'StormAlert', labels: { service: 'storm', env: 'prod', severity: 'warning', pod: 'p2' } },
    ]));
    const answers = await Promise.all(Array.from({ length: 1000 }, () => h.post('/ingest/alertmanager', body)));
    const statuses = answers.map((a) => a.status);
    assert.ok(statuses.every((s) => s === 200 || s === 201), `statuses: ${[...new Set(statuses)].join(',')}`);
    assert.equal(answers.filter((a) => a.json.data.action === 'opened').length, 1);
    const caseIds = new Set(answers.map((a) => a.json.data.case_id));
    assert.equal(caseIds.size, 1);
    const [caseId] = [...caseIds];
    assert.equal(await count(store, 'ops_case', "labels->>'group_key' = $1", [groupKey]), 1);
    assert.equal(await count(store, 'evidence', "case_id = $1 AND kind = 'alert'", [caseId]), 2);
    assert.equal(await count(store, 'evidence', "case_id = $1 AND kind = 'metric'", [caseId]), 1);
    assert.equal(await count(store, 'evidence', "case_id = $1 AND kind = 'log'", [caseId]), 2);
    assert.equal(await count(store, 'alert_episode', 'case_id = $1', [caseId]), 2);
    assert.equal(await count(store, 'case_timeline', "case_id = $1 AND event = 'alert_firing'", [caseId]), 1);
  });

  test('another group with the same service and env attaches to the open case within the window, not after it', async () => {
    const a = await h.post('/ingest/alertmanager', alertmanagerBody('{}:{alertname="CpuHigh"}', [
      { alertname: 'CpuHigh', labels: { service: 'search', env: 'prod', severity: 'warning' } }]));
    assert.equal(a.json.data.action, 'opened');
    const b = await h.post('/ingest/alertmanager', alertmanagerBody('{}:{alertname="LatencyHigh"}', [
      { alertname: 'LatencyHigh', labels: { service: 'search', env: 'prod', severity: 'warning' } }]));
    assert.equal(b.json.data.action, 'attached');
    assert.equal(b.json.data.matched_by, 'correlation');
    assert.equal(b.json.data.case_id, a.json.data.case_id);
    const otherEnv = await h.post('/ingest/alertmanager', alertmanagerBody('{}:{alertname="LatencyHigh",env="staging"}', [
      { alertname: 'LatencyHigh', labels: { service: 'search', env: 'staging', severity: 'warning' } }]));
    assert.equal(otherEnv.json.data.action, 'opened');
    assert.notEqual(otherEnv.json.data.case_id, a.json.data.case_id);

    h.clock.advance(31 * 60_000);
    const late = await h.post('/ingest/alertmanager', alertmanagerBody('{}:{alertname="ErrorsHigh"}', [
      { alertname: 'ErrorsHigh', labels: { service: 'search', env: 'prod', severity: 'warning' } }]));
    assert.equal(late.json.data.action, 'opened', 'outside the 30-minute window a new case opens');
  });

  test('a rule asking for 3 firing alerts holds the group (nothing written) until the third fires', async () => {
    const groupKey = '{}:{alertname="DiskPressure"}';
    const node = (n: number) => ({ alertname: 'DiskPressure', labels: { service: 'storage', env: 'prod', node: `n${n}` } });
    const casesBefore = await count(store, 'ops_case');
    const held = await h.post('/ingest/alertmanager', alertmanagerBody(groupKey, [node(1), node(2)]));
    assert.equal(held.status, 200);
    assert.equal(held.json.data.action, 'held');
    assert.equal(held.json.data.firing, 2);
    assert.equal(held.json.data.required, 3);
    assert.equal(await count(store, 'ops_case'), casesBefore);
    assert.equal(await count(store, 'alert_episode', 'group_key = $1', [groupKey]), 0);
    const opened = await h.post('/ingest/alertmanager', alertmanagerBody(groupKey, [node(1), node(2), node(3)]));
    assert.equal(opened.json.data.action, 'opened');
    assert.equal(opened.json.data.new_alerts, 3);
  });

  test('a resolved notification is a timeline note and an event, and does not change the status', async () => {
    const groupKey = '{}:{alertname="MemLeak"}';
    const spec = { alertname: 'MemLeak', labels: { service: 'billing', env: 'prod', severity: 'warning' } };
    const opened = await h.post('/ingest/alertmanager', alertmanagerBody(groupKey, [spec]));
    const caseId = opened.json.data.case_id as string;
    const before = await store.queries.getCase(caseId);
    const resolved = await h.post('/ingest/alertmanager', alertmanagerBody(groupKey, [{ ...spec, status: 'resolved' }]));
    assert.equal(resolved.status, 200);
    assert.equal(resolved.json.data.action, 'resolved');
    assert.deepEqual(resolved.json.data.resolved_case_ids, [caseId]);
    const after = await store.queries.getCase(caseId);
    assert.equal(after!.status, before!.status);
    assert.equal(after!.version, before!.version);
    const timeline = await store.queries.listTimeline(caseId);
    const note = timeline.find((e) => e.event === 'alert_resolved');
    assert.ok(note, 'resolution on the timeline');
    assert.match(note.reason ?? '', /MemLeak/);
    assert.ok((await topics(store, caseId)).includes('evt.alert.resolved.v1'));
    const again = await h.post('/ingest/alertmanager', alertmanagerBody(groupKey, [{ ...spec, status: 'resolved' }]));
    assert.equal(again.json.data.action, 'duplicate', 'a re-sent resolution adds nothing');
    assert.equal((await store.queries.listTimeline(caseId)).filter((e) => e.event === 'alert_resolved').length, 1);
  });

  test('bad input: malformed → 400 with the validation errors and nothing written; bad JSON 400; unknown fields ignored', async () => {
    const casesBefore = await count(store, 'ops_case');
    const bad = alertmanagerBody('{}:{alertname="Bad"}', [{ alertname: 'Bad' }]);
    (bad.alerts as any[])[0].startsAt = 'yesterday';
    delete (bad as any).groupKey;
    const res = await h.post('/ingest/alertmanager', bad);
    assert.equal(res.status, 400);
    assert.equal(res.json.error.code, 'OPS_VALIDATION');
    const paths = (res.json.error.details as Array<{ path: string }>).map((d) => d.path);
    assert.ok(paths.includes('groupKey'), paths.join(','));
    assert.ok(paths.includes('alerts.0.startsAt'), paths.join(','));
    const wrongVersion = await h.post('/ingest/alertmanager', { ...alertmanagerBody('g', [{ alertname: 'X' }]), version: '3' });
    assert.equal(wrongVersion.status, 400);
    const notJson = await h.post('/ingest/alertmanager', '{"version": "4", ');
    assert.equal(notJson.status, 400);
    assert.equal(notJson.json.error.code, 'OPS_BAD_JSON');
    assert.equal(await count(store, 'ops_case'), casesBefore);

    const extra = alertmanagerBody('{}:{alertname="Extra"}', [{ alertname: 'Extra', labels: { service: 'x1', env: 'prod' } }], { somethingNew: { nested: true } });
    (extra.alerts as any[])[0].futureField = 42;
    const ok = await h.post('/ingest/alertmanager', extra);
    assert.equal(ok.status, 201);
  });

  test('auth: missing or wrong bearer token → 401, nothing written', async () => {
    const body = alertmanagerBody('{}:{alertname="Auth"}', [{ alertname: 'Auth', labels: { service: 'auth', env: 'prod' } }]);
    const casesBefore = await count(store, 'ops_case');
    const missing = await h.post('/ingest/alertmanager', body, {});
    assert.equal(missing.status, 401);
    assert.equal(missing.json.error.code, 'OPS_UNAUTHORIZED');
    const wrong = await h.post('/ingest/alertmanager', body, { authorization: 'Bearer nope' });
    assert.equal(wrong.status, 401);
    const basic = await h.post('/ingest/grafana', body, { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` });
    assert.equal(basic.status, 401);
    assert.equal(await count(store, 'ops_case'), casesBefore);
  });

  test('Grafana fixtures open a case with dashboard and panel links, a correlated rule attaches, resolved lands on the timeline', async () => {
    const firing = await fixture('firing');
    const opened = await h.post('/ingest/grafana', firing);
    assert.equal(opened.status, 201, JSON.stringify(opened.json));
    const caseId = opened.json.data.case_id as string;
    const c = await store.queries.getCase(caseId);
    assert.equal(c!.title, firing.title);
    assert.equal(c!.tenant, 'payments');
    assert.equal(c!.severity, 1);
    const evidence = await h.evidence.evidence.listEvidence(caseId);
    const dashboards = evidence.filter((e) => e.kind === 'dashboard');
    assert.deepEqual(dashboards.map((e) => e.locator).sort(), ['dashboard=checkout-overview', 'dashboard=checkout-overview panel=4']);
    assert.ok(evidence.some((e) => e.kind === 'alert' && e.url === firing.alerts[0].generatorURL));

    const again = await h.post('/ingest/grafana', firing);
    assert.equal(again.json.data.action, 'duplicate');

    const correlated = await h.post('/ingest/grafana', await fixture('correlated'));
    assert.equal(correlated.json.data.action, 'attached');
    assert.equal(correlated.json.data.matched_by, 'correlation');
    assert.equal(correlated.json.data.case_id, caseId);

    const resolved = await h.post('/ingest/grafana', await fixture('resolved'));
    assert.equal(resolved.json.data.action, 'resolved');
    assert.ok((await store.queries.listTimeline(caseId)).some((e) => e.event === 'alert_resolved'));
  });

  test('/ops evidence lists the case\'s evidence with its links', async () => {
    const opened = await h.post('/ingest/alertmanager', alertmanagerBody('{}:{alertname="ChatEvidence"}', [
      { alertname: 'ChatEvidence', labels: { service: 'chat-ev', env: 'prod' }, expr: 'chat_errors > 3' }]));
    const caseId = opened.json.data.case_id as string;
    const handler = new ChatHandler({ orchestrator: h.orchestrator, queries: store.queries, evidence: h.evidence.evidence });
    const reply = await handler.handleCommand({ kind: 'evidence', caseRef: caseId.slice(0, 8) }, { platform: 'sim', id: 'u1' }, { channel: 'c' });
    assert.match(reply.text, /chat_errors/);
    assert.match(reply.text, /http:\/\/prometheus\.example:9090\/graph\?g0\.expr=chat_errors/);
    const without = new ChatHandler({ orchestrator: h.orchestrator, queries: store.queries });
    assert.match((await without.handleCommand({ kind: 'evidence', caseRef: caseId }, { platform: 'sim', id: 'u1' }, { channel: 'c' })).text, /not available/);
  });

  test('GET /case/{id}/evidence: 404 for an unknown case, 400 for a malformed id', async () => {
    const missing = await h.app.inject({ method: 'GET', url: '/case/00000000-0000-4000-8000-000000000000/evidence' });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error.code, 'OPS_CASE_NOT_FOUND');
    const malformed = await h.app.inject({ method: 'GET', url: '/case/xyz/evidence' });
    assert.equal(malformed.statusCode, 400);
    const doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    for (const path of ['/ingest/alertmanager', '/ingest/grafana', '/case/{id}/evidence']) assert.ok(doc.paths[path], `${path} in OpenAPI`);
  });
});

describe('ingest configuration edges (PGlite)', () => {
  let store: PgliteCaseStore;
  before(async () => { store = await createTestPgliteStore(); });
  after(async () => { await cleanupTestPgliteStore(store); });

  test('without OPSLOOP_INGEST_TOKEN that token is refused (401, one line), and a responder API token still sends alerts', async () => {
    const h = await startIngestApi(store, { token: null });
    try {
      const res = await h.post('/ingest/alertmanager', alertmanagerBody('g', [{ alertname: 'X' }]));
      assert.equal(res.status, 401);
      assert.equal(res.json.error.code, 'OPS_UNAUTHORIZED');
      assert.ok(!res.json.error.message.includes('\n'));
      const viewer = await h.post('/ingest/alertmanager', alertmanagerBody('g', [{ alertname: 'X' }]), TEST_USERS.victor.headers);
      assert.equal(viewer.status, 403, 'a viewer may not send alerts');
      const responder = await h.post('/ingest/alertmanager', alertmanagerBody('g', [{ alertname: 'X' }]), TEST_USERS.alice.headers);
      assert.equal(responder.status, 201, JSON.stringify(responder.json));
    } finally {
      await h.app.close();
    }
  });

  test('an oversized body → 413, nothing written', async () => {
    const h = await startIngestApi(store, { bodyLimit: 4096 });
    try {
      const big = alertmanagerBody('{}:{alertname="Big"}', Array.from({ length: 40 }, (_, i) => ({ alertname: 'Big', labels: { service: 'big', env: 'prod', i: String(i) } })));
      const res = await h.post('/ingest/alertmanager', big);
      assert.equal(res.status, 413);
      assert.equal(res.json.error.code, 'OPS_PAYLOAD_TOO_LARGE');
      assert.equal(await count(store, 'ops_case', "service = 'big'"), 0);
    } finally {
      await h.app.close();
    }
  });

  test('Grafana HMAC: a valid signature passes; missing, wrong or stale ones → 401', async () => {
    const secret = 'hmac-secret';
    const h = await startIngestApi(store, { grafanaHmacSecret: secret, config: { grafana: { timestamp_header: 'X-Grafana-Alerting-Timestamp' } } });
    try {
      const body = JSON.stringify({ ...(await fixture('firing')), groupKey: 'hmac-group' });
      const ts = String(Math.floor(Date.now() / 1000));
      const good = await h.post('/ingest/grafana', body, { ...AUTH, 'x-grafana-alerting-timestamp': ts, 'x-grafana-alerting-signature': grafanaSignature(secret, body, ts) });
      assert.equal(good.status, 201, JSON.stringify(good.json));
      const missing = await h.post('/ingest/grafana', body, { ...AUTH, 'x-grafana-alerting-timestamp': ts });
      assert.equal(missing.status, 401);
      const wrong = await h.post('/ingest/grafana', body, { ...AUTH, 'x-grafana-alerting-timestamp': ts, 'x-grafana-alerting-signature': grafanaSignature('other', body, ts) });
      assert.equal(wrong.status, 401);
      const old = String(Number(ts) - 3600);
      const stale = await h.post('/ingest/grafana', body, { ...AUTH, 'x-grafana-alerting-timestamp': old, 'x-grafana-alerting-signature': grafanaSignature(secret, body, old) });
      assert.equal(stale.status, 401);
      assert.match(stale.json.error.message, /timestamp/);
    } finally {
      await h.app.close();
    }
  });
});
