import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../adapters/config/env.js';
import { createLogger } from '../../adapters/log.js';
import { startOpsloop, type RunningOpsloop } from '../../app/start-opsloop.js';
import { pgliteBackend } from '../../adapters/store/pglite/pglite-backend.js';
import { withoutUserinfo } from '../../core/auth/redact.js';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';
import { call, freshKey, openAndStart, rememberAdminToken, waitForStatus } from '../e2e/e2e-harness.js';
import { E2E_POLICY, E2E_SERVICES, E2E_TEMPLATES } from '../e2e/e2e-fixtures.js';
import { FakeSlackApi } from '../support/fake-slack-api.js';
import { FakePrometheusApi } from '../support/fake-prometheus-api.js';
import { alertmanagerBody } from '../support/ingest-harness.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { pollFor } from '../support/wait.js';

/*
 * Issue 12 item 10, "no credentials from URLs in any output": PROMETHEUS_URL and NATS_URL carry
 * `user:pass@` (a real local Prometheus-API server that insists on that basic auth, a real
 * nats-server with that user and password), and an alert's generatorURL carries them too. A case
 * runs the whole loop (evidence, analyst, plan, gate, script, Prometheus verify → CLOSED) with its
 * chat on the fake Slack. Then every output — log lines, the timeline, evidence, the report, Slack
 * posts, outbox events — is searched for the passwords and for any `//user…@` userinfo.
 */

const hex = (n: number) => randomBytes(n).toString('hex');
const PROM_USER = `promuser${hex(2)}`;
const PROM_PASS = `prom-pass-${hex(8)}`;
const NATS_USER = `natsuser${hex(2)}`;
const NATS_PASS = `nats-pass-${hex(8)}`;
const NATS_BIN = '/usr/sbin/nats-server';
/** Listed as staging in the e2e inventory, so the gate's staging rule approves its restart. */
const SERVICE = 'svc-good';

async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface Output { name: string; text: string }

describe('no credentials from URLs in any output (issue 12 item 10)', { timeout: 240_000 }, () => {
  const logLines: string[] = [];
  const banner: string[] = [];
  const events: OutboxEnvelope[] = [];
  const outputs: Output[] = [];
  let app: RunningOpsloop;
  let prom: FakePrometheusApi;
  let slack: FakeSlackApi;
  let nats: ChildProcess | null = null;
  let dir: string;
  let store: Awaited<ReturnType<typeof createTestPgliteStore>>;
  let caseId = '';
  let alertCase = '';
  let promUrl = '';
  let natsUrl = '';

  before(async () => {
    // A Prometheus HTTP API that answers only with the right basic auth; every series reads 0.01.
    prom = await new FakePrometheusApi({ basicAuth: { user: PROM_USER, pass: PROM_PASS }, labels: { service: SERVICE } }).start();
    promUrl = prom.url.replace('http://', `http://${PROM_USER}:${PROM_PASS}@`);
    slack = new FakeSlackApi();
    await slack.start();
    dir = await mkdtemp(join(tmpdir(), 'opsloop-url-secrets-'));
    const templates = join(dir, 'templates');
    await mkdir(templates);
    for (const [name, yaml] of Object.entries(E2E_TEMPLATES)) await writeFile(join(templates, `${name}.yaml`), yaml);
    await writeFile(join(dir, 'policy.yml'), E2E_POLICY);
    await writeFile(join(dir, 'services.yml'), E2E_SERVICES);
    await writeFile(join(dir, 'ingest.yml'), 'defaults:\n  tenant: default\n  severity: 3\n  chat: { platform: slack, channel: C0URLS }\nstart_analysis_max_severity: 2\n');
    await mkdir(join(dir, 'state'));
    process.env.OPSLOOP_SCRIPT_STATE_DIR = join(dir, 'state');

    if (existsSync(NATS_BIN)) {
      const port = await freePort();
      await mkdir(join(dir, 'nats'));
      nats = spawn(NATS_BIN, ['-js', '-sd', join(dir, 'nats'), '-p', String(port), '-a', '127.0.0.1', '--user', NATS_USER, '--pass', NATS_PASS], { stdio: 'ignore' });
      await pollFor('nats-server to listen', () => new Promise<true | undefined>((resolve) => {
        const sock = createNetServer(); void sock;
        import('node:net').then(({ connect }) => {
          const c = connect(port, '127.0.0.1', () => { c.destroy(); resolve(true); });
          c.on('error', () => resolve(undefined));
        });
      }), { timeoutMs: 10_000, intervalMs: 100 });
      natsUrl = `nats://${NATS_USER}:${NATS_PASS}@127.0.0.1:${port}`;
    }

    const config = loadConfig({
      PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'debug', OPSLOOP_AGENTS: 'on',
      OPSLOOP_DATA_DIR: join(dir, 'data'),
      OPSLOOP_POLICY_FILE: join(dir, 'policy.yml'),
      OPSLOOP_SERVICES_FILE: join(dir, 'services.yml'),
      OPSLOOP_TEMPLATE_DIR: templates,
      OPSLOOP_SCRIPT_DIR: 'runbooks/scripts',
      OPSLOOP_INGEST_FILE: join(dir, 'ingest.yml'),
      SLACK_SIGNING_SECRET: hex(16),
      SLACK_BOT_TOKEN: `xoxb-${Date.now()}-${hex(8)}`,
      SLACK_API_URL: slack.apiUrl,
      PROMETHEUS_URL: promUrl,
      ...(natsUrl ? { NATS_URL: natsUrl } : {}),
    } as NodeJS.ProcessEnv);
    store = await createTestPgliteStore();
    const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void logLines.push(line) } });
    app = await startOpsloop(config, { backend: pgliteBackend(store), logger, relay: { pollMs: 50 }, print: (line) => void banner.push(line) });
    rememberAdminToken(app.url, app.auth.adminToken);
    app.relay.on('evt.', async (msg) => void events.push(msg), 'url-secrets-test');

    // A case through the whole loop, its chat on Slack: evidence, analyst, plan, gate, script, verify.
    caseId = await openAndStart(app.url, {
      title: `restart ${SERVICE} after 5xx burst`, tenant: 't-001', service: SERVICE, env: 'staging', severity: 2,
      labels: { chat_platform: 'slack', chat_channel: 'C0URLS' },
    });
    // An alert whose generatorURL carries the credentials too.
    const body = alertmanagerBody('{}:{alertname="UrlCreds"}', [{ alertname: 'UrlCreds', labels: { service: 'svc-alerted', env: 'staging', severity: 'critical' } }]);
    for (const a of body.alerts as Array<{ generatorURL: string }>) a.generatorURL = a.generatorURL.replace('http://prometheus.example:9090', promUrl);
    const ingested = await call(app.url, 'POST', '/ingest/alertmanager', body, { 'idempotency-key': freshKey('ingest') });
    assert.ok(ingested.status < 300, JSON.stringify(ingested.body));
    alertCase = ingested.body?.data?.cases?.[0]?.case_id ?? ingested.body?.data?.case_id ?? '';

    await waitForStatus(app.url, caseId, 'CLOSED', 120_000).catch((err: unknown) => outputs.push({ name: 'wait error', text: String(err) }));
    await pollFor('Slack to receive posts', () => (slack.calls.length > 1 ? true : undefined), { timeoutMs: 10_000 }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 500)); // let the relay deliver the last events
    for (const id of [caseId, alertCase].filter(Boolean)) {
      for (const path of [`/case/${id}`, `/case/${id}/timeline`, `/case/${id}/evidence`, `/case/${id}/report`, `/case/${id}/replay`]) {
        const res = await fetch(`${app.url}${path}`, { headers: { authorization: `Bearer ${app.auth.adminToken}` } });
        outputs.push({ name: `GET ${path} → ${res.status}`, text: await res.text() });
      }
    }
  });

  after(async () => {
    await app?.close();
    await slack?.close();
    await prom?.close();
    nats?.kill('SIGKILL');
    if (store) await cleanupTestPgliteStore(store);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Every password or `//user…@` userinfo found in `list`, as one message per leak. */
  function leaks(list: Output[]): string[] {
    const found: string[] = [];
    const needles: Array<[string, RegExp]> = [
      ['Prometheus password', new RegExp(PROM_PASS)],
      ['NATS password', new RegExp(NATS_PASS)],
      ['Prometheus userinfo', new RegExp(`${PROM_USER}(:|%3A)[^@\\s"]*(@|%40)|(//|%2F%2F)${PROM_USER}`, 'i')],
      ['NATS userinfo', new RegExp(`${NATS_USER}(:|%3A)[^@\\s"]*(@|%40)|(//|%2F%2F)${NATS_USER}`, 'i')],
    ];
    for (const output of list) {
      for (const [name, re] of needles) {
        const m = re.exec(output.text);
        if (m) found.push(`${name} in ${output.name}: …${output.text.slice(Math.max(0, m.index - 80), m.index + 60)}…`);
      }
    }
    return found;
  }

  it('withoutUserinfo strips user and password, and leaves other URLs and text alone', () => {
    assert.equal(withoutUserinfo('https://user:pass@prom.example:9090/prometheus?x=1#y'), 'https://prom.example:9090/prometheus?x=1#y');
    assert.equal(withoutUserinfo('nats://tok@127.0.0.1:4222'), 'nats://127.0.0.1:4222');
    assert.equal(withoutUserinfo('http://u:p%40ss@h/graph?email=a@b.c'), 'http://h/graph?email=a@b.c');
    assert.equal(withoutUserinfo('http://h:9090/graph?g0.expr=up'), 'http://h:9090/graph?g0.expr=up');
    assert.equal(withoutUserinfo('see http://a:b@h/x and https://c:d@k'), 'see http://h/x and https://k');
    assert.equal(withoutUserinfo(''), '');
  });

  it('the loop ran on the credentialed Prometheus (basic auth sent, never refused) and reached Slack', () => {
    assert.ok(caseId && alertCase, 'both cases opened');
    assert.deepEqual(outputs.filter((o) => o.name === 'wait error'), [], 'the REST case closed');
    assert.ok(prom.authorized > 0, 'opsloop queried Prometheus with the URL credentials as basic auth');
    assert.equal(prom.refused, 0, 'no request to Prometheus went without them');
    assert.ok(slack.calls.length > 1, 'opsloop posted to Slack');
    const timeline = outputs.find((o) => o.name.startsWith(`GET /case/${caseId}/timeline → 200`));
    assert.ok(timeline && /verify_report/.test(timeline.text), 'the verify report is in the timeline');
    const evidence = outputs.find((o) => o.name.startsWith(`GET /case/${alertCase}/evidence → 200`));
    assert.ok(evidence && evidence.text.includes(`${prom.url}/graph?`), 'the alert\'s links point at Prometheus, without credentials');
    if (natsUrl) assert.ok(logLines.some((l) => l.includes('publishing events to NATS JetStream')), 'events go to the credentialed NATS');
  });

  it('no URL credentials in any log line', () => {
    assert.ok(logLines.length > 10);
    assert.deepEqual(leaks(logLines.map((text, i) => ({ name: `log line ${i}`, text }))), []);
  });

  it('no URL credentials in the timeline, evidence, case, report or replay', () => {
    assert.ok(outputs.some((o) => /\/report → 200/.test(o.name)), 'a report was read');
    assert.deepEqual(leaks(outputs), []);
  });

  it('no URL credentials in what went to Slack (cards, thread posts, files)', () => {
    assert.deepEqual(leaks([
      ...slack.calls.map((c, i) => ({ name: `slack call ${i} ${c.method}`, text: JSON.stringify(c.body) })),
      ...[...slack.files.values()].map((f) => ({ name: `slack file ${f.filename}`, text: JSON.stringify(f) })),
    ]), []);
  });

  it('no URL credentials in event payloads or the banner', () => {
    assert.ok(events.length > 0);
    assert.deepEqual(leaks([
      ...events.map((e) => ({ name: `event ${e.topic} v${e.version}`, text: JSON.stringify(e) })),
      { name: 'banner', text: banner.join('\n') },
    ]), []);
  });
});
