import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ApiTokenAuthenticator, createApiToken, hashTokenSecret } from '../../adapters/auth/api-tokens.js';
import { buildServer } from '../../adapters/http/server.js';
import { tokenRoutes } from '../../adapters/http/token-routes.js';
import { silentLogger } from '../../adapters/log.js';
import { PromMetrics } from '../../adapters/metrics/prom-metrics.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { pgliteBackend } from '../../adapters/store/pglite/pglite-backend.js';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';
import { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import type { TokenStore } from '../../core/ports/token-store.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';

/*
 * The /auth/tokens admin routes through the real server (buildServer) and the real auth plugin,
 * with API tokens as the only credential: an admin token made directly in the store.
 */

describe('API token admin routes', () => {
  let store: PgliteCaseStore;
  let tokens: TokenStore;
  let app: FastifyInstance;
  let auth: ApiTokenAuthenticator;
  let admin: string;
  let viewer: string;
  const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

  before(async () => {
    store = await createTestPgliteStore();
    tokens = pgliteBackend(store).tokens;
    auth = new ApiTokenAuthenticator({ store: tokens });
    const metrics = new PromMetrics();
    const orchestrator = new Orchestrator({ store, clock: systemClock, ids: uuidGen, metrics });
    app = buildServer({
      orchestrator, store, metrics, logger: silentLogger(),
      auth: { mode: 'on', authenticators: [auth] },
      plugins: [tokenRoutes({ tokens })],
    });
    await app.ready();
    admin = (await createApiToken(tokens, { name: 'root', role: 'admin', createdBy: 'test:setup' })).secret;
    viewer = (await createApiToken(tokens, { name: 'watcher', role: 'viewer', createdBy: 'test:setup' })).secret;
  });
  after(async () => {
    await app.close();
    await auth.settle();
    await cleanupTestPgliteStore(store);
  });

  it('creates a token: 201, the secret once, the record without its hash, created_by the admin', async () => {
    const res = await app.inject({
      method: 'POST', url: '/auth/tokens', headers: bearer(admin),
      payload: { name: 'ci-deployer', role: 'responder', scope: 'service=checkout,env=staging|prod-*', expires_in_days: 90 },
    });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.headers['cache-control'], 'no-store');
    const { secret, token } = res.json().data;
    assert.match(secret, /^opsl_[A-Za-z0-9_-]{43}$/);
    assert.equal(token.name, 'ci-deployer');
    assert.deepEqual(token.roles, ['responder']);
    assert.deepEqual(token.scope, { service: ['checkout'], env: ['staging', 'prod-*'] });
    assert.equal(token.created_by, 'token:root');
    assert.equal(token.status, 'active');
    assert.ok(Math.abs(Date.parse(token.expires_at) - Date.now() - 90 * 86_400_000) < 60_000);
    assert.ok(!('token_hash' in token));
    assert.ok(!res.body.includes(hashTokenSecret(secret)));

    const used = await auth.authenticate(secret);
    assert.ok(used?.ok);
    assert.equal(used.principal.id, 'token:ci-deployer');
  });

  it('accepts a JSON scope and refuses bad bodies with 400 and field issues', async () => {
    const ok = await app.inject({ method: 'POST', url: '/auth/tokens', headers: bearer(admin), payload: { name: 'json-scope', role: 'viewer', scope: { tenant: ['t-*'] } } });
    assert.equal(ok.statusCode, 201, ok.body);
    assert.deepEqual(ok.json().data.token.scope, { tenant: ['t-*'] });
    for (const payload of [
      { name: 'x', role: 'superuser' },
      { name: 'has space', role: 'viewer' },
      { name: 'admin', role: 'viewer' },
      { name: 'y', role: 'viewer', scope: 'team=core' },
      { name: 'z', role: 'viewer', expires_in_days: 0 },
      { name: 'w', role: 'viewer', extra: true },
      { role: 'viewer' },
    ]) {
      const res = await app.inject({ method: 'POST', url: '/auth/tokens', headers: bearer(admin), payload });
      assert.equal(res.statusCode, 400, `${JSON.stringify(payload)} → ${res.body}`);
      assert.equal(res.json().error.code, 'OPS_VALIDATION');
      assert.ok(Array.isArray(res.json().error.details));
    }
  });

  it('refuses a second live token with the same name with 409', async () => {
    const payload = { name: 'dup', role: 'viewer' };
    assert.equal((await app.inject({ method: 'POST', url: '/auth/tokens', headers: bearer(admin), payload })).statusCode, 201);
    const again = await app.inject({ method: 'POST', url: '/auth/tokens', headers: bearer(admin), payload });
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().error.code, 'OPS_TOKEN_NAME_TAKEN');
  });

  it('lists tokens without secrets or hashes', async () => {
    const res = await app.inject({ method: 'GET', url: '/auth/tokens', headers: bearer(admin) });
    assert.equal(res.statusCode, 200);
    const list = res.json().data as Array<Record<string, unknown>>;
    assert.ok(list.some((t) => t.name === 'ci-deployer'));
    assert.ok(list.every((t) => !('token_hash' in t) && !('secret' in t)));
    assert.ok(!/opsl_|[0-9a-f]{64}/.test(res.body));
  });

  it('revokes by id (the token stops working; again is idempotent); unknown id 404, malformed 400', async () => {
    const created = await app.inject({ method: 'POST', url: '/auth/tokens', headers: bearer(admin), payload: { name: 'short', role: 'approver' } });
    const { secret, token } = created.json().data;
    assert.ok((await auth.authenticate(secret))?.ok);
    const res = await app.inject({ method: 'DELETE', url: `/auth/tokens/${token.id}`, headers: bearer(admin) });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().data.status, 'revoked');
    const refused = await app.inject({ method: 'GET', url: '/auth/tokens', headers: bearer(secret) });
    assert.equal(refused.statusCode, 401);
    assert.ok(!refused.body.includes(secret));
    const again = await app.inject({ method: 'DELETE', url: `/auth/tokens/${token.id}`, headers: bearer(admin) });
    assert.equal(again.statusCode, 200);
    assert.equal(again.json().data.revoked_at, res.json().data.revoked_at);
    const unknown = await app.inject({ method: 'DELETE', url: '/auth/tokens/00000000-0000-4000-8000-000000000000', headers: bearer(admin) });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().error.code, 'OPS_NOT_FOUND');
    const bad = await app.inject({ method: 'DELETE', url: '/auth/tokens/nope', headers: bearer(admin) });
    assert.equal(bad.statusCode, 400);
  });

  it('needs an admin: no credential 401, a viewer 403, nothing created', async () => {
    const before = (await tokens.list()).length;
    const anon = await app.inject({ method: 'POST', url: '/auth/tokens', payload: { name: 'sneaky', role: 'admin' } });
    assert.equal(anon.statusCode, 401);
    const weak = await app.inject({ method: 'POST', url: '/auth/tokens', headers: bearer(viewer), payload: { name: 'sneaky', role: 'admin' } });
    assert.equal(weak.statusCode, 403);
    assert.equal((await app.inject({ method: 'GET', url: '/auth/tokens', headers: bearer(viewer) })).statusCode, 403);
    assert.equal((await app.inject({ method: 'GET', url: '/auth/tokens' })).statusCode, 401);
    assert.equal((await tokens.list()).length, before);
  });

  it('documents the routes in /openapi.json', async () => {
    const res = await app.inject({ method: 'GET', url: '/openapi.json', headers: bearer(admin) });
    const paths = res.json().paths as Record<string, Record<string, unknown>>;
    assert.ok(paths['/auth/tokens']?.post && paths['/auth/tokens']?.get && paths['/auth/tokens/{id}']?.delete);
  });
});
