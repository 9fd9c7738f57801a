import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../adapters/config/env.js';
import { createLogger } from '../../adapters/log.js';
import { knownSecrets, registerConfigSecrets, registeredSecrets } from '../../adapters/secrets.js';
import { startOpsloop, type RunningOpsloop } from '../../app/start-opsloop.js';
import { pgliteBackend } from '../../adapters/store/pglite/pglite-backend.js';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';
import { FakeSlackApi } from '../support/fake-slack-api.js';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.js';
import { alertmanagerBody } from '../support/ingest-harness.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { pollFor } from '../support/wait.js';

/**
 * Issue 11 item 6, "Secrets never leave": opsloop runs with real-looking secrets configured (Slack
 * signing secret and bot token, an OpenAI key for the local fake OpenAI, the ingest token, a
 * DATABASE_URL with a password), is driven over real HTTP — including a careless user who types
 * those secrets into a case title, reason, meta and labels, bad requests whose errors echo what
 * they were sent, an alert ingested with the bearer token — and then every output is searched for
 * every secret: log lines, HTTP response bodies and headers, /metrics, the timeline, the report,
 * the replay, event payloads, what went to Slack and to OpenAI.
 */

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const b62 = (n: number) => randomBytes(n * 2).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, n);

const SECRETS = {
  slackSigningSecret: hex(16),
  slackBotToken: ['xoxb', `${Date.now()}`, hex(6), b62(24)].join('-'),
  openaiApiKey: `sk-proj-${b62(40)}`,
  ingestToken: `ingest.${b62(12)}~${hex(8)}`,
  databasePassword: `pw-${b62(16)}`,
  /** An opsloop-style API token nobody issued: sent in a header, it must not be echoed. */
  strayApiToken: `opsl_${b62(32)}`,
};

/**
 * Outputs whose cleanliness needs the Orchestrator to redact client input (title, reason, meta,
 * labels) before it writes the case, timeline and outbox (the lead's change). Until then these
 * checks run as `todo`: reported, not failing the suite. Set to false once that is in.
 */
const WRITE_TIME_REDACTION_PENDING = false;

/**
 * While REST authentication is being wired, POST /ingest/alertmanager refuses both the ingest
 * token (auth plugin) and the admin token (the route's own check). The token is still sent and
 * every answer checked; set to false once the route takes it.
 */
const INGEST_WITH_TOKEN_PENDING = false;

interface Output { name: string; text: string }

describe('secrets never leave (issue 11 item 6)', { timeout: 180_000 }, () => {
  const logLines: string[] = [];
  const banner: string[] = [];
  const http: Output[] = [];
  const events: OutboxEnvelope[] = [];
  let app: RunningOpsloop;
  let slack: FakeSlackApi;
  let openai: FakeOpenAi;
  let dir: string;
  let store: Awaited<ReturnType<typeof createTestPgliteStore>>;
  let adminToken: string | undefined;
  let restCase = '';
  let alertCase = '';
  let ingestTokenRefused = false;
  let ingestNote = '';

  const secretValues = (): Array<[string, string]> => [
    ...Object.entries(SECRETS),
    ...(adminToken ? [['adminToken', adminToken] as [string, string]] : []),
  ];

  async function call(method: string, path: string, options: { body?: unknown; raw?: string; headers?: Record<string, string>; auth?: string | null } = {}) {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    const auth = options.auth === undefined ? adminToken : options.auth;
    if (auth && !Object.keys(headers).some((h) => h.toLowerCase() === 'authorization')) headers.authorization = `Bearer ${auth}`;
    const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    if (payload !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    const res = await fetch(`${app.url}${path}`, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
    const text = await res.text();
    const headerText = [...res.headers.entries()].map(([k, v]) => `${k}: ${v}`).join('\n');
    http.push({ name: `${method} ${path.slice(0, 60)} → ${res.status}`, text: `${headerText}\n\n${text}` });
    let json: any = null;
    try { json = JSON.parse(text); } catch { /* text bodies (metrics, report) */ }
    return { status: res.status, text, json };
  }

  before(async () => {
    openai = await startFakeOpenAi({ apiKey: SECRETS.openaiApiKey });
    // A careless proxy echoes the key it was sent; the planner logs the error and falls back to templates.
    openai.enqueue(
      { kind: 'http_error', status: 401, message: `Incorrect API key provided: ${SECRETS.openaiApiKey}` },
      { kind: 'http_error', status: 401, message: `Incorrect API key provided: ${SECRETS.openaiApiKey}` },
    );
    slack = new FakeSlackApi();
    await slack.start();
    dir = await mkdtemp(join(tmpdir(), 'opsloop-secrets-'));
    await writeFile(join(dir, 'ingest.yml'), 'defaults:\n  tenant: default\n  severity: 3\n  chat: { platform: slack, channel: C0SECRETS }\nstart_analysis_max_severity: 2\n');
    const config = loadConfig({
      PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'debug', OPSLOOP_AGENTS: 'on',
      OPSLOOP_DATA_DIR: join(dir, 'data'),
      OPSLOOP_INGEST_FILE: join(dir, 'ingest.yml'),
      SLACK_SIGNING_SECRET: SECRETS.slackSigningSecret,
      SLACK_BOT_TOKEN: SECRETS.slackBotToken,
      SLACK_API_URL: slack.apiUrl,
      OPENAI_API_KEY: SECRETS.openaiApiKey,
      OPENAI_BASE_URL: openai.baseURL,
      OPENAI_MODEL: 'gpt-test',
      OPSLOOP_INGEST_TOKEN: SECRETS.ingestToken,
      // Configured (so its password is a known secret), but the store below is PGlite.
      DATABASE_URL: `postgres://opsloop:${SECRETS.databasePassword}@db.invalid:5432/opsloop`,
    } as NodeJS.ProcessEnv);
    // What start-up must do (reported to the lead for app/start-opsloop.ts); harmless if it already does.
    registerConfigSecrets(config);
    store = await createTestPgliteStore();
    const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void logLines.push(line) } });
    app = await startOpsloop(config, { backend: pgliteBackend(store), logger, relay: { pollMs: 50 }, print: (line) => void banner.push(line) });
    adminToken = (app as unknown as { auth?: { adminToken?: string } }).auth?.adminToken;
    app.relay.on('evt.', async (msg) => void events.push(msg), 'secrets-test');

    // A careless user pastes secrets into a case.
    const created = await call('POST', '/case/create', {
      headers: { 'idempotency-key': `secrets-create-${hex(4)}` },
      body: {
        title: `checkout errors after rotating ${SECRETS.slackBotToken}`, service: 'checkout', env: 'staging', severity: 2, requester: 'alice',
        labels: { chat_platform: 'slack', chat_channel: 'C0SECRETS', pasted: SECRETS.ingestToken, [`key-${SECRETS.databasePassword}`]: 'x' },
      },
    });
    assert.equal(created.status, 201, created.text);
    restCase = created.json.data.case_id;
    const started = await call('PATCH', `/case/${restCase}/transition`, {
      headers: { 'idempotency-key': `secrets-start-${hex(4)}` },
      body: {
        event: 'start_analysis', actor: 'alice', reason: `the key ${SECRETS.openaiApiKey} leaked?`,
        meta: { note: `db at postgres://opsloop:${SECRETS.databasePassword}@db.invalid/opsloop`, apiKey: SECRETS.openaiApiKey, signing: SECRETS.slackSigningSecret },
      },
    });
    assert.equal(started.status, 200, started.text);

    // Bad requests whose errors would echo what they were sent.
    await call('PATCH', `/case/${restCase}/transition`, { headers: { 'idempotency-key': `secrets-bad-${hex(4)}`, 'if-match': SECRETS.ingestToken }, body: { event: 'note', actor: 'alice' } });
    await call('PATCH', `/case/${restCase}/transition`, { headers: { 'idempotency-key': `secrets-bad-${hex(4)}`, 'if-match': `Bearer ${SECRETS.strayApiToken}` }, body: { event: 'note', actor: 'alice' } });
    await call('POST', '/case/create', { headers: { 'idempotency-key': `secrets-bad-${hex(4)}` }, raw: `{"title": "${SECRETS.slackBotToken}" ${SECRETS.slackSigningSecret}` });
    await call('POST', '/case/create', { headers: { 'idempotency-key': `secrets-bad-${hex(4)}` }, body: { title: 'x', severity: SECRETS.slackSigningSecret, env: SECRETS.openaiApiKey } });
    await call('GET', `/nope/${encodeURIComponent(SECRETS.ingestToken)}/${SECRETS.strayApiToken}`);
    await call('GET', `/case/${encodeURIComponent(SECRETS.ingestToken)}`);
    await call('GET', '/cases', { auth: SECRETS.strayApiToken });
    await call('POST', '/ingest/alertmanager', { auth: SECRETS.strayApiToken, body: alertmanagerBody('{}:{alertname="X"}', [{ alertname: 'X' }]) });
    await call('POST', '/slack/events', { auth: null, headers: { 'x-slack-signature': `v0=${hex(32)}`, 'x-slack-request-timestamp': '1' }, raw: `token=${SECRETS.slackSigningSecret}&command=/ops` , });

    // An alert with the ingest token as its bearer, whose annotation someone filled with a secret.
    const alert = alertmanagerBody('{}:{alertname="CheckoutErrors"}', [{
      alertname: 'CheckoutErrors', labels: { service: 'checkout', env: 'staging', severity: 'critical' },
      summary: `errors; debug with DATABASE_URL=postgres://opsloop:${SECRETS.databasePassword}@db.invalid/opsloop`,
    }]);
    let ingested = await call('POST', '/ingest/alertmanager', { auth: SECRETS.ingestToken, body: alert });
    if (ingested.status === 401 && adminToken) {
      // While REST auth is being wired the ingest route may not take OPSLOOP_INGEST_TOKEN yet: the
      // token was still sent (and must not leak); the alert goes in with the admin credential.
      ingestTokenRefused = true;
      ingested = await call('POST', '/ingest/alertmanager', { body: alert });
    }
    if (ingested.status >= 300) ingestNote = `ingest answered ${ingested.status}: ${ingested.text}`;
    alertCase = ingested.json?.data?.cases?.[0]?.case_id ?? ingested.json?.data?.case_id ?? '';

    // Let the agents work: the planner asks OpenAI (and gets the echoing 401), the case moves on.
    await pollFor('the planner to call OpenAI', () => (openai.chatRequests().length > 0 ? true : undefined), { timeoutMs: 30_000 }).catch(() => undefined);
    await pollFor('the REST case to leave PLANNING', async () => {
      const c = await call('GET', `/case/${restCase}`);
      return c.json?.data?.status && !['NEW', 'ANALYZING', 'PLANNING'].includes(c.json.data.status) ? true : undefined;
    }, { timeoutMs: 20_000, intervalMs: 250 }).catch(() => undefined);
    await pollFor('Slack to receive the card', () => (slack.calls.length > 0 ? true : undefined), { timeoutMs: 10_000 }).catch(() => undefined);

    for (const id of [restCase, alertCase].filter(Boolean)) {
      await call('GET', `/case/${id}`);
      await call('GET', `/case/${id}/timeline`);
      await call('GET', `/case/${id}/report`);
      await call('GET', `/case/${id}/replay`);
    }
    await call('GET', '/cases');
    await call('GET', '/healthz');
    await call('GET', '/metrics');
  });

  after(async () => {
    await app?.close();
    await slack?.close();
    await openai?.close();
    if (store) await cleanupTestPgliteStore(store);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Every secret found in `outputs`, with a little context, as one message per leak. */
  function leaks(outputs: Output[], except: string[] = []): string[] {
    const found: string[] = [];
    for (const output of outputs) {
      for (const [name, value] of secretValues()) {
        if (except.includes(name)) continue;
        const at = output.text.indexOf(value);
        if (at >= 0) found.push(`${name} in ${output.name}: …${output.text.slice(Math.max(0, at - 60), at + value.length + 20)}…`);
      }
    }
    return found;
  }

  it('the scenario ran: cases opened, errors answered, OpenAI and Slack reached', () => {
    assert.ok(restCase, 'the REST case was created');
    assert.ok(http.some((o) => / → 4\d\d$/.test(o.name)), 'some requests were refused');
    assert.ok(logLines.length > 10, `log lines captured: ${logLines.length}`);
    assert.ok(openai.chatRequests().length > 0, 'the planner called the fake OpenAI');
    assert.ok(slack.calls.length > 0, 'opsloop posted to the fake Slack');
  });

  it('an alert was ingested with OPSLOOP_INGEST_TOKEN as its bearer', INGEST_WITH_TOKEN_PENDING ? { todo: 'the ingest route must take OPSLOOP_INGEST_TOKEN under REST auth (lead)' } : {}, () => {
    assert.equal(ingestTokenRefused, false, 'POST /ingest/alertmanager refused OPSLOOP_INGEST_TOKEN');
    assert.equal(ingestNote, '', 'the alert was ingested');
    assert.ok(alertCase, 'the alert opened a case');
  });

  it('the configured secrets are known to the redaction', () => {
    const known = registeredSecrets();
    for (const value of [SECRETS.slackSigningSecret, SECRETS.slackBotToken, SECRETS.openaiApiKey, SECRETS.ingestToken, SECRETS.databasePassword]) {
      assert.ok(known.includes(value), `registered: ${value.slice(0, 6)}…`);
    }
    assert.deepEqual(knownSecrets({ discordPublicKey: 'ab'.repeat(32) }), [], 'the Discord public key is not a secret');
  });

  it('no secret in any log line (messages, errors and stacks, every field)', () => {
    assert.deepEqual(leaks(logLines.map((line, i) => ({ name: `log line ${i}`, text: line }))), []);
    assert.ok(logLines.some((line) => line.includes('[redacted]')), 'some line had something to redact');
  });

  it('no secret in any error response body or header', () => {
    const errors = http.filter((o) => / → [45]\d\d$/.test(o.name));
    assert.ok(errors.length >= 6, `error responses: ${errors.map((e) => e.name).join(', ')}`);
    assert.deepEqual(leaks(errors), []);
    assert.ok(errors.some((e) => e.text.includes('[redacted]')), 'some error echoed what it was sent, redacted');
  });

  it('no secret in /metrics, the report or the replay', () => {
    const outputs = http.filter((o) => /\/metrics|\/report|\/replay/.test(o.name));
    assert.ok(outputs.some((o) => /\/report → 200/.test(o.name)), 'a report was read');
    assert.deepEqual(leaks(outputs), []);
  });

  it('no secret in what went to Slack (cards, thread posts, edits, files)', () => {
    const outputs = [
      ...slack.calls.map((c, i) => ({ name: `slack call ${i} ${c.method}`, text: JSON.stringify(c.body) })),
      ...[...slack.files.values()].map((f) => ({ name: `slack file ${f.filename}`, text: JSON.stringify(f) })),
    ];
    assert.deepEqual(leaks(outputs), []);
    assert.ok(outputs.some((o) => o.text.includes('[redacted]')), 'the pasted secrets reached Slack redacted');
  });

  it('no configured secret in the start-up banner', () => {
    assert.deepEqual(leaks([{ name: 'banner', text: banner.join('\n') }], ['adminToken']), []);
  });

  const pending = WRITE_TIME_REDACTION_PENDING ? { todo: 'needs the Orchestrator to redact client input before the write (lead)' } : {};

  it('no secret in any successful response (case, timeline, lists)', pending, () => {
    assert.deepEqual(leaks(http.filter((o) => / → [23]\d\d$/.test(o.name))), []);
  });

  it('no secret in event payloads (outbox messages as the relay delivers them)', pending, () => {
    assert.ok(events.length > 0);
    assert.deepEqual(leaks(events.map((e) => ({ name: `event ${e.topic} v${e.version}`, text: JSON.stringify(e) }))), []);
  });

  it('no secret in what was sent to OpenAI (prompts)', pending, () => {
    assert.deepEqual(leaks(openai.requests.map((r, i) => ({ name: `openai request ${i} ${r.path}`, text: JSON.stringify(r.body ?? null) }))), []);
  });
});
