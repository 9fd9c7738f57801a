import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { PrometheusClient, PrometheusError } from '../../adapters/metrics-source/prometheus-client.js';
import { runVerification } from '../../adapters/agents/verifier-runner.js';
import { parseServices, serviceDefaultsFor } from '../../adapters/config/services-loader.js';
import type { ChangePlan } from '../../core/schemas/plan.js';
import { prometheusBinary, prometheusSkipReason, startPrometheus, type PrometheusHarness } from '../support/prometheus.js';

const skip = prometheusBinary() ? false : prometheusSkipReason();
if (skip) console.log(`# skipping real-Prometheus tests: ${skip}`);

const services = parseServices(`
services:
  checkout:
    env: staging
    verify:
      settle_s: 5
      window: 1m
      checks:
        - name: error-ratio
          query: max(http_error_ratio{service="$service",env="$env"})
          op: "<"
          threshold: 0.05
`);
const plan: ChangePlan = {
  title: 'restart checkout',
  steps: [{ action: 'noop', params: {}, timeout_s: 10, retry: 0 }],
  rollback: { steps: [] },
  verify: { checks: [{ name: 'scrape-up', query: 'max(up{job="opsloop-test-target"})', op: '==', threshold: 1 }] },
};
const kase = { service: 'checkout', env: 'staging' };

describe('Prometheus client and Verifier on a real Prometheus', { skip }, () => {
  let prom: PrometheusHarness;

  before(async () => {
    const started = await startPrometheus();
    assert.ok(started, 'binary exists, so the harness starts');
    prom = started;
    prom.target.set('http_error_ratio', { service: 'checkout', env: 'staging' }, 0.01);
    prom.target.set('http_error_ratio', { service: 'search', env: 'staging' }, 0.5);
    await prom.waitForValue('http_error_ratio{service="checkout"}', (v) => v === 0.01, 30_000);
  });
  after(async () => {
    await prom?.close();
  });

  it('queryInstant sees the value the target serves, with its labels', async () => {
    const r = await prom.client.queryInstant('http_error_ratio{service="checkout"}');
    assert.equal(r.value, 0.01);
    assert.equal(r.series, 1);
    assert.equal(r.labels?.service, 'checkout');
    assert.equal(r.labels?.job, prom.job);
    assert.equal((await prom.client.queryInstant('scalar(vector(3))')).value, 3);
    const empty = await prom.client.queryInstant('http_error_ratio{service="nope"}');
    assert.equal(empty.value, null);
    assert.equal(empty.series, 0);
    assert.ok(Number.isNaN((await prom.client.queryInstant('vector(0) / vector(0)')).value as number));
  });

  it('runVerification passes when the error ratio is low and fails when it is high', async () => {
    const latencies: number[] = [];
    const defaults = serviceDefaultsFor(services, 'checkout');
    const low = await runVerification({ plan, case: kase, prometheus: prom.client, serviceDefaults: defaults, observeLatency: (s) => latencies.push(s) });
    assert.equal(low.pass, true, low.summary);
    assert.deepEqual(low.results.map((r) => [r.name, r.value, r.pass]), [['error-ratio', 0.01, true], ['scrape-up', 1, true]]);
    assert.equal(low.spec.settle_s, 5);
    assert.equal(latencies.length, 1);
    assert.ok((latencies[0] ?? -1) >= 0);

    prom.target.set('http_error_ratio', { service: 'checkout', env: 'staging' }, 0.2);
    await prom.waitForValue('http_error_ratio{service="checkout"}', (v) => v === 0.2);
    const high = await runVerification({ plan, case: kase, prometheus: prom.client, serviceDefaults: defaults });
    assert.equal(high.pass, false);
    assert.deepEqual(high.results.map((r) => [r.name, r.value, r.pass]), [['error-ratio', 0.2, false], ['scrape-up', 1, true]]);
    assert.match(high.summary, /error-ratio 0.2 < 0.05 FAILED/);

    prom.target.set('http_error_ratio', { service: 'checkout', env: 'staging' }, 0.01);
    await prom.waitForValue('http_error_ratio{service="checkout"}', (v) => v === 0.01);
  });

  it('a check for a series that does not exist, or an invalid query, fails with the reason', async () => {
    const broken: ChangePlan = {
      ...plan,
      verify: { checks: [{ name: 'missing', query: 'http_error_ratio{service="ghost"}', op: '<', threshold: 1 }, { name: 'typo', query: 'sum(rate(x[5m])', op: '<', threshold: 1 }] },
    };
    const r = await runVerification({ plan: broken, case: kase, prometheus: prom.client });
    assert.equal(r.pass, false);
    const byName = Object.fromEntries(r.results.map((x) => [x.name, x]));
    assert.equal(byName.missing?.error, 'the query returned no value');
    assert.match(byName.typo?.error ?? '', /Prometheus refused the query \(bad_data\).*parse error/);
  });

  it('an invalid PromQL query throws a PrometheusError carrying Prometheus\' text', async () => {
    await assert.rejects(prom.client.queryInstant('sum(rate(http_error_ratio[5m])'), (err: unknown) => {
      assert.ok(err instanceof PrometheusError);
      assert.equal(err.kind, 'api');
      assert.equal(err.errorType, 'bad_data');
      assert.match(err.message, /unclosed left parenthesis/);
      return true;
    });
  });

  it('queryRange returns points over time', async () => {
    const end = new Date();
    const series = await prom.client.queryRange('http_error_ratio', new Date(end.getTime() - 30_000), end, 1);
    assert.equal(series.length, 2);
    const checkout = series.find((s) => s.labels.service === 'checkout');
    assert.ok(checkout && checkout.points.length >= 2, `points: ${JSON.stringify(checkout?.points)}`);
    assert.ok(checkout.points.every((p, i, all) => i === 0 || p.t > (all[i - 1]?.t ?? 0)), 'time-ordered');
    assert.ok(checkout.points.some((p) => p.v === 0.01));
    await assert.rejects(prom.client.queryRange('up', end, end, 0), /stepSeconds must be positive/);
  });

  it('close stops the process and removes its data', async () => {
    const other = await startPrometheus();
    assert.ok(other);
    assert.equal(await other.client.ready(), true);
    await other.close();
    assert.equal(await other.client.ready(), false);
    await other.close(); // idempotent
  });
});

describe('Prometheus unreachable', () => {
  it('a closed port gives a clear "unreachable" error, and verification fails instead of crashing', async () => {
    const port = await closedPort();
    const client = new PrometheusClient({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 2_000 });
    await assert.rejects(client.queryInstant('up'), (err: unknown) => {
      assert.ok(err instanceof PrometheusError);
      assert.equal(err.kind, 'unreachable');
      assert.match(err.message, new RegExp(`Prometheus at http://127\\.0\\.0\\.1:${port}/ is unreachable \\(ECONNREFUSED\\)`));
      return true;
    });
    assert.equal(await client.ready(), false);
    const r = await runVerification({ plan, case: kase, prometheus: client, serviceDefaults: serviceDefaultsFor(services, 'checkout') });
    assert.equal(r.pass, false);
    assert.ok(r.results.every((x) => !x.pass && /unreachable/.test(x.error ?? '')));
  });

  it('a server that never answers times out; a non-Prometheus answer is reported as such', async () => {
    const hanging = createServer((req, res) => {
      if (req.url?.startsWith('/api/v1/query?query=html')) res.writeHead(502, { 'content-type': 'text/html' }).end('<html>bad gateway</html>');
      // otherwise never answer
    });
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const { port } = hanging.address() as AddressInfo;
    try {
      const client = new PrometheusClient({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 300 });
      await assert.rejects(client.queryInstant('up'), (err: unknown) => err instanceof PrometheusError && err.kind === 'timeout' && /did not answer within 300 ms/.test(err.message));
      await assert.rejects(client.queryInstant('html'), (err: unknown) => err instanceof PrometheusError && err.kind === 'bad_response' && /HTTP 502 with a non-JSON body/.test(err.message));
    } finally {
      hanging.closeAllConnections();
      await new Promise<void>((resolve) => hanging.close(() => resolve()));
    }
  });
});

describe('Prometheus harness without the binary', () => {
  it('returns null so callers can skip', async () => {
    const saved = process.env.PROMETHEUS_BIN;
    process.env.PROMETHEUS_BIN = '/nonexistent/prometheus';
    try {
      assert.equal(existsSync('/nonexistent/prometheus'), false);
      assert.equal(await startPrometheus(), null);
      assert.match(prometheusSkipReason(), /not found at \/nonexistent\/prometheus/);
    } finally {
      if (saved === undefined) delete process.env.PROMETHEUS_BIN;
      else process.env.PROMETHEUS_BIN = saved;
    }
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
