/**
 * Every route × the role it needs, over real HTTP on the whole default app (agents, knowledge,
 * ingest, simulator). The table below is the matrix: a route that /openapi.json lists and the
 * table does not (a new route, e.g. `POST /sim/api/as`) fails the coverage test until someone decides
 * who may call it; a route whose declared action drifts from the table fails too. Then each route is
 * probed: no credential → 401 (unless public), a token one role short → 403, the needed role gets
 * past authorization (its answer may be 400/404 for the empty request, never 401/403).
 * Event-level rules of PATCH /case/{id}/transition are the event matrix (authz-matrix.test.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiToken } from '../../adapters/auth/api-tokens.js';
import { loadConfig } from '../../adapters/config/env.js';
import { silentLogger } from '../../adapters/log.js';
import { pgliteBackend } from '../../adapters/store/pglite/pglite-backend.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { startOpsloop, type RunningOpsloop } from '../../app/start-opsloop.js';
import { ACTION_ROLES } from '../../core/auth/permissions.js';
import { ROLES, type Role } from '../../core/auth/principal.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';

type Need = 'public' | Role;

/** Who may call each route: the least role, or public. */
const ROUTES: Record<string, Need> = {
  'GET /': 'public',
  'GET /healthz': 'public',
  'GET /openapi.json': 'public',
  'GET /metrics': 'viewer', // with OPSLOOP_METRICS_PUBLIC=false, as here; public by default (for Prometheus)
  'GET /schemas/events.json': 'viewer',
  'POST /case/create': 'responder',
  'GET /case/{id}': 'viewer',
  'GET /case/{id}/timeline': 'viewer',
  'GET /case/{id}/evidence': 'viewer',
  'GET /case/{id}/replay': 'viewer',
  'GET /case/{id}/report': 'viewer',
  'PATCH /case/{id}/transition': 'viewer',
  'GET /cases': 'viewer',
  'GET /case/{id}/audit': 'viewer',
  'GET /audit/export': 'viewer',
  'POST /auth/tokens': 'admin',
  'GET /auth/tokens': 'admin',
  'DELETE /auth/tokens/{id}': 'admin',
  'GET /kb/search': 'viewer',
  'GET /kb/doc/{id}': 'viewer',
  'POST /plan/generate': 'responder',
  'POST /gate/eval': 'responder',
  'POST /adapter/exec': 'responder',
  'POST /verify/run': 'responder',
  'POST /ingest/alertmanager': 'responder',
  'POST /ingest/grafana': 'responder',
  'GET /sim': 'viewer',
  'GET /sim/api/state': 'viewer',
  'POST /sim/api/as': 'responder',
  'POST /sim/api/command': 'responder',
  'POST /sim/api/action': 'responder',
  'POST /sim/api/reject': 'responder',
  'POST /silences': 'responder',
  'GET /silences': 'viewer',
  'POST /silences/{id}/expire': 'responder',
  // MCP: reading needs a viewer; each tool that writes is checked again by the Orchestrator (test/mcp).
  'POST /mcp': 'viewer',
  'GET /mcp': 'viewer',
  'DELETE /mcp': 'viewer',
};

let store: PgliteCaseStore;
let ops: RunningOpsloop;
let dir: string;
const bearer: Partial<Record<Role, string>> = {};
let documented: Map<string, string>;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'opsloop-route-matrix-'));
  store = await createTestPgliteStore();
  ops = await startOpsloop(loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', OPSLOOP_DATA_DIR: dir, OPSLOOP_METRICS_PUBLIC: 'false' }), {
    backend: pgliteBackend(store), logger: silentLogger(), print: () => {},
  });
  for (const role of ROLES) {
    bearer[role] = (await createApiToken(ops.backend.tokens, { name: `matrix-${role}`, role, createdBy: 'route-matrix' })).secret;
  }
  const doc = await (await fetch(`${ops.url}/openapi.json`)).json() as { paths: Record<string, Record<string, { 'x-opsloop-auth': string }>> };
  documented = new Map(Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => [`${method.toUpperCase()} ${path}`, op['x-opsloop-auth']] as const)));
});
after(async () => {
  await ops?.close();
  if (store) await cleanupTestPgliteStore(store);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The role the declared action needs, as the table writes it. */
function needOf(action: string): Need {
  if (action === 'public' || action === 'self') return 'public';
  return ACTION_ROLES[action as keyof typeof ACTION_ROLES];
}

async function call(route: string, role: Role | null): Promise<number> {
  const [method, path] = route.split(' ') as [string, string];
  const url = ops.url + path.replace('{id}', '00000000-0000-4000-8000-000000000000') + (path === '/kb/search' ? '?q=disk' : '');
  const res = await fetch(url, {
    method,
    headers: { ...(role ? { authorization: `Bearer ${bearer[role]}` } : {}), ...(method === 'GET' || method === 'DELETE' ? {} : { 'content-type': 'application/json' }) },
    ...(method === 'GET' || method === 'DELETE' ? {} : { body: '{}' }),
  });
  await res.arrayBuffer();
  return res.status;
}

describe('every route has a row, and the row is what the route declares', () => {
  test('the documented routes are exactly the table', () => {
    const missing = [...documented.keys()].filter((r) => !(r in ROUTES));
    const gone = Object.keys(ROUTES).filter((r) => !documented.has(r));
    assert.deepEqual(missing, [], `routes without a row in the matrix: ${missing.join(', ')}`);
    assert.deepEqual(gone, [], `rows for routes that no longer exist: ${gone.join(', ')}`);
  });

  test('each route declares the action the table expects', () => {
    for (const [route, action] of documented) assert.equal(needOf(action), ROUTES[route], `${route} declares ${action}`);
  });
});

describe('every route × no credential, one role short, the needed role', () => {
  for (const [route, need] of Object.entries(ROUTES)) {
    test(`${route} (${need})`, async () => {
      if (need === 'public') {
        assert.notEqual(await call(route, null), 401, 'public');
        return;
      }
      assert.equal(await call(route, null), 401, 'no credential');
      const rank = ROLES.indexOf(need);
      if (rank > 0) assert.equal(await call(route, ROLES[rank - 1]!), 403, `${ROLES[rank - 1]} is one role short`);
      const allowed = await call(route, need);
      assert.ok(allowed !== 401 && allowed !== 403, `${need} gets past authorization (got ${allowed})`);
    });
  }
});
