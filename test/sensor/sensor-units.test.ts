import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseOpsCommand } from '../../core/chat/command.js';
import { alertPost, evidenceListPost, messageToPlainText } from '../../core/chat/message-model.js';
import { fillLogTemplate, logSelector, prometheusBaseOf, promqlOf } from '../../core/sensor/evidence-links.js';
import { IngestConfigSchema, routeAlert } from '../../core/sensor/ingest-config.js';
import { parseYamlConfig } from '../../adapters/config/yaml-file-loader.js';
import { readFile } from 'node:fs/promises';

test('routing: labels give service, env, severity and tenant; the first matching rule wins', () => {
  const config = IngestConfigSchema.parse({
    rules: [{ match: { alertname: '~Disk.*' }, min_firing: 3, severity: 2, chat: { platform: 'slack', channel: 'C1' } }],
    defaults: { chat: { platform: 'slack', channel: 'C0' } },
  });
  const disk = routeAlert(config, { alertname: 'DiskFull', app: 'db', namespace: 'prod', severity: 'warning', team: 'storage' });
  assert.deepEqual({ ...disk, ruleName: null }, {
    tenant: 'storage', service: 'db', env: 'prod', severity: 2, chat: { platform: 'slack', channel: 'C1' }, minFiring: 3,
    startAnalysis: true, correlationKey: null, ruleName: null,
    // The open-case cap (max_open_cases_per_route, default 50) counts on the matched rule's route.
    routeKey: 'rule:{"alertname":"~Disk.*"}', maxOpenCases: 50,
  });
  const other = routeAlert(config, { alertname: 'Cpu', service: 'api', env: 'prod', severity: 'info' });
  assert.equal(other.severity, 4);
  assert.equal(other.startAnalysis, false);
  assert.equal(other.minFiring, 1);
  assert.deepEqual(other.chat, { platform: 'slack', channel: 'C0' });
  assert.equal(other.correlationKey, 'service=api,env=prod');
  assert.equal(other.routeKey, 'default', 'alerts no rule matches share the default route');
  assert.equal(other.maxOpenCases, 50);
  const capped = IngestConfigSchema.parse({ rules: [{ name: 'disk', match: { alertname: 'DiskFull' }, max_open_cases: 0 }], max_open_cases_per_route: 7 });
  assert.deepEqual([routeAlert(capped, { alertname: 'DiskFull' }), routeAlert(capped, { alertname: 'Cpu' })].map((r) => [r.routeKey, r.maxOpenCases]),
    [['rule:disk', 0], ['default', 7]], 'a rule\'s max_open_cases wins over max_open_cases_per_route');
  assert.equal(routeAlert(config, { alertname: 'x', service: 'not a name!' }).service, null);
});

test('config/ingest.yml validates; a bad file names the field and its line', async () => {
  const text = await readFile(new URL('../../config/ingest.yml', import.meta.url), 'utf8');
  assert.ok(parseYamlConfig('config/ingest.yml', text, IngestConfigSchema));
  assert.throws(() => parseYamlConfig('x.yml', 'correlation:\n  window_minutes: -3\n', IngestConfigSchema), /correlation\.window_minutes \(line 2\)/);
  assert.throws(() => parseYamlConfig('x.yml', 'rules:\n  - match: {}\n    min_firing: 0\n', IngestConfigSchema), /rules\.0\.min_firing/);
});

test('locators: PromQL from generatorURL, Prometheus base, log selector and URL-encoded template', () => {
  const gen = 'http://prom.internal:9090/prometheus/graph?g0.expr=sum%28rate%28x%5B5m%5D%29%29+%3E+1&g0.tab=1';
  assert.equal(promqlOf(gen), 'sum(rate(x[5m])) > 1');
  assert.equal(prometheusBaseOf(gen), 'http://prom.internal:9090/prometheus');
  assert.equal(promqlOf('not a url'), null);
  const selector = logSelector({ service: 'api', env: 'prod', pod: 'a"b' }, ['service', 'env', 'pod', 'job']);
  assert.equal(selector, '{service="api",env="prod",pod="a\\"b"}');
  const url = fillLogTemplate('https://o2.example/logs?sql={selector}&start={from_us}&end={to_us}&t={from}', selector!, new Date(1_000), new Date(2_000));
  const u = new URL(url);
  assert.equal(u.searchParams.get('sql'), selector);
  assert.equal(u.searchParams.get('start'), '1000000');
  assert.equal(u.searchParams.get('t'), '1970-01-01T00:00:01.000Z');
});

test('/ops evidence parses with a case or from the thread; renderers list links', () => {
  assert.deepEqual(parseOpsCommand('/ops evidence 1a2b3c4d'), { ok: true, command: { kind: 'evidence', caseRef: '1a2b3c4d' } });
  assert.deepEqual(parseOpsCommand('evidence', { threadCaseId: 'abcd' }), { ok: true, command: { kind: 'evidence', caseRef: 'abcd' } });
  assert.equal(parseOpsCommand('evidence x y').ok, false);
  const items = [{ kind: 'metric', title: 'PromQL: up == 0', url: 'http://prom/graph?g0.expr=up' }, { kind: 'log', title: 'Logs', url: null, locator: '{a="b"}' }];
  const card = { case_id: '1a2b3c4d-0000-4000-8000-000000000000', title: 'Disk', severity: 2, service: null, env: null, status: 'NEW', version: 1 };
  const text = messageToPlainText(evidenceListPost(card, items));
  assert.match(text, /http:\/\/prom\/graph\?g0\.expr=up/);
  assert.match(text, /\{a="b"\}/);
  assert.match(messageToPlainText(alertPost({ summary: '1 firing: Disk', evidence: items })), /Alert firing[\s\S]*PromQL/);
  assert.match(messageToPlainText(alertPost({ summary: 'resolved' }, true)), /does not change the case status/);
});
