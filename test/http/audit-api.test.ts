import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { auditRoutes } from '../../adapters/http/audit-routes.js';
import type { ApiRouteDoc } from '../../adapters/http/openapi.js';
import { HAPPY_PATH, startApi, type ApiHarness } from './api-harness.js';
import { expectOk } from '../support/outcomes.js';

/*
 * The audit routes on the real HTTP server. Cases are written through the Orchestrator (as its
 * agents do), so these tests only depend on the routes under test.
 */

let api: ApiHarness;
before(async () => { api = await startApi(); });
after(async () => { await api?.close(); });

async function createCase(title = 'p95 spike'): Promise<{ case_id: string }> {
  const result = await api.orchestrator.createCase({ title, tenant: 't-001' }, { idempotencyKey: randomUUID(), actor: 'tester' });
  return expectOk(result, 'created');
}

/** The first `steps` events of the happy path, sent as opsloop's own agents send them. */
async function advance(caseId: string, steps: number): Promise<void> {
  for (const step of HAPPY_PATH.slice(0, steps)) {
    const result = await api.orchestrator.transition(caseId, { event: step.event as never, actor: step.actor, ...(step.meta ? { meta: step.meta } : {}) }, { idempotencyKey: randomUUID() });
    expectOk(result, 'applied');
  }
}

async function audit(caseId: string) {
  const res = await api.app.inject({ method: 'GET', url: `/case/${caseId}/audit` });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().data as { case_id: string; ok: boolean; checked: number; first_broken: { id: number; index: number; reason: string } | null };
}

test('GET /case/{id}/audit: intact after the loop, the first broken entry after a direct UPDATE', async () => {
  const { case_id: caseId } = await createCase();
  await advance(caseId, 6);
  assert.deepEqual(await audit(caseId), { case_id: caseId, ok: true, checked: 7, first_broken: null });

  const timeline = await api.store.queries.listTimeline(caseId);
  const approved = timeline.find((e) => e.event === 'gate_approved')!;
  await api.store.runSql((q) => q.query(`UPDATE case_timeline SET meta = meta || '{"approved_by":"cto"}'::jsonb WHERE id = $1`, [approved.id]));
  const broken = await audit(caseId);
  assert.equal(broken.ok, false);
  assert.equal(broken.first_broken?.id, approved.id);
  assert.equal(broken.first_broken?.index, timeline.indexOf(approved));
  assert.equal(broken.checked, timeline.indexOf(approved));
});

test('GET /case/{id}/audit: 404 for an unknown case, 400 for a malformed id', async () => {
  const missing = await api.app.inject({ method: 'GET', url: '/case/00000000-0000-4000-8000-000000000000/audit' });
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json().error.code, 'OPS_CASE_NOT_FOUND');
  assert.equal((await api.app.inject({ method: 'GET', url: '/case/nope/audit' })).statusCode, 400);
});

test('GET /audit/export: the entries of the range as JSON lines with their hashes', async () => {
  const from = new Date();
  const a = await createCase('export a');
  await advance(a.case_id, 2);
  const b = await createCase('export b');
  const to = new Date(Date.now() + 1);
  const res = await api.app.inject({ method: 'GET', url: `/audit/export?from=${from.toISOString()}&to=${to.toISOString()}` });
  assert.equal(res.statusCode, 200, res.body);
  assert.match(String(res.headers['content-type']), /^application\/x-ndjson/);
  assert.ok(res.body.endsWith('\n'));
  const lines = res.body.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.deepEqual(lines.map((l) => [l.case_id, l.event]), [
    [a.case_id, 'case_created'], [a.case_id, 'start_analysis'], [a.case_id, 'analysis_done'], [b.case_id, 'case_created'],
  ]);
  for (const line of lines) {
    assert.match(String(line.hash), /^[0-9a-f]{64}$/);
    assert.ok(Date.parse(String(line.created_at)) >= from.getTime());
  }
  assert.equal(lines[1]!.prev_hash, lines[0]!.hash);

  const empty = await api.app.inject({ method: 'GET', url: '/audit/export?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z' });
  assert.equal(empty.statusCode, 200);
  assert.equal(empty.body, '');
  const reversed = await api.app.inject({ method: 'GET', url: `/audit/export?from=${to.toISOString()}&to=${from.toISOString()}` });
  assert.equal(reversed.statusCode, 400);
  assert.equal((await api.app.inject({ method: 'GET', url: '/audit/export?from=yesterday&to=today' })).statusCode, 400);
});

test('the audit routes are in /openapi.json and need audit.read', async () => {
  const doc = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
  assert.ok(doc.paths['/case/{id}/audit']?.get);
  assert.ok(doc.paths['/audit/export']?.get);
  const declared: ApiRouteDoc[] = [];
  await auditRoutes(api.store.queries)(api.app, { app: api.app, route: (d) => { declared.push(d); }, describe: (d) => { declared.push(d); } });
  assert.deepEqual(declared.map((d) => [d.path, d.auth]), [['/case/{id}/audit', 'audit.read'], ['/audit/export', 'audit.read']]);
});
