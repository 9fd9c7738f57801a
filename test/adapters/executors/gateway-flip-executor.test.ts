import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createGatewayFlipExecutor, loadGatewayConfig } from '../../../adapters/executors/gateway-flip-executor.js';
import { createNoopExecutor } from '../../../adapters/executors/noop-executor.js';
import type { StepContext } from '../../../core/ports/step-executor.js';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

const ctx = (signal = new AbortController().signal): StepContext => ({ signal, caseId: 'case-9', stepIndex: 2, attempt: 1, log: () => {} });

describe('gateway.flip against a local flag service', () => {
  let server: http.Server;
  let base: string;
  const seen: Seen[] = [];

  before(async () => {
    server = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: raw ? JSON.parse(raw) : undefined });
        if (req.url === '/broken') {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end('{"error":"backend down","password":"hunter2"}');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ applied: true }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const gateways = () =>
    loadGatewayConfig({
      OPSLOOP_GATEWAYS: JSON.stringify({
        edge: { url: `${base}/flags/edge`, states: ['blue', 'green'], token_env: 'EDGE_TOKEN' },
        canary: { url: `${base}/canary`, method: 'POST' },
        broken: { url: `${base}/broken` },
      }),
    });

  test('a 2xx answer is success; the configured URL, method, token and idempotency key are used', async () => {
    const exec = createGatewayFlipExecutor({ gateways: gateways(), env: { EDGE_TOKEN: 'edge-secret' } });
    const checked = exec.validate({ target: 'edge', state: 'green' });
    assert.ok(checked.ok);
    const out = await exec.run(checked.params, ctx());
    assert.equal(out.ok, true, out.summary);
    assert.equal(out.summary, 'gateway edge → "green": HTTP 200');
    const req = seen.at(-1);
    assert.equal(req?.method, 'PUT');
    assert.equal(req?.url, '/flags/edge');
    assert.equal(req?.headers.authorization, 'Bearer edge-secret');
    assert.equal(req?.headers['idempotency-key'], 'case-9:2:gateway.flip');
    assert.deepEqual(req?.body, { state: 'green', case_id: 'case-9' });

    const canary = exec.validate({ target: 'canary', state: 25 });
    assert.ok(canary.ok);
    assert.equal((await exec.run(canary.params, ctx())).ok, true);
    assert.equal(seen.at(-1)?.method, 'POST');
  });

  test('a 500 answer is a failure, and the response body is redacted', async () => {
    const exec = createGatewayFlipExecutor({ gateways: gateways(), env: {} });
    const checked = exec.validate({ target: 'broken', state: 'off' });
    assert.ok(checked.ok);
    const out = await exec.run(checked.params, ctx());
    assert.equal(out.ok, false);
    assert.match(out.summary, /HTTP 500 \(failure\)/);
    assert.ok(!(out.output ?? '').includes('hunter2'), out.output);
  });

  test('an unknown gateway name, a URL as target, or an undeclared state is refused; nothing is called', () => {
    const exec = createGatewayFlipExecutor({ gateways: gateways(), env: {} });
    const before = seen.length;
    const unknown = exec.validate({ target: 'prod-lb', state: 'on' });
    assert.equal(unknown.ok, false);
    assert.match(!unknown.ok ? unknown.issues[0]?.message ?? '' : '', /unknown gateway "prod-lb" \(known: edge, canary, broken\)/);
    assert.equal(exec.validate({ target: 'http://evil.example/x', state: 'on' }).ok, false);
    assert.equal(exec.validate({ target: 'edge', state: 'purple' }).ok, false);
    assert.equal(seen.length, before);
  });

  test('a missing token fails without calling', async () => {
    const exec = createGatewayFlipExecutor({ gateways: gateways(), env: {} });
    const before = seen.length;
    const out = await exec.run({ target: 'edge', state: 'blue' }, ctx());
    assert.equal(out.ok, false);
    assert.match(out.summary, /EDGE_TOKEN is not set/);
    assert.equal(seen.length, before);
  });

  test('config from a YAML file, and invalid config is rejected', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'opsloop-gw-'));
    try {
      const file = path.join(dir, 'gateways.yml');
      await writeFile(file, `edge:\n  url: ${base}/flags/edge\n  method: PATCH\n`);
      assert.equal(loadGatewayConfig({ OPSLOOP_GATEWAYS_FILE: file }).edge?.method, 'PATCH');
      assert.throws(() => loadGatewayConfig({ OPSLOOP_GATEWAYS: '{"x":{"url":"file:///etc/passwd"}}' }), /gateway configuration/);
      assert.deepEqual(loadGatewayConfig({}), {});
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('noop', () => {
  test('succeeds with its message, refuses long sleeps, stops when aborted', async () => {
    const exec = createNoopExecutor();
    assert.equal(exec.validate({ sleep_s: 6 }).ok, false);
    const ok = await exec.run({ message: 'observe' }, ctx());
    assert.deepEqual(ok, { ok: true, summary: 'noop: observe' });
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('step timed out')), 50);
    const cut = await exec.run({ sleep_s: 5 }, ctx(ac.signal));
    assert.equal(cut.ok, false);
  });
});
