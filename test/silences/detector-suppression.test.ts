import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Registry } from 'prom-client';
import { runAnalystPass, type SignalOutcome } from '../../adapters/agents/analyst.js';
import { parseServices } from '../../adapters/config/services-loader.js';
import { StoreSuppressor } from '../../adapters/silences/store-suppressor.js';
import type { PgliteBackend } from '../../adapters/store/pglite/pglite-backend.js';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';
import { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import { serviceDefaultsFor } from '../../core/schemas/services.js';
import { newSilence } from '../../core/silences/silence-records.js';
import { cleanupTestPgliteBackend, createTestPgliteBackend } from '../support/pglite.js';
import { prometheusBinary, prometheusSkipReason, startPrometheus, type PrometheusHarness } from '../support/prometheus.js';
import { pollFor } from '../support/wait.js';

/*
 * Detector episodes (the Analyst's path that opens cases from anomalies) on a real Prometheus: the
 * episode of a silenced service and the one of a service in its maintenance window open no case and
 * are counted (once, however many passes see them); the same episode of a third service opens a case.
 */

const signal = `
    signals:
      - name: errors
        query: max(chain_errors{service="$service"})
        direction: up
        step: 1s
        baseline: 20s
        lookback_points: 15
        detectors:
          - { kind: static, above: 5, consecutive: 2 }`;
const SERVICES = parseServices(`
services:
  silenced:
    env: prod${signal}
  patched:
    env: prod${signal}
    maintenance:
      - { name: always-patching, time_zone: Europe/Berlin, days: [mon, tue, wed, thu, fri, sat, sun], start: "00:00", duration: 24h, reason: test }
  loud:
    env: prod${signal}
`);
const skip = prometheusBinary() ? false : prometheusSkipReason();

let prom: PrometheusHarness | null = null;
let backend: PgliteBackend;

before(async () => {
  if (skip) return;
  backend = await createTestPgliteBackend();
  prom = await startPrometheus({ intervalSeconds: 1 });
  for (const service of ['silenced', 'patched', 'loud']) prom!.target.set('chain_errors', { service }, 12);
});
after(async () => {
  await prom?.close();
  if (backend) await cleanupTestPgliteBackend(backend);
});

test('a detector episode under a silence or a maintenance window opens no case; an unsuppressed one does', { skip, timeout: 120_000 }, async () => {
  const now = new Date();
  const made = newSilence(randomUUID(), { matchers: [{ name: 'service', op: '=', value: 'silenced' }, { name: 'alertname', op: '=', value: 'errors' }], durationMs: 3_600_000, reason: 'detector test', origin: null }, 'test:u', now);
  assert.ok(made.ok);
  await backend.silences.create(made.record, []);
  const registry = new Registry();
  const suppressor = new StoreSuppressor({
    store: backend.silences, clock: systemClock, registry,
    maintenance: (service) => serviceDefaultsFor(SERVICES, service).maintenance ?? [],
  });
  const deps = { services: SERVICES, prometheus: prom!.client, orchestrator: new Orchestrator({ store: backend.cases, clock: systemClock, ids: uuidGen }), store: backend.cases, clock: systemClock, suppressor };
  const byService = (outcomes: SignalOutcome[]) => Object.fromEntries(outcomes.map((o) => [o.service, o]));
  // Services reach their episode on different passes (Prometheus scrapes them one by one), so each
  // service keeps the outcome of the first pass that saw its episode: a later pass reports 'attached'.
  const first: Record<string, SignalOutcome> = {};
  await pollFor('an episode on every service', async () => {
    for (const [service, outcome] of Object.entries(byService(await runAnalystPass(deps)))) {
      if (!first[service] && outcome.status !== 'quiet' && outcome.status !== 'no_data') first[service] = outcome;
    }
    return Object.keys(first).length === 3 ? first : undefined;
  }, { timeoutMs: 60_000, intervalMs: 1000 });
  assert.equal(first.loud?.status, 'opened');
  assert.equal(first.silenced?.status, 'suppressed');
  assert.equal(first.silenced?.status === 'suppressed' ? first.silenced.suppression.reason : null, 'silence');
  assert.equal(first.patched?.status === 'suppressed' ? first.patched.suppression.reason : null, 'maintenance');

  await runAnalystPass(deps); // a second pass sees the same episodes
  const cases = await backend.cases.queries.listCases();
  assert.deepEqual(cases.map((c) => c.service), ['loud']);
  const metrics = await registry.metrics();
  assert.match(metrics, /opsloop_suppressed_total\{reason="silence",source="detector"\} 1\b/);
  assert.match(metrics, /opsloop_suppressed_total\{reason="maintenance",source="detector"\} 1\b/);
  assert.equal((await backend.silences.get(made.record.id))?.suppressed_count, 1);
});
