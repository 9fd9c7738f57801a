import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { METRIC_NAMES } from '../../adapters/metrics/prom-metrics.js';
import { testAuth, ADMIN_HEADERS } from '../support/auth.js';
import { HAPPY_PATH, writeGateNote, advance, completePlan, counterValue, createCase, key, startApi, transition, type ApiHarness } from './api-harness.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MISSING = '00000000-0000-4000-8000-000000000000';

let h: ApiHarness;
before(async () => {
  h = await startApi({ bodyLimit: 16 * 1024 });
});
after(async () => {
  await h?.close();
});

async function timelineOf(caseId: string): Promise<Array<Record<string, unknown>>> {
  const res = await h.app.inject({ method: 'GET', url: `/case/${caseId}/timeline` });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().data;
}

async function caseOf(caseId: string): Promise<Record<string, unknown>> {
  const res = await h.app.inject({ method: 'GET', url: `/case/${caseId}` });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().data;
}

function assertError(res: { statusCode: number; json(): any; headers: Record<string, unknown> }, status: number, code: string): any {
  assert.equal(res.statusCode, status, `expected ${status} ${code}, got ${res.statusCode}`);
  assert.match(String(res.headers['content-type']), /application\/json/);
  const body = res.json();
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, 'string');
  assert.ok('details' in body.error);
  assert.deepEqual(Object.keys(body), ['error']);
  return body.error;
}

describe('cases', () => {
  test('POST /case/create → 201 with the case in NEW, version 1', async () => {
    const res = await h.app.inject({
      method: 'POST', url: '/case/create', headers: { 'idempotency-key': key() },
      payload: { title: 'p95 spike', tenant: 't-001', severity: 2, service: 'checkout-api', env: 'prod' },
    });
    assert.equal(res.statusCode, 201, res.body);
    const data = res.json().data;
    assert.match(data.case_id, UUID);
    assert.equal(data.status, 'NEW');
    assert.equal(data.version, 1);
    assert.equal(data.title, 'p95 spike');
    assert.equal(data.tenant, 't-001');
    assert.equal(data.severity, 2);
    assert.equal(data.service, 'checkout-api');
    assert.equal(res.headers.location, `/case/${data.case_id}`);
    assert.equal(res.headers.etag, '"1"');
    assert.equal(res.headers['idempotent-replayed'], undefined);
  });

  test('GET /case/:id and /timeline return the stored case and its history', async () => {
    const created = await createCase(h.app);
    const got = await caseOf(created.case_id);
    assert.deepEqual(got, created);
    const timeline = await timelineOf(created.case_id);
    assert.equal(timeline.length, 1);
    assert.equal(timeline[0]!.kind, 'created');
    assert.equal(timeline[0]!.to_status, 'NEW');
  });

  test('the whole walk NEW → CLOSED by hand', async () => {
    const { case_id } = await createCase(h.app);
    let version = 1;
    for (const step of HAPPY_PATH) {
      if (step.event === 'gate_approved') await writeGateNote(h.orchestrator, case_id, ['token:bob']);
      const res = await transition(h.app, case_id, {
        event: step.event, ...(step.override ? { override: true, reason: 'driven by hand' } : {}), ...(step.meta ? { meta: step.meta } : {}),
      }, { 'if-match': `"${version}"`, ...step.as.headers });
      assert.equal(res.statusCode, 200, `${step.event}: ${res.body}`);
      const data = res.json().data;
      version += 1;
      assert.equal(data.status, step.to);
      assert.equal(data.version, version);
      assert.equal(data.event, step.event);
      assert.equal(res.headers.etag, `"${version}"`);
    }
    const closed = await caseOf(case_id);
    assert.equal(closed.status, 'CLOSED');
    assert.equal(closed.version, 7);
    assert.match(String(closed.plan_id), UUID);
    const timeline = (await timelineOf(case_id)).filter((e) => e.kind !== 'note');
    assert.deepEqual(timeline.map((e) => e.event), ['case_created', ...HAPPY_PATH.map((s) => s.event)]);
    assert.deepEqual(timeline.map((e) => e.actor).slice(1), HAPPY_PATH.map((s) => s.actor));
    for (const entry of timeline) assert.ok(entry.trace_id, 'every entry carries a trace id');
  });

  test('GET /cases lists cases, filtered by status', async () => {
    const { case_id } = await createCase(h.app, { title: 'list me' });
    await advance(h.app, case_id, 1);
    const res = await h.app.inject({ method: 'GET', url: '/cases?status=ANALYZING&limit=100' });
    assert.equal(res.statusCode, 200);
    const cases = res.json().data as Array<{ case_id: string; status: string }>;
    assert.ok(cases.some((c) => c.case_id === case_id));
    assert.ok(cases.every((c) => c.status === 'ANALYZING'));
    assertError(await h.app.inject({ method: 'GET', url: '/cases?status=BOGUS' }), 400, 'OPS_VALIDATION');
    assertError(await h.app.inject({ method: 'GET', url: '/cases?limit=0' }), 400, 'OPS_VALIDATION');
  });
});

describe('refusals', () => {
  test('illegal transition → 409, nothing written', async () => {
    const { case_id } = await createCase(h.app);
    const res = await transition(h.app, case_id, { event: 'exec_done', actor: 'executor@svc' });
    const error = assertError(res, 409, 'OPS_ILLEGAL_TRANSITION');
    assert.deepEqual(error.details.allowed, ['start_analysis']);
    const after = await caseOf(case_id);
    assert.equal(after.status, 'NEW');
    assert.equal(after.version, 1);
    assert.equal((await timelineOf(case_id)).length, 1);
  });

  test('guard: plan_ready with an incomplete plan → 422, status and version unchanged, a timeline note', async () => {
    const { case_id } = await createCase(h.app);
    await advance(h.app, case_id, 2);
    const before = await caseOf(case_id);
    const { steps: _steps, ...withoutSteps } = completePlan;
    const res = await transition(h.app, case_id, { event: 'plan_ready', override: true, reason: 'by hand', meta: { plan: withoutSteps } });
    const error = assertError(res, 422, 'OPS_GUARD_FAILED');
    assert.ok(error.details.issues.some((i: { path: string }) => i.path.startsWith('meta.plan.steps')), JSON.stringify(error.details));
    const after = await caseOf(case_id);
    assert.equal(after.status, 'PLANNING');
    assert.equal(after.version, before.version);
    const last = (await timelineOf(case_id)).at(-1)!;
    assert.equal(last.kind, 'rejected');
    assert.equal(last.event, 'plan_ready');
  });

  test('If-Match mismatch → 412; expected_version mismatch → 409; both forms of If-Match accepted', async () => {
    const { case_id } = await createCase(h.app);
    assertError(await transition(h.app, case_id, { event: 'start_analysis', actor: 'a' }, { 'if-match': '"7"' }), 412, 'OPS_PRECONDITION_FAILED');
    assertError(await transition(h.app, case_id, { event: 'start_analysis', actor: 'a', expected_version: 4 }), 409, 'OPS_VERSION_CONFLICT');
    assertError(await transition(h.app, case_id, { event: 'start_analysis', actor: 'a' }, { 'if-match': 'v1' }), 400, 'OPS_BAD_IF_MATCH');
    assertError(await transition(h.app, case_id, { event: 'start_analysis', actor: 'a', expected_version: 2 }, { 'if-match': '1' }), 400, 'OPS_VALIDATION');
    assert.equal((await caseOf(case_id)).version, 1);
    const ok = await transition(h.app, case_id, { event: 'start_analysis', actor: 'a' }, { 'if-match': 'W/"1"' });
    assert.equal(ok.statusCode, 200, ok.body);
    const ok2 = await transition(h.app, case_id, { event: 'analysis_done', override: true, reason: 'by hand' }, { 'if-match': '2' });
    assert.equal(ok2.statusCode, 200, ok2.body);
  });

  test('writes without Idempotency-Key → 400, nothing written', async () => {
    const { case_id } = await createCase(h.app);
    const count = async () => (await h.app.inject({ method: 'GET', url: '/cases?limit=500' })).json().data.length;
    const before = await count();
    assertError(await h.app.inject({ method: 'POST', url: '/case/create', payload: { title: 'no key' } }), 400, 'OPS_IDEMPOTENCY_KEY_MISSING');
    assert.equal(await count(), before);
    assertError(await h.app.inject({ method: 'PATCH', url: `/case/${case_id}/transition`, payload: { event: 'start_analysis', actor: 'a' } }), 400, 'OPS_IDEMPOTENCY_KEY_MISSING');
    assertError(await h.app.inject({ method: 'PATCH', url: `/case/${case_id}/transition`, headers: { 'idempotency-key': '' }, payload: { event: 'start_analysis', actor: 'a' } }), 400, 'OPS_IDEMPOTENCY_KEY_MISSING');
    assertError(await h.app.inject({ method: 'PATCH', url: `/case/${case_id}/transition`, headers: { 'idempotency-key': 'has space' }, payload: { event: 'start_analysis', actor: 'a' } }), 400, 'OPS_VALIDATION');
    assert.equal((await caseOf(case_id)).version, 1);
  });

  test('replay: same key and body → first status and body, Idempotent-Replayed: true, one transition', async () => {
    const { case_id } = await createCase(h.app);
    const headers = { 'idempotency-key': key('replay') };
    const first = await transition(h.app, case_id, { event: 'start_analysis', actor: 'a' }, headers);
    const second = await transition(h.app, case_id, { event: 'start_analysis', actor: 'a' }, headers);
    assert.equal(first.statusCode, 200);
    assert.equal(second.statusCode, 200);
    assert.equal(second.headers['idempotent-replayed'], 'true');
    assert.equal(first.headers['idempotent-replayed'], undefined);
    assert.deepEqual(second.json(), first.json());
    assert.equal((await caseOf(case_id)).version, 2);
    assert.equal((await timelineOf(case_id)).length, 2);

    const createHeaders = { 'idempotency-key': key('create-replay') };
    const c1 = await h.app.inject({ method: 'POST', url: '/case/create', headers: createHeaders, payload: { title: 'once' } });
    const c2 = await h.app.inject({ method: 'POST', url: '/case/create', headers: createHeaders, payload: { title: 'once' } });
    assert.equal(c2.statusCode, 201);
    assert.equal(c2.headers['idempotent-replayed'], 'true');
    assert.deepEqual(c2.json(), c1.json());
  });

  test('a refusal is replayed too: the same key answers the same 422 again', async () => {
    const { case_id } = await createCase(h.app);
    await advance(h.app, case_id, 2);
    const headers = { 'idempotency-key': key('guard-replay') };
    const body = { event: 'plan_ready', override: true, reason: 'by hand', meta: { plan: { title: 'x' } } };
    const first = await transition(h.app, case_id, body, headers);
    const second = await transition(h.app, case_id, body, headers);
    assert.equal(first.statusCode, 422);
    assert.equal(second.statusCode, 422);
    assert.equal(second.headers['idempotent-replayed'], 'true');
    assert.deepEqual(second.json(), first.json());
  });

  test('same key, different body → 422 OPS_IDEMPOTENCY_KEY_REUSED', async () => {
    const { case_id } = await createCase(h.app);
    const headers = { 'idempotency-key': key('reuse') };
    assert.equal((await transition(h.app, case_id, { event: 'start_analysis', actor: 'a' }, headers)).statusCode, 200);
    assertError(await transition(h.app, case_id, { event: 'start_analysis', reason: 'another reason' }, headers), 422, 'OPS_IDEMPOTENCY_KEY_REUSED');
    assert.equal((await caseOf(case_id)).version, 2);
  });

  test('bad input never gives 500: bad JSON 400, oversized 413, wrong type 415, invalid body 400', async () => {
    const { case_id } = await createCase(h.app);
    const url = `/case/${case_id}/transition`;
    const json = { 'content-type': 'application/json', 'idempotency-key': key() };
    assertError(await h.app.inject({ method: 'PATCH', url, headers: json, payload: '{"event": "start_analysis",' }), 400, 'OPS_BAD_JSON');
    assertError(await h.app.inject({ method: 'POST', url: '/case/create', headers: json, payload: 'not json' }), 400, 'OPS_BAD_JSON');
    const huge = JSON.stringify({ title: 'x', labels: { big: 'y'.repeat(20 * 1024) } });
    assertError(await h.app.inject({ method: 'POST', url: '/case/create', headers: json, payload: huge }), 413, 'OPS_PAYLOAD_TOO_LARGE');
    assertError(await h.app.inject({ method: 'POST', url: '/case/create', headers: { 'content-type': 'text/plain', 'idempotency-key': key() }, payload: 'title=x' }), 415, 'OPS_UNSUPPORTED_MEDIA_TYPE');
    assertError(await h.app.inject({ method: 'POST', url: '/case/create', headers: { 'content-type': 'application/x-www-form-urlencoded', 'idempotency-key': key() }, payload: 'title=x' }), 415, 'OPS_UNSUPPORTED_MEDIA_TYPE');
    const invalid = assertError(await h.app.inject({ method: 'POST', url: '/case/create', headers: json, payload: { title: '', severity: 9 } }), 400, 'OPS_VALIDATION');
    assert.deepEqual(invalid.details.map((d: { path: string }) => d.path).sort(), ['severity', 'title']);
    assertError(await h.app.inject({ method: 'POST', url: '/case/create', headers: json, payload: '{"title":"a\\u0000b"}' }), 400, 'OPS_VALIDATION');
    // lone UTF-16 surrogates cannot be stored (PostgreSQL's jsonb refuses them): 400, not 500
    const lone = assertError(await h.app.inject({ method: 'POST', url: '/case/create', headers: json, payload: '{"title":"\\ud800","tenant":"t"}' }), 400, 'OPS_VALIDATION');
    assert.match(lone.message, /well-formed Unicode/);
    assertError(await h.app.inject({ method: 'POST', url: '/case/create', headers: json, payload: '{"title":"x","labels":{"\\udc00":"v"}}' }), 400, 'OPS_VALIDATION');
    assertError(await h.app.inject({ method: 'POST', url: '/case/create', headers: json, payload: '{"title":"x","labels":{"\\u0000":"v"}}' }), 400, 'OPS_VALIDATION');
    const pair = await h.app.inject({ method: 'POST', url: '/case/create', headers: { ...json, 'idempotency-key': key() }, payload: '{"title":"disk \\ud83d\\udd25 full"}' });
    assert.equal(pair.statusCode, 201, 'a proper surrogate pair (an emoji) is fine');
    assert.equal(pair.json().data.title, 'disk 🔥 full');
    assertError(await h.app.inject({ method: 'POST', url: '/case/create', headers: json, payload: '{"title":"x","__proto__":{"admin":true}}' }), 400, 'OPS_VALIDATION');
    assertError(await h.app.inject({ method: 'POST', url: '/case/create', headers: json, payload: '[]' }), 400, 'OPS_VALIDATION');
    assertError(await h.app.inject({ method: 'POST', url: '/case/create', headers: json }), 400, 'OPS_VALIDATION');
    assertError(await h.app.inject({ method: 'PATCH', url, headers: json, payload: { event: 'explode', actor: 'a' } }), 400, 'OPS_VALIDATION');
    assert.equal((await caseOf(case_id)).version, 1);
  });

  test('unknown case → 404 OPS_CASE_NOT_FOUND; malformed id → 400; unknown route → 404 OPS_NOT_FOUND', async () => {
    assertError(await h.app.inject({ method: 'GET', url: `/case/${MISSING}` }), 404, 'OPS_CASE_NOT_FOUND');
    assertError(await h.app.inject({ method: 'GET', url: `/case/${MISSING}/timeline` }), 404, 'OPS_CASE_NOT_FOUND');
    assertError(await transition(h.app, MISSING, { event: 'start_analysis', actor: 'a' }), 404, 'OPS_CASE_NOT_FOUND');
    assertError(await h.app.inject({ method: 'GET', url: '/case/42' }), 400, 'OPS_VALIDATION');
    assertError(await h.app.inject({ method: 'GET', url: '/no/such/route' }), 404, 'OPS_NOT_FOUND');
    assertError(await h.app.inject({ method: 'DELETE', url: `/case/${MISSING}` }), 404, 'OPS_NOT_FOUND');
  });
});

describe('operations', () => {
  test('/healthz answers 200 with the store and the outbox backlog', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.status, 'ok');
    assert.equal(body.store, 'pglite');
    assert.equal(typeof body.outbox_backlog, 'number');
    assert.ok(body.outbox_backlog > 0, 'no relay runs here, so created cases leave messages in the outbox');
  });

  test('/metrics has the design\'s metric names and counts a transition, a conflict and a replay', async () => {
    const { case_id } = await createCase(h.app);
    const series = 'case_transition_total{from="NEW",to="ANALYZING",event="start_analysis"}';
    const scrape = async () => (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
    const before = await scrape();
    for (const name of METRIC_NAMES) assert.match(before, new RegExp(`^# TYPE ${name} `, 'm'), `${name} is exported`);
    assert.match(before, /^process_cpu_user_seconds_total /m, 'default process metrics');
    const headers = { 'idempotency-key': key('metrics') };
    await transition(h.app, case_id, { event: 'start_analysis', actor: 'a' }, headers);
    await transition(h.app, case_id, { event: 'start_analysis', actor: 'a' }, headers);
    await transition(h.app, case_id, { event: 'start_analysis', actor: 'a' });
    const res = await h.app.inject({ method: 'GET', url: '/metrics' });
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    const afterText = res.body;
    assert.equal(counterValue(afterText, series), counterValue(before, series) + 1);
    assert.equal(counterValue(afterText, 'idempotent_replay_total'), counterValue(before, 'idempotent_replay_total') + 1);
    assert.equal(counterValue(afterText, 'conflict_total{reason="409"}'), counterValue(before, 'conflict_total{reason="409"}') + 1);
    assert.ok(counterValue(afterText, 'outbox_backlog') > 0);
  });

  test('/openapi.json is OpenAPI 3.1 covering every route, body, header and the error shape', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(res.statusCode, 200);
    const doc = res.json();
    assert.equal(doc.openapi, '3.1.0');
    assert.equal(doc.info.title, 'opsloop');
    const expected: Array<[string, string]> = [
      ['post', '/case/create'], ['get', '/case/{id}'], ['get', '/case/{id}/timeline'], ['patch', '/case/{id}/transition'],
      ['get', '/cases'], ['get', '/metrics'], ['get', '/healthz'], ['get', '/openapi.json'], ['get', '/'],
    ];
    for (const [method, path] of expected) {
      const op = doc.paths[path]?.[method];
      assert.ok(op, `${method} ${path} is documented`);
      assert.ok(Object.keys(op.responses).length > 0);
      assert.ok(h.app.hasRoute({ method: method.toUpperCase() as 'GET', url: path.replace('{id}', ':id') }), `${method} ${path} is served`);
    }
    const patch = doc.paths['/case/{id}/transition'].patch;
    const params = Object.fromEntries(patch.parameters.map((p: { name: string; in: string; required: boolean }) => [`${p.in}:${p.name}`, p.required]));
    assert.equal(params['path:id'], true);
    assert.equal(params['header:idempotency-key'], true);
    assert.equal(params['header:if-match'], false);
    const body = patch.requestBody.content['application/json'].schema;
    assert.deepEqual(body.required.sort(), ['event']);
    assert.ok(body.properties.event.enum.includes('plan_ready'));
    for (const status of ['400', '404', '409', '412', '422']) {
      assert.equal(patch.responses[status].content['application/json'].schema.$ref, '#/components/schemas/Error');
    }
    assert.deepEqual(doc.components.schemas.Error.required, ['error']);
    assert.ok(doc.components.schemas.ChangePlan.properties.steps);
    const create = doc.paths['/case/create'].post;
    assert.ok(create.requestBody.content['application/json'].schema.properties.title);
    assert.ok(create.responses['201'].content['application/json'].schema.properties.data);
    const list = doc.paths['/cases'].get;
    assert.deepEqual(list.parameters.map((p: { name: string }) => p.name).sort(), ['limit', 'status']);
  });
});

describe('plugins', () => {
  test('a plugin route is mounted, documented, and its crash is a 500 OPS_INTERNAL without a stack trace', async () => {
    const { z } = await import('zod');
    const api = await startApi({
      plugins: [async (_app, http) => {
        http.route({ method: 'GET', path: '/boom', summary: 'always fails', responses: { 500: { description: 'boom' } } }, async () => {
          throw new Error('secret internals at /srv/app.ts:12');
        });
        http.route({ method: 'POST', path: '/echo', summary: 'echo', body: z.object({ n: z.number() }), responses: { 200: { description: 'echo', schema: z.object({ n: z.number() }) } } }, async (request, reply) => reply.send(request.body));
      }],
    });
    try {
      const res = await api.app.inject({ method: 'GET', url: '/boom' });
      const error = assertError(res, 500, 'OPS_INTERNAL');
      assert.equal(error.details, null);
      assert.doesNotMatch(res.body, /secret internals|app\.ts|at /);
      const echo = await api.app.inject({ method: 'POST', url: '/echo', payload: { n: 3 } });
      assert.deepEqual(echo.json(), { n: 3 });
      assertError(await api.app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload: '{' }), 400, 'OPS_BAD_JSON');
      const doc = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json();
      assert.ok(doc.paths['/boom'].get);
      assert.ok(doc.paths['/echo'].post.requestBody);
    } finally {
      await api.close();
    }
  });
});

describe('store outage', () => {
  test('/healthz → 503 when the PostgreSQL server cannot be reached', async () => {
    const { buildServer } = await import('../../adapters/http/server.js');
    const { createPostgresCaseStore } = await import('../../adapters/store/postgres/postgres-case-store.js');
    const { silentLogger } = await import('../../adapters/log.js');
    const { PromMetrics } = await import('../../adapters/metrics/prom-metrics.js');
    const { Orchestrator } = await import('../../core/orchestrator/orchestrator.js');
    const { systemClock, uuidGen } = await import('../../adapters/system-clock.js');
    // Port 1 on loopback: nothing listens there, so every connection is refused.
    const store = createPostgresCaseStore({ url: 'postgres://postgres@127.0.0.1:1/none' });
    const metrics = new PromMetrics({ defaultMetrics: false });
    const app = buildServer({ orchestrator: new Orchestrator({ store, clock: systemClock, ids: uuidGen, metrics }), store, metrics, logger: silentLogger(), auth: testAuth() });
    try {
      const error = assertError(await app.inject({ method: 'GET', url: '/healthz' }), 503, 'OPS_STORE_UNAVAILABLE');
      assert.equal(error.details.store, 'postgres');
      assertError(await app.inject({ method: 'POST', url: '/case/create', headers: { 'idempotency-key': key(), ...ADMIN_HEADERS }, payload: { title: 'x' } }), 503, 'OPS_STORE_UNAVAILABLE');
    } finally {
      await app.close();
      await store.close();
    }
  });

  test('/healthz → 503 and writes → 503 OPS_STORE_UNAVAILABLE once the store is closed', async () => {
    const api = await startApi();
    try {
      const { case_id } = await createCase(api.app);
      await api.store.close();
      assertError(await api.app.inject({ method: 'GET', url: '/healthz' }), 503, 'OPS_STORE_UNAVAILABLE');
      assertError(await transition(api.app, case_id, { event: 'start_analysis', actor: 'a' }), 503, 'OPS_STORE_UNAVAILABLE');
      assertError(await api.app.inject({ method: 'GET', url: `/case/${case_id}` }), 503, 'OPS_STORE_UNAVAILABLE');
    } finally {
      await api.close();
    }
  });
});
