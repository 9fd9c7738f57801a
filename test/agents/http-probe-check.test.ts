import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { judgeProbeCheck, percentile } from '../../core/agents/http-probe-check.js';
import { statusAccepted } from '../../core/executor/step-guards.js';
import { ChangePlanSchema, VerifyCheckSchema, type HttpProbeCheck } from '../../core/schemas/plan.js';
import { runVerification } from '../../adapters/agents/verifier-runner.js';
import { parseServices } from '../../adapters/config/services-loader.js';
import { verificationReportPost } from '../../core/chat/message-model.js';

/** A real HTTP server: /ok 200 "status: ok", /down 503, /slow 200 after 120 ms, /flaky 503 every other request. */
function startServer(): Promise<{ url: string; close: () => Promise<void> }> {
  let flaky = 0;
  const server = http.createServer((req, res) => {
    if (req.url === '/ok') return res.end('status: ok');
    if (req.url === '/down') { res.statusCode = 503; return res.end('unavailable'); }
    if (req.url === '/slow') { setTimeout(() => res.end('status: ok'), 120); return; }
    if (req.url === '/flaky') { res.statusCode = flaky++ % 2 ? 503 : 200; return res.end('x'); }
    res.statusCode = 404; res.end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    resolve({ url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) });
  }));
}

const plan = (checks: unknown[]) => ChangePlanSchema.parse({ title: 't', steps: [{ action: 'noop', timeout_s: 10, retry: 0 }], rollback: {}, verify: { settle_s: 0, checks } });

describe('HTTP probe check: schema and pure judging', () => {
  it('parses a probe check beside PromQL checks and refuses bad ones', () => {
    assert.equal(VerifyCheckSchema.parse({ kind: 'http', url: 'http://127.0.0.1/healthz', expect_status: '200..299' }).kind, 'http');
    assert.equal(VerifyCheckSchema.parse({ query: 'up', op: '>', threshold: 0 }).kind, undefined);
    assert.equal(VerifyCheckSchema.safeParse({ kind: 'http', url: 'ftp://x' }).success, false);
    assert.equal(VerifyCheckSchema.safeParse({ kind: 'http', url: 'http://u:p@x/' }).success, false);
    assert.equal(VerifyCheckSchema.safeParse({ kind: 'http', url: 'http://x/', body_match: '(' }).success, false);
    assert.equal(VerifyCheckSchema.safeParse({ kind: 'http', url: 'http://x/', expect_status: '299..200' }).success, false);
    assert.equal(VerifyCheckSchema.safeParse({ kind: 'http', url: 'http://x/', probes: 21 }).success, false);
  });
  it('accepts status ranges, the same rule as the step guards', () => {
    assert.equal(statusAccepted({ expect_status: '200..204' }, 204), true);
    assert.equal(statusAccepted({ expect_status: '200..204' }, 205), false);
    assert.equal(statusAccepted({}, 399), true);
  });
  it('nearest-rank percentile', () => {
    assert.equal(percentile([], 95), null);
    assert.equal(percentile([5, 1, 3, 2, 4], 95), 5);
    assert.equal(percentile([5, 1, 3, 2, 4], 50), 3);
    assert.equal(percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 90), 90);
  });
  it('judges the success ratio and the latency bound', () => {
    const check: HttpProbeCheck = { kind: 'http', url: 'http://x/', max_latency_ms: 50, min_success_ratio: 0.5 };
    const j = judgeProbeCheck(check, [{ status: 200, latency_ms: 10 }, { status: 503, latency_ms: 12 }, { latency_ms: 2000, error: 'ECONNREFUSED' }]);
    assert.equal(j.pass, false);
    assert.match(j.error!, /1\/3 probes succeeded/);
    assert.match(j.error!, /p95 latency 2000 ms, want ≤ 50 ms/);
    assert.deepEqual(j.probe.statuses, { 200: 1, 503: 1, 'no answer': 1 });
  });
});

describe('HTTP probe check: the Verifier against a real HTTP server, no Prometheus', () => {
  let srv: Awaited<ReturnType<typeof startServer>>;
  before(async () => { srv = await startServer(); });
  after(async () => { await srv.close(); });
  const verify = (checks: unknown[]) => runVerification({ plan: plan(checks), case: { service: 'demo', env: 'demo' } });

  it('passes a healthy endpoint with status, latency and body bounds', async () => {
    const r = await verify([{ name: 'healthz', kind: 'http', url: `${srv.url}/ok`, probes: 4, interval_ms: 10, expect_status: 200, max_latency_ms: 1000, body_match: 'status: ok' }]);
    assert.equal(r.pass, true, r.summary);
    assert.equal(r.results[0]!.kind, 'http');
    assert.equal(r.results[0]!.probe!.ok, 4);
    assert.equal(r.results[0]!.op, '<=');
    assert.ok(r.results[0]!.value! <= 1000);
  });
  it('fails on 503', async () => {
    const r = await verify([{ name: 'healthz', kind: 'http', url: `${srv.url}/down`, probes: 3, interval_ms: 0 }]);
    assert.equal(r.pass, false);
    assert.match(r.results[0]!.error!, /0\/3 probes succeeded.*HTTP 503, want 200\.\.399/);
    assert.match(r.summary, /healthz FAILED/);
  });
  it('fails when the p95 latency is over the bound, passes with a looser one', async () => {
    const slow = await verify([{ kind: 'http', url: `${srv.url}/slow`, probes: 2, interval_ms: 0, max_latency_ms: 60 }]);
    assert.equal(slow.pass, false);
    assert.match(slow.results[0]!.error!, /p95 latency \d+ ms, want ≤ 60 ms/);
    assert.ok(slow.results[0]!.value! >= 100);
    const loose = await verify([{ kind: 'http', url: `${srv.url}/slow`, probes: 2, interval_ms: 0, max_latency_ms: 2000 }]);
    assert.equal(loose.pass, true, loose.summary);
  });
  it('fails when the body does not match', async () => {
    const r = await verify([{ kind: 'http', url: `${srv.url}/down`, probes: 1, expect_status: 503, body_match: '^status: ok$' }]);
    assert.equal(r.pass, false);
    assert.match(r.results[0]!.error!, /body does not match/);
  });
  it('a success ratio lets a flaky endpoint pass at 50 %, not at 100 %', async () => {
    const half = await verify([{ kind: 'http', url: `${srv.url}/flaky`, probes: 4, interval_ms: 0, min_success_ratio: 0.5 }]);
    assert.equal(half.pass, true, half.summary);
    const all = await verify([{ kind: 'http', url: `${srv.url}/flaky`, probes: 4, interval_ms: 0 }]);
    assert.equal(all.pass, false);
  });
  it('a refused connection fails; a PromQL check without Prometheus fails beside a passing probe', async () => {
    const gone = await startServer();
    await gone.close();
    const refused = await verify([{ kind: 'http', url: `${gone.url}/`, probes: 1 }]);
    assert.equal(refused.pass, false);
    assert.match(refused.results[0]!.error!, /no answer: ECONNREFUSED/);
    const mixed = await verify([{ kind: 'http', url: `${srv.url}/ok`, probes: 1 }, { name: 'errors', query: 'up', op: '>', threshold: 0 }]);
    assert.equal(mixed.pass, false);
    assert.deepEqual(mixed.results.map((x) => x.pass), [true, false]);
    assert.equal(mixed.results[1]!.error, 'PROMETHEUS_URL is not set');
    const post = verificationReportPost(mixed);
    assert.match(JSON.stringify(post), /GET http:\/\/127\.0\.0\.1:\d+\/ok.*1\/1 ok \(HTTP 200×1\)/);
  });
  it('services.yml accepts probe checks as service defaults, and the plan inherits them', async () => {
    const file = parseServices(`services:\n  demo:\n    verify:\n      settle_s: 0\n      checks:\n        - { name: healthz, kind: http, url: "${srv.url}/ok", probes: 2, interval_ms: 0 }\n`, 'services.yml');
    const r = await runVerification({ plan: plan([]), case: { service: 'demo' }, serviceDefaults: file.services.demo! });
    assert.equal(r.pass, true, r.summary);
    assert.equal(r.results[0]!.name, 'healthz');
  });
});
