import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { tracingRegistered } from '../../adapters/telemetry/spans.js';
import { call, freshKey, getTimeline, startE2e, type E2e } from '../e2e/e2e-harness.js';
import { E2E_POLICY, E2E_SERVICES } from '../e2e/e2e-fixtures.js';

/*
 * Issue 15: tracing configured by the standard OTEL_* variables only, exported over OTLP/HTTP
 * (JSON) with the batch processor to a real local receiver, flushed when opsloop stops.
 */

interface OtlpSpan { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number }
interface OtlpBody {
  resourceSpans: Array<{
    resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
    scopeSpans: Array<{ scope: { name: string }; spans: OtlpSpan[] }>;
  }>;
}

const received: Array<{ contentType: string | undefined; authorization: string | undefined; body: OtlpBody }> = [];
let receiver: Server;
let e2e: E2e | undefined;

before(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      received.push({ contentType: req.headers['content-type'], authorization: req.headers.authorization, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpBody });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
});
after(async () => {
  await e2e?.close();
  await new Promise((resolve) => receiver.close(resolve));
});

test('OTEL_EXPORTER_OTLP_ENDPOINT turns tracing on; the spans of a request reach the OTLP/HTTP receiver as JSON', async () => {
  assert.equal(tracingRegistered(), false, 'nothing is registered before opsloop starts');
  const { port } = receiver.address() as AddressInfo;
  e2e = await startE2e({
    policy: E2E_POLICY, services: E2E_SERVICES,
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}/`, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'opsloop-otlp-test', OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20collector-token',
      OPSLOOP_AGENTS: 'off',
    },
  });
  assert.equal(tracingRegistered(), true);
  const created = await call(e2e.url, 'POST', '/case/create', { title: 'traced over OTLP', tenant: 't-001' }, { 'idempotency-key': freshKey('otlp') });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const caseId = created.body.data.case_id as string;
  const traceId = (await getTimeline(e2e.url, caseId)).find((e) => e.event === 'case_created') as { trace_id?: string } | undefined;
  await e2e.close(); // flushes the batch processor and unregisters the provider
  e2e = undefined;
  assert.equal(tracingRegistered(), false, 'stopping opsloop unregisters its tracer provider');

  assert.ok(received.length > 0, 'the receiver got an export');
  assert.match(received[0]!.contentType ?? '', /application\/json/);
  assert.equal(received[0]!.authorization, 'Bearer collector-token');
  const resources = received.flatMap((r) => r.body.resourceSpans);
  const serviceNames = new Set(resources.flatMap((r) => r.resource.attributes.filter((a) => a.key === 'service.name').map((a) => a.value.stringValue)));
  assert.deepEqual([...serviceNames], ['opsloop-otlp-test']);
  const spans = resources.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
  const http = spans.find((s) => s.name === 'HTTP POST /case/create');
  assert.ok(http, `spans received: ${spans.map((s) => s.name).join(', ')}`);
  assert.equal(http.traceId, traceId?.trace_id, 'the timeline stores the exported trace id');
  const write = spans.find((s) => s.name === 'opsloop.store.transact' && s.parentSpanId === http.spanId);
  assert.ok(write, 'the store write is a child of the request span');
});
