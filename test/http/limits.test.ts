import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { ingestRoutes } from '../../adapters/http/ingest-routes.js';
import type { Authenticator } from '../../adapters/auth/authenticator.js';
import { limitKindOf } from '../../adapters/http/rate-limits.js';
import { buildServer, type HttpPlugin } from '../../adapters/http/server.js';
import { silentLogger } from '../../adapters/log.js';
import { PromMetrics } from '../../adapters/metrics/prom-metrics.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { SqlEvidenceStore } from '../../adapters/store/sql/sql-evidence-store.js';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';
import { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import { AlertIngestor } from '../../core/sensor/alert-ingestor.js';
import { IngestConfigSchema } from '../../core/sensor/ingest-config.js';
import { completePlan, createCase, key, transition } from './api-harness.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { alertmanagerBody, TOKEN } from '../support/ingest-harness.js';

/**
 * Issue 11, item 5 over real HTTP on PGlite: per-principal rate limits (writes and ingest, reads
 * and chat receivers exempt) and per-field size limits (400 naming the field, nothing written).
 */

interface Api {
  app: FastifyInstance;
  store: PgliteCaseStore;
  close(): Promise<void>;
}

/** A chat receiver stand-in: a signed-webhook route under /slack/. */
const chatStub: HttpPlugin = async (app) => {
  app.post('/slack/events', async () => ({ ok: true }));
};

/** Two API-token principals for the per-principal checks (any other bearer is refused). */
const tokens: Authenticator = {
  name: 'test-tokens',
  async authenticate(bearer) {
    const who = /^tok-(alice|bob)$/.exec(bearer)?.[1];
    return who ? { ok: true, principal: { id: `token:${who}`, auth: 'token', roles: ['responder', 'approver'] } } : null;
  },
};

async function startLimitedApi(rateLimits: { writesPerMinute: number; ingestPerMinute: number; windowMs?: number }, authMode: 'on' | 'off' = 'off', ingestConfig: Record<string, unknown> = {}): Promise<Api> {
  const store = await createTestPgliteStore();
  const metrics = new PromMetrics({ defaultMetrics: false });
  const orchestrator = new Orchestrator({ store, clock: systemClock, ids: uuidGen, metrics });
  const evidence = new SqlEvidenceStore(store);
  const config = IngestConfigSchema.parse(ingestConfig);
  const ingestor = new AlertIngestor({ store: evidence, clock: systemClock, ids: uuidGen, config, orchestrator });
  const app = buildServer({
    orchestrator, store, metrics, logger: silentLogger(), rateLimits,
    auth: { mode: authMode, authenticators: [tokens], ingestAuthenticators: [{ name: 'ingest', authenticate: async (b) => (b === TOKEN ? { ok: true, principal: { id: 'token:alertmanager', auth: 'token', roles: ['responder'] } } : null) }] },
    plugins: [chatStub, ingestRoutes({ ingestor, queries: store.queries, evidence: evidence.evidence, config, registry: new Registry() })],
  });
  await app.ready();
  return { app, store, async close() { await app.close(); await cleanupTestPgliteStore(store); } };
}

async function count(store: PgliteCaseStore, table: string): Promise<number> {
  return (await store.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;
}

const create = (app: FastifyInstance, remoteAddress: string, body: Record<string, unknown> = { title: 'rate limited?' }) =>
  app.inject({ method: 'POST', url: '/case/create', remoteAddress, headers: { 'idempotency-key': key('rl') }, payload: body });

test('limitKindOf: writes and ingest are limited; reads and chat receivers are not', () => {
  assert.equal(limitKindOf('POST', '/case/create'), 'writes');
  assert.equal(limitKindOf('PATCH', '/case/:id/transition'), 'writes');
  assert.equal(limitKindOf('DELETE', '/tokens/:id'), 'writes');
  assert.equal(limitKindOf('POST', '/ingest/alertmanager'), 'ingest');
  assert.equal(limitKindOf('GET', '/case/:id'), null);
  assert.equal(limitKindOf('POST', '/slack/events'), null);
  assert.equal(limitKindOf('POST', '/discord/interactions'), null);
});

describe('rate limits', () => {
  let api: Api;
  before(async () => { api = await startLimitedApi({ writesPerMinute: 5, ingestPerMinute: 3 }); });
  after(async () => { await api.close(); });

  test('the N+1st write in the window → 429 OPS_RATE_LIMITED with Retry-After; another client and reads are unaffected', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await create(api.app, '10.0.0.1');
      assert.equal(res.statusCode, 201, res.body);
    }
    const casesBefore = await count(api.store, 'ops_case');
    const limited = await create(api.app, '10.0.0.1');
    assert.equal(limited.statusCode, 429, limited.body);
    const body = limited.json();
    assert.equal(body.error.code, 'OPS_RATE_LIMITED');
    assert.match(body.error.message, /at most 5 write requests per 60 s/);
    assert.equal(body.error.details.limit, 5);
    const retryAfter = Number(limited.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${limited.headers['retry-after']}`);
    assert.equal(await count(api.store, 'ops_case'), casesBefore, 'a limited write writes nothing');

    const other = await create(api.app, '10.0.0.2');
    assert.equal(other.statusCode, 201, 'another client has its own budget');

    const caseId = other.json().data.case_id as string;
    for (let i = 0; i < 20; i++) {
      const read = await api.app.inject({ method: 'GET', url: `/case/${caseId}`, remoteAddress: '10.0.0.1' });
      assert.equal(read.statusCode, 200, 'reads are not limited');
    }
    const chat = await api.app.inject({ method: 'POST', url: '/slack/events', remoteAddress: '10.0.0.1', payload: {} });
    assert.equal(chat.statusCode, 200, 'chat receivers are not limited per address');
  });

  test('with authentication on, the budget is the principal\'s, whatever address it comes from', async () => {
    const authed = await startLimitedApi({ writesPerMinute: 3, ingestPerMinute: 3 }, 'on');
    try {
      const as = (who: string, remoteAddress: string) => authed.app.inject({
        method: 'POST', url: '/case/create', remoteAddress,
        headers: { authorization: `Bearer tok-${who}`, 'idempotency-key': key('rlp') }, payload: { title: `by ${who}` },
      });
      for (const address of ['10.1.0.1', '10.1.0.2', '10.1.0.3']) assert.equal((await as('alice', address)).statusCode, 201);
      const limited = await as('alice', '10.1.0.4');
      assert.equal(limited.statusCode, 429, limited.body);
      assert.equal(limited.json().error.code, 'OPS_RATE_LIMITED');
      assert.equal((await as('bob', '10.1.0.1')).statusCode, 201, 'another principal on the same address is unaffected');
      const unauthenticated = await authed.app.inject({ method: 'POST', url: '/case/create', remoteAddress: '10.1.0.1', headers: { 'idempotency-key': key('rlp') }, payload: { title: 'x' } });
      assert.equal(unauthenticated.statusCode, 401, 'no credential: refused before the limiter counts it');
    } finally {
      await authed.close();
    }
  });

  test('ingest has its own budget per principal', async () => {
    const post = (i: number) => api.app.inject({
      method: 'POST', url: '/ingest/alertmanager', remoteAddress: '10.0.0.9',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      payload: JSON.stringify(alertmanagerBody(`{}:{alertname="RL${i}"}`, [{ alertname: `RL${i}`, labels: { severity: 'warning' } }])),
    });
    for (let i = 0; i < 3; i++) assert.equal((await post(i)).statusCode, 201);
    const limited = await post(3);
    assert.equal(limited.statusCode, 429, limited.body);
    assert.equal(limited.json().error.code, 'OPS_RATE_LIMITED');
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    // The same address still has its write budget: ingest and writes are counted apart.
    assert.equal((await create(api.app, '10.0.0.9')).statusCode, 201);
  });

  test('0 disables a limit', async () => {
    const open = await startLimitedApi({ writesPerMinute: 0, ingestPerMinute: 0 });
    try {
      for (let i = 0; i < 12; i++) assert.equal((await create(open.app, '10.0.0.1')).statusCode, 201);
    } finally {
      await open.close();
    }
  });
});

describe('per-field size limits', () => {
  let api: Api;
  before(async () => { api = await startLimitedApi({ writesPerMinute: 0, ingestPerMinute: 0 }); });
  after(async () => { await api.close(); });

  async function refused(send: () => Promise<{ statusCode: number; body: string }>, field: RegExp): Promise<void> {
    const tables = ['ops_case', 'case_timeline', 'outbox', 'idempotency'];
    const before = await Promise.all(tables.map((t) => count(api.store, t)));
    const res = await send();
    assert.equal(res.statusCode, 400, res.body);
    const body = JSON.parse(res.body);
    assert.equal(body.error.code, 'OPS_VALIDATION');
    assert.match(body.error.message, field);
    assert.deepEqual(await Promise.all(tables.map((t) => count(api.store, t))), before, 'nothing written');
  }
  const hex = (bytes: number) => randomBytes(Math.ceil(bytes / 2)).toString('hex').slice(0, bytes);
  const createWith = (extra: Record<string, unknown>) => () => create(api.app, '10.0.0.1', { title: 'sized', ...extra });

  test('case title, labels (count, key, value, total)', async () => {
    await refused(createWith({ title: 'x'.repeat(201) }), /title: title must be at most 200 characters/);
    await refused(createWith({ labels: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) }), /labels: at most 50 labels, got 51/);
    await refused(createWith({ labels: { ['k'.repeat(101)]: 'v' } }), /labels: label keys must be 1-100 characters, got one of 101/);
    await refused(createWith({ labels: { big: hex(501) } }), /labels\.big: label values must be at most 500 characters/);
    await refused(createWith({ labels: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, hex(450)])) }), /labels: at most 8 KiB as JSON, got \d+ bytes/);
    const ok = await create(api.app, '10.0.0.1', { title: 'x'.repeat(200), labels: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, hex(100)])) });
    assert.equal(ok.statusCode, 201, ok.body);
  });

  test('transition reason, meta and meta.plan', async () => {
    const { case_id: caseId } = await createCase(api.app, { title: 'transition sizes' });
    const send = (body: Record<string, unknown>) => () => transition(api.app, caseId, { event: 'start_analysis', actor: 'analyst@svc', ...body });
    await refused(send({ reason: 'r'.repeat(2001) }), /reason: reason must be at most 2000 characters/);
    await refused(send({ meta: { note: hex(17 * 1024) } }), /meta: at most 16 KiB as JSON besides meta\.plan/);
    const bigPlan = { ...completePlan, steps: [{ ...completePlan.steps[0], params: { script: 'echo-ok', blob: hex(65 * 1024) } }] };
    await refused(send({ meta: { plan: bigPlan } }), /meta\.plan: at most 64 KiB as JSON/);
    const started = await transition(api.app, caseId, { event: 'start_analysis', actor: 'analyst@svc', reason: 'r'.repeat(2000), meta: { note: hex(15 * 1024) } });
    assert.equal(started.statusCode, 200, started.body);
  });

  test('ingest: large incompressible labels are cut, not multiplied into the database', async () => {
    const size = async () => Number((await api.store.db.query<{ n: string }>('SELECT pg_database_size(current_database())::text AS n')).rows[0]!.n);
    const start = await size();
    let rawBytes = 0;
    for (let i = 0; i < 50; i++) {
      // ~900 KB of random label values per request: one alert with many huge labels, and many alerts.
      const huge = Object.fromEntries(Array.from({ length: 90 }, (_, j) => [`l${j}`, hex(5000)]));
      const many = Array.from({ length: 40 }, (_, j) => ({ alertname: `Big${i}`, labels: { severity: 'warning', n: String(j), blob: hex(4000), more: hex(4000) } }));
      const body = alertmanagerBody(`{}:{alertname="Big${i}"}`, [{ alertname: `Big${i}`, labels: { severity: 'warning', ...huge } }, ...many]);
      const text = JSON.stringify(body);
      rawBytes += text.length;
      const res = await api.app.inject({ method: 'POST', url: '/ingest/alertmanager', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, payload: text });
      assert.equal(res.statusCode, 201, res.body.slice(0, 300));
    }
    await api.store.db.query('CHECKPOINT');
    const grown = (await size()) - start;
    const caseRow = (await api.store.db.query<{ labels: Record<string, string> }>(`SELECT labels FROM ops_case WHERE title LIKE 'Big0%'`)).rows[0]!;
    console.log(`# ingest size limits: 50 requests, ${(rawBytes / 1e6).toFixed(1)} MB of incompressible labels sent, database grew ${(grown / 1e6).toFixed(1)} MB`);
    assert.ok(JSON.stringify(caseRow.labels).length <= 8 * 1024 + 1024, 'case labels stay within 8 KiB (+ opsloop\'s own)');
    assert.ok(grown < 60e6, `database grew ${(grown / 1e6).toFixed(1)} MB for ${(rawBytes / 1e6).toFixed(1)} MB sent`);
  });
});

test('open alert cases per route are capped: a group beyond the cap is held with the reason, and opens once a case closes', async () => {
  const api = await startLimitedApi({ writesPerMinute: 0, ingestPerMinute: 0 }, 'off', {
    max_open_cases_per_route: 3,
    rules: [{ name: 'disk', match: { alertname: 'Disk' }, max_open_cases: 1 }],
  });
  try {
    const post = async (name: string, group: string) => {
      const res = await api.app.inject({
        method: 'POST', url: '/ingest/alertmanager', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        payload: JSON.stringify(alertmanagerBody(`{}:{alertname="${name}",g="${group}"}`, [{ alertname: name, labels: { g: group, severity: 'warning' } }])),
      });
      return { status: res.statusCode, data: res.json().data };
    };
    const opened = [];
    for (let i = 0; i < 3; i++) {
      const r = await post('Cpu', `g${i}`);
      assert.equal(r.data.action, 'opened');
      opened.push(r.data.case_id as string);
    }
    const casesBefore = await count(api.store, 'ops_case');
    const held = await post('Cpu', 'g3');
    assert.equal(held.status, 200);
    assert.equal(held.data.action, 'held');
    assert.equal(held.data.held_reason, 'open_case_cap');
    assert.match(held.data.message, /route default of tenant default already has 3 open alert cases/);
    assert.equal(held.data.case_id, null);
    assert.equal(await count(api.store, 'ops_case'), casesBefore, 'no case over the cap');
    // Alerts of an open group still attach (the cap is on new cases only).
    const again = await api.app.inject({
      method: 'POST', url: '/ingest/alertmanager', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      payload: JSON.stringify(alertmanagerBody('{}:{alertname="Cpu",g="g0"}', [{ alertname: 'Cpu', labels: { g: 'g0', severity: 'warning' } }, { alertname: 'Cpu', labels: { g: 'g0', pod: 'p2', severity: 'warning' } }])),
    });
    assert.equal(again.json().data.action, 'attached');
    // A rule is its own route, with its own cap.
    assert.equal((await post('Disk', 'd0')).data.action, 'opened');
    const diskHeld = await post('Disk', 'd1');
    assert.equal(diskHeld.data.held_reason, 'open_case_cap');
    assert.match(diskHeld.data.message, /route rule:disk .* already has 1 open alert cases/);
    // Close one case of the default route: the held group's re-send now opens a case.
    await api.store.db.query(`UPDATE ops_case SET status = 'CLOSED' WHERE id = $1`, [opened[0]]);
    const resent = await post('Cpu', 'g3');
    assert.equal(resent.data.action, 'opened', JSON.stringify(resent.data));
  } finally {
    await api.close();
  }
});
