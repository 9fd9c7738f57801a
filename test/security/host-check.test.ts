/**
 * DNS rebinding protection (issue 12), against a real opsloop over real HTTP: a request whose Host
 * names another host is refused on every route (before authentication, 404s and /login included);
 * localhost, IP addresses, the public URL's host and OPSLOOP_ALLOWED_HOSTS pass.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { loadConfig } from '../../adapters/config/env.js';
import { silentLogger } from '../../adapters/log.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { startOpsloop, type RunningOpsloop } from '../../app/start-opsloop.js';
import { pgliteBackend } from '../../adapters/store/pglite/pglite-backend.js';
import { createSimExtension } from '../../app/extensions/sim.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';

let store: PgliteCaseStore;
let ops: RunningOpsloop;
let port: number;

before(async () => {
  store = await createTestPgliteStore();
  const config = loadConfig({
    PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', PUBLIC_URL: 'https://ops.example.com', OPSLOOP_ALLOWED_HOSTS: 'opsloop.internal,.corp.example',
  });
  ops = await startOpsloop(config, { backend: pgliteBackend(store), logger: silentLogger(), print: () => {}, extensions: [(ctx) => createSimExtension(ctx)] });
  port = Number(new URL(ops.url).port);
});
after(async () => {
  await ops?.close();
  if (store) await cleanupTestPgliteStore(store);
});

/** A request with this exact Host header (fetch does not let a caller set one). */
function withHost(host: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { host, ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { text += chunk; });
      res.on('end', () => {
        let json: unknown = null;
        try { json = JSON.parse(text); } catch { json = text; }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('requests for another Host are refused (DNS rebinding)', () => {
  test('evil.example on /sim, /case, /login, the simulator API and an unknown path → 421 with the JSON error body', async () => {
    const admin = { authorization: `Bearer ${ops.auth.adminToken}` };
    const login = ops.auth.loginPath('/sim');
    const attempts: Array<[string, string, Record<string, string>, string?]> = [
      ['GET', '/sim', { accept: 'text/html' }],
      ['GET', '/sim', admin],
      ['GET', '/case/00000000-0000-4000-8000-000000000000', admin],
      ['POST', '/case/create', { ...admin, 'content-type': 'application/json', 'idempotency-key': 'host-1' }, '{"title":"x"}'],
      ['GET', login, {}],
      ['POST', '/sim/api/action', { ...admin, 'content-type': 'application/json' }, '{"value":"x"}'],
      ['GET', '/no-such-path', {}],
      ['GET', '/healthz', {}],
    ];
    for (const host of [`evil.example:${port}`, 'evil.example', `localhost.evil.example:${port}`]) {
      for (const [method, path, headers, body] of attempts) {
        const r = await withHost(host, method, path, headers, body);
        assert.equal(r.status, 421, `${host} ${method} ${path}`);
        const error = (r.json as { error?: { code: string; message: string; details: { host: string } } }).error;
        assert.equal(error?.code, 'OPS_HOST_NOT_ALLOWED', `${host} ${method} ${path}: ${JSON.stringify(r.json)}`);
        assert.match(error.message, /does not answer for Host .*OPSLOOP_ALLOWED_HOSTS/);
        assert.equal(error.details.host, host);
      }
    }
    // The refused login link was not spent: from an allowed host it still logs in.
    assert.equal((await withHost(`localhost:${port}`, 'GET', login)).status, 303);
    assert.equal((await store.queries.listCases({ limit: 10 })).length, 0, 'nothing was written');
  });

  test('localhost, 127.0.0.1, [::1], the public URL host and OPSLOOP_ALLOWED_HOSTS pass, with or without a port', async () => {
    const admin = { authorization: `Bearer ${ops.auth.adminToken}` };
    for (const host of [`localhost:${port}`, 'localhost', `127.0.0.1:${port}`, `[::1]:${port}`, '10.0.0.5:8080', 'ops.example.com', 'OPS.example.com:443', 'opsloop.internal', 'a.corp.example']) {
      assert.equal((await withHost(host, 'GET', '/healthz')).status, 200, host);
      assert.equal((await withHost(host, 'GET', '/sim/api/state', admin)).status, 200, host);
      assert.equal((await withHost(host, 'GET', '/no-such-path', admin)).status, 404, host);
    }
    // Real fetch against 127.0.0.1:<port> (what every other test does) passes too.
    assert.equal((await fetch(`${ops.url}/healthz`)).status, 200);
  });
});
