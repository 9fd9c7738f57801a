import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ProxyTracerProvider, trace } from '@opentelemetry/api';
import { loadConfig } from '../../adapters/config/env.js';
import { activeTraceparent, formatTraceparent, parseTraceparent, tracingRegistered } from '../../adapters/telemetry/spans.js';
import { otlpTracesUrl, parseOtlpHeaders, startTracing, tracingEnabled } from '../../adapters/telemetry/tracing-setup.js';
import { call, freshKey, getTimeline, startE2e, type E2e } from '../e2e/e2e-harness.js';
import { E2E_POLICY, E2E_SERVICES } from '../e2e/e2e-fixtures.js';

/* Issue 15: tracing is off unless configured — no provider, no hooks — and trace ids work as before. */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
let e2e: E2e;

before(async () => {
  e2e = await startE2e({ policy: E2E_POLICY, services: E2E_SERVICES, env: { OPSLOOP_AGENTS: 'off' } });
});
after(async () => {
  await e2e?.close();
});

test('with no OTEL_* variable no tracer provider is registered and the timeline trace ids are as before', async () => {
  assert.equal(tracingRegistered(), false);
  const delegate = (trace.getTracerProvider() as ProxyTracerProvider).getDelegate();
  assert.equal(delegate.constructor.name, 'NoopTracerProvider');
  assert.equal(activeTraceparent(), null);

  const created = await call(e2e.url, 'POST', '/case/create', { title: 'untraced', tenant: 't-001' }, { 'idempotency-key': freshKey('off') });
  assert.equal(created.status, 201);
  const caseId = created.body.data.case_id as string;
  const traceIdOf = async (event: string) => ((await getTimeline(e2e.url, caseId)).find((e) => e.event === event) as { trace_id?: string } | undefined)?.trace_id;
  assert.match(String(await traceIdOf('case_created')), UUID, 'a fresh uuid, as before tracing existed');

  // An incoming traceparent still names the stored trace id, and X-Trace-Id still wins.
  const fromHeader = 'ab'.repeat(16);
  const started = await call(e2e.url, 'PATCH', `/case/${caseId}/transition`, { event: 'start_analysis', actor: 'analyst@svc' },
    { 'idempotency-key': freshKey('off'), traceparent: `00-${fromHeader}-${'cd'.repeat(8)}-01` });
  assert.equal(started.status, 200, JSON.stringify(started.body));
  assert.equal(await traceIdOf('start_analysis'), fromHeader);
});

test('tracing is on for otlp or an endpoint, off for none or nothing', () => {
  const cfg = (env: Record<string, string>) => loadConfig(env);
  assert.equal(tracingEnabled(cfg({})), false);
  assert.equal(tracingEnabled(cfg({ OTEL_TRACES_EXPORTER: 'otlp' })), true);
  assert.equal(tracingEnabled(cfg({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })), true);
  assert.equal(tracingEnabled(cfg({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })), true);
  assert.equal(tracingEnabled(cfg({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })), false);
  assert.throws(() => cfg({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }), /OTEL_EXPORTER_OTLP_PROTOCOL: expected http\/json/);
  assert.throws(() => cfg({ OTEL_TRACES_SAMPLER_ARG: '1.5' }), /OTEL_TRACES_SAMPLER_ARG/);
  assert.equal(otlpTracesUrl(cfg({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })), 'http://collector:4318/v1/traces');
  assert.equal(otlpTracesUrl(cfg({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:1', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:2/t' })), 'http://b:2/t');
  assert.deepEqual(parseOtlpHeaders('api-key=a%20b, x=1,bad'), { 'api-key': 'a b', x: '1' });
  const off = startTracing(cfg({}));
  assert.equal(off.enabled, false);
  assert.equal(tracingRegistered(), false);
});

test('traceparent round trip; malformed and all-zero values name no parent', () => {
  const value = `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`;
  const sc = parseTraceparent(value);
  assert.deepEqual(sc, { traceId: '1'.repeat(32), spanId: '2'.repeat(16), traceFlags: 1, isRemote: true });
  assert.equal(formatTraceparent(sc!), value);
  assert.equal(parseTraceparent(`00-${'0'.repeat(32)}-${'2'.repeat(16)}-01`), null);
  assert.equal(parseTraceparent('00-xyz'), null);
  assert.equal(parseTraceparent(`ff-${'1'.repeat(32)}-${'2'.repeat(16)}-01`), null);
  assert.equal(parseTraceparent(undefined), null);
});
