/**
 * The edge's attacks from issue 11, replayed against a real opsloop (startOpsloop, real HTTP):
 * encoded and re-spelled paths, idempotency-key squatting of opsloop's internal keys, OPSLOOP_AUTH=off
 * off loopback, and the simulator's one-time login.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, ConfigError } from '../../adapters/config/env.js';
import { silentLogger } from '../../adapters/log.js';
import { startOpsloop, type RunningOpsloop } from '../../app/start-opsloop.js';
import { pgliteBackend } from '../../adapters/store/pglite/pglite-backend.js';
import { createSimExtension } from '../../app/extensions/sim.js';
import { createIngestExtension } from '../../app/extensions/ingest.js';
import { ChatHandler } from '../../bot/chat-handler.js';
import { clickIdempotencyKey } from '../../core/chat/actions.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { completePlan, key } from '../http/api-harness.js';
import { expectOk } from '../support/outcomes.js';

const INGEST_TOKEN = 'edge-test-ingest-token-0123456789';
let store: PgliteCaseStore;
let ops: RunningOpsloop;
let admin: Record<string, string>;

before(async () => {
  store = await createTestPgliteStore();
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', OPSLOOP_INGEST_TOKEN: INGEST_TOKEN, OPSLOOP_RATE_LIMIT_WRITES: '0' });
  ops = await startOpsloop(config, {
    backend: pgliteBackend(store), logger: silentLogger(), print: () => {}, relay: { pollMs: 50 },
    extensions: [(ctx) => createIngestExtension(ctx), (ctx) => createSimExtension(ctx)],
  });
  admin = { authorization: `Bearer ${ops.auth.adminToken}` };
});
after(async () => {
  await ops?.close();
  if (store) await cleanupTestPgliteStore(store);
});

async function rawRequest(method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<{ status: number; text: string; headers: Headers }> {
  // fetch keeps the path as written (no normalisation of %-escapes or double slashes).
  const res = await fetch(`${ops.url}${path}`, {
    method, redirect: 'manual',
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

async function counts(): Promise<{ cases: number; timeline: number; outbox: number }> {
  const q = async (t: string) => (await store.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t}`)).rows[0]!.n;
  return { cases: await q('ops_case'), timeline: await q('case_timeline'), outbox: await q('outbox') };
}

/** Spellings of one path that a prefix check on the raw URL would miss. */
function variants(path: string): string[] {
  const [first, ...rest] = path.slice(1).split('/');
  const head = first!;
  const encoded = `%${head.charCodeAt(0).toString(16)}${head.slice(1)}`;
  return [
    path,
    `/${[encoded, ...rest].join('/')}`,
    `/${[head.replace(/^./, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`), ...rest].join('/')}`,
    `/${path}`,
    path.replace(/\//g, '//'),
    `${path}/`,
    `/${[head.toUpperCase(), ...rest].join('/')}`,
    `${path}?x=1`,
    path.replace(/\/([^/]+)$/, '/./$1'),
    `/${[head, ...rest].join('%2F')}`,
  ];
}

describe('route-level auth: encoded, doubled, re-cased and trailing-slash paths', () => {
  test('every protected route of /openapi.json, in every spelling, without a credential: 401 or 404, nothing written', async () => {
    const doc = JSON.parse((await rawRequest('GET', '/openapi.json')).text) as { paths: Record<string, Record<string, unknown>> };
    const id = '00000000-0000-4000-8000-000000000001';
    const publicPaths = new Set(['/', '/healthz', '/openapi.json', '/metrics', '/slack/events', '/discord/interactions']);
    const before = await counts();
    let tried = 0;
    for (const [template, methods] of Object.entries(doc.paths)) {
      if (publicPaths.has(template)) continue;
      const path = template.replace(/\{[^}]+\}/g, id);
      for (const method of Object.keys(methods).map((m) => m.toUpperCase())) {
        for (const spelling of variants(path)) {
          const body = method === 'GET' || method === 'DELETE' ? undefined : { title: 'forged', event: 'gate_approved' };
          const res = await rawRequest(method, spelling, { 'idempotency-key': key('enc') }, body);
          tried += 1;
          assert.ok([401, 404, 400].includes(res.status), `${method} ${spelling} answered ${res.status}: ${res.text.slice(0, 200)}`);
          if (res.status === 400) assert.doesNotMatch(res.text, /"data"/, `${method} ${spelling} returned data`);
        }
      }
    }
    assert.ok(tried > 100, `tried ${tried} requests`);
    assert.deepEqual(await counts(), before, 'nothing was written');
  });

  test('/%69ngest/alertmanager without a token is refused like /ingest/alertmanager; with it, both are the same route', async () => {
    const alert = { version: '4', groupKey: '{}:{alertname="Enc"}', status: 'firing', receiver: 'opsloop', groupLabels: { alertname: 'Enc' }, commonLabels: { alertname: 'Enc', severity: 'critical' }, commonAnnotations: {}, externalURL: 'http://am', alerts: [{ status: 'firing', labels: { alertname: 'Enc', severity: 'critical' }, annotations: {}, startsAt: new Date().toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: 'http://prom', fingerprint: 'enc1' }] };
    const before = await counts();
    for (const path of ['/ingest/alertmanager', '/%69ngest/alertmanager', '/%69ngest%2falertmanager', '/INGEST/alertmanager', '//ingest/alertmanager', '/ingest/alertmanager/']) {
      const res = await rawRequest('POST', path, {}, alert);
      assert.ok(res.status === 401 || res.status === 404, `${path}: ${res.status} ${res.text.slice(0, 200)}`);
    }
    assert.deepEqual(await counts(), before);
    const viaEncoded = await rawRequest('POST', '/%69ngest/alertmanager', { authorization: `Bearer ${INGEST_TOKEN}` }, alert);
    assert.equal(viaEncoded.status, 201, viaEncoded.text);
    const ingestTokenElsewhere = await rawRequest('GET', '/cases', { authorization: `Bearer ${INGEST_TOKEN}` });
    assert.equal(ingestTokenElsewhere.status, 401, 'the ingest token is a credential for /ingest/* only');
  });
});

describe('idempotency keys are scoped: no external principal can squat an internal key', () => {
  test('internal key formats written from outside change nothing for the case that owns them', async () => {
    const created = await rawRequest('POST', '/case/create', { 'idempotency-key': key('own'), ...admin }, { title: 'owner case', service: 'checkout', env: 'prod' });
    const caseId = JSON.parse(created.text).data.case_id as string;
    const internal = [`exec:${caseId}:v5:start`, `exec:${caseId}:v5:final`, `gate:${caseId}`, `fact:${caseId}`, clickIdempotencyKey('sim', caseId, 'gate_approved', 4)];
    for (const squat of internal) {
      const res = await rawRequest('POST', '/case/create', { 'idempotency-key': squat, ...admin }, { title: `squatting ${squat}` });
      assert.equal(res.status, 201, res.text);
    }
    // Drive the owner case to WAIT_GATE at version 4 as the agents would.
    for (const [event, meta] of [['start_analysis', {}], ['analysis_done', {}], ['plan_ready', { plan: completePlan }]] as const) {
      const r = await ops.orchestrator.transition(caseId, { event, actor: 'agent', meta }, { idempotencyKey: key('drive') });
      expectOk(r, 'applied');
    }
    // opsloop's own writes with those keys are not answered by the squatter's stored response.
    const run = await ops.orchestrator.record(caseId, { event: 'exec_started', actor: 'executor', reason: 'run claim' }, { idempotencyKey: `exec:${caseId}:v5:start` });
    expectOk(run, 'created');
    assert.equal(run.replayed, false);
    const final = await ops.orchestrator.record(caseId, { event: 'exec_result', actor: 'executor', reason: 'final' }, { idempotencyKey: `exec:${caseId}:v5:final` });
    assert.equal(final.replayed, false);
    // The real approver's click is answered as a click, not "Already approved".
    const decision = { decision: 'needs_human', reasons: ['prod'], matched_rules: ['prod'], approvers: { slack_users: [], slack_groups: [], discord_roles: [], users: [], sim_users: ['sim-lead'] } };
    await ops.orchestrator.record(caseId, { event: 'gate_decision', actor: 'gatekeeper', meta: { decision }, requireStatus: ['WAIT_GATE'] }, { idempotencyKey: key('gd') });
    const c = (await store.queries.getCase(caseId))!;
    assert.equal(c.version, 4);
    const chat = new ChatHandler({ orchestrator: ops.orchestrator, queries: store.queries });
    const reply = await chat.handleAction({ case_id: caseId, event: 'gate_approved', version: 4 }, { platform: 'sim', id: 'sim-lead' });
    assert.match(reply.text, /You approved the plan/);
  });

  test('the same key from two principals never collides', async () => {
    const { TEST_USERS } = await import('../support/auth.js');
    const shared = key('shared');
    const a = await ops.orchestrator.createCase({ title: 'from alice' }, { idempotencyKey: shared, principal: TEST_USERS.alice.principal });
    const b = await ops.orchestrator.createCase({ title: 'from carol' }, { idempotencyKey: shared, principal: TEST_USERS.carol.principal });
    expectOk(a, 'created');
    expectOk(b, 'created');
    assert.equal(b.replayed, false);
    assert.notEqual(expectOk(a).case_id, expectOk(b).case_id);
  });
});

describe('secure by default', () => {
  test('OPSLOOP_AUTH=off is refused unless bound to loopback', async () => {
    const config = loadConfig({ PORT: '0', HOST: '0.0.0.0', LOG_LEVEL: 'silent', OPSLOOP_AUTH: 'off' });
    const other = await createTestPgliteStore();
    try {
      await assert.rejects(startOpsloop(config, { backend: pgliteBackend(other), logger: silentLogger(), print: () => {}, extensions: [] }),
        (err: unknown) => err instanceof ConfigError && /loopback/.test(err.message));
    } finally {
      await cleanupTestPgliteStore(other);
    }
  });

  test('the simulator needs the one-time login link; the link works once and sets an HttpOnly cookie', async () => {
    const page = await rawRequest('GET', '/sim', { accept: 'text/html' });
    assert.equal(page.status, 401);
    assert.match(page.text, /login link/);
    const api = await rawRequest('POST', '/sim/api/command', {}, { user: 'alice', text: '/ops open "x"' });
    assert.equal(api.status, 401);
    const link = ops.auth.loginPath('/sim');
    const login = await rawRequest('GET', link);
    assert.equal(login.status, 303);
    assert.equal(login.headers.get('location'), '/sim');
    const cookie = login.headers.get('set-cookie') ?? '';
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const session = cookie.split(';')[0]!;
    const withSession = await rawRequest('GET', '/sim', { cookie: session, accept: 'text/html' });
    assert.equal(withSession.status, 200);
    const reused = await rawRequest('GET', link);
    assert.equal(reused.status, 401, 'a login code works once');
    const offsite = await rawRequest('GET', ops.auth.loginPath('//evil.example/'));
    assert.equal(offsite.headers.get('location'), '/sim', 'no open redirect');
  });
});
