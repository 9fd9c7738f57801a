import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createApiToken } from '../../adapters/auth/api-tokens.js';
import { loadConfig } from '../../adapters/config/env.js';
import { silentLogger } from '../../adapters/log.js';
import { pgliteBackend } from '../../adapters/store/pglite/pglite-backend.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { createIngestExtension } from '../../app/extensions/ingest.js';
import { createSilencesExtension } from '../../app/extensions/silences.js';
import { createSimExtension } from '../../app/extensions/sim.js';
import { startOpsloop, type RunningOpsloop } from '../../app/start-opsloop.js';
import type { ChatMessage } from '../../core/ports/chat.js';
import { IngestConfigSchema } from '../../core/sensor/ingest-config.js';
import type { SilenceView } from '../../core/schemas/silence.js';
import { fetchWithHeaders } from '../support/auth.js';
import { alertmanagerBody } from '../support/ingest-harness.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { pollFor } from '../support/wait.js';

/*
 * Silences through the running app: `/ops silence` in the simulator (the same chat handler as
 * Slack and Discord), announced and ended in the thread they were made in through the outbox; the
 * Alertmanager webhook opens no case for a silenced alert and counts it (the silence's count and
 * opsloop_suppressed_total); REST with its roles; the time-based end by the Agenda job.
 */

let store: PgliteCaseStore;
let ops: RunningOpsloop;
let viewer: string;

interface SimState { messages: Array<{ id: string; thread_ref: string | null; message: ChatMessage }> }
interface Reply { reply: { kind: string; ephemeral: boolean; text: string } }

async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = { authorization: `Bearer ${ops.auth.adminToken}` }): Promise<{ status: number; json: T }> {
  const res = await fetchWithHeaders(headers)(`${ops.url}${path}`, {
    method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json', 'idempotency-key': `k-${Math.random()}` }, body: JSON.stringify(body) }),
  });
  return { status: res.status, json: await res.json() as T };
}
const type = (text: string, thread?: string) => call<Reply>('POST', '/sim/api/command', { text, ...(thread ? { thread } : {}) });
const channelTexts = async () => (await call<SimState>('GET', '/sim/api/state')).json.messages.map((m) => ({ text: m.message.text, thread: m.thread_ref }));
const metric = async (labels: string) => {
  const body = await (await fetchWithHeaders({ authorization: `Bearer ${ops.auth.adminToken}` })(`${ops.url}/metrics`)).text();
  return Number(new RegExp(`^opsloop_suppressed_total\\{${labels}\\} (\\d+)`, 'm').exec(body)?.[1] ?? NaN);
};
const ingest = (body: unknown) => call<{ data: { action: string; case_id: string | null; suppressed_by?: string[] } }>('POST', '/ingest/alertmanager', body);

before(async () => {
  store = await createTestPgliteStore();
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', OPSLOOP_METRICS_PUBLIC: 'false' });
  ops = await startOpsloop(config, {
    backend: pgliteBackend(store), logger: silentLogger(), print: () => {}, relay: { pollMs: 50 },
    extensions: [
      { name: 'silences', provides: ['silences'], create: (ctx) => createSilencesExtension(ctx, { processEveryMs: 200, sweepMs: 1000 }) },
      { name: 'ingest', needs: ['silences'], create: (ctx) => createIngestExtension(ctx, { ingestConfig: IngestConfigSchema.parse({}) }) },
      { name: 'sim', needs: ['silences'], create: (ctx) => createSimExtension(ctx) },
    ],
  });
  viewer = (await createApiToken(ops.backend.tokens, { name: 'silence-viewer', role: 'viewer', createdBy: 'test' })).secret;
});
after(async () => {
  await ops?.close();
  if (store) await cleanupTestPgliteStore(store);
});

describe('silences in the running app', () => {
  let silenceId = '';

  test('/ops silence in the simulator: an ephemeral answer, and the announcement in the channel through the outbox', async () => {
    const { json } = await type('/ops silence service=checkout-api alertname=~"Checkout.*" for 2h "db migration"');
    assert.equal(json.reply.ephemeral, true);
    const id = /Silence `([0-9a-f]{8})` made/.exec(json.reply.text)?.[1];
    assert.ok(id, json.reply.text);
    const announced = await pollFor('the announcement', async () => (await channelTexts()).find((m) => m.text.includes(`🔕 Silence \`${id}\``)));
    assert.match(announced.text, /service="checkout-api" alertname=~"Checkout\.\*"/);
    assert.match(announced.text, /db migration/);
    const listed = (await call<{ data: SilenceView[] }>('GET', '/silences')).json.data;
    silenceId = listed.find((s) => s.id.startsWith(id))!.id;
    assert.equal(listed.find((s) => s.id === silenceId)?.created_by, 'sim:alice');
  });

  test('bad input answers ephemerally with the syntax', async () => {
    const { json } = await type('/ops silence service=checkout-api "no end"');
    assert.equal(json.reply.ephemeral, true);
    assert.match(json.reply.text, /Say how long[\s\S]*Usage:[\s\S]*\/ops silence list/);
  });

  test('a silenced alert opens no case and is counted; an unsilenced one opens a case', async () => {
    const before = await metric('reason="silence",source="alert"');
    const body = alertmanagerBody('{}:{alertname="CheckoutErrorsHigh"}', [{ alertname: 'CheckoutErrorsHigh', labels: { service: 'checkout-api', env: 'prod' } }]);
    const first = await ingest(body);
    assert.equal(first.json.data.action, 'suppressed');
    assert.deepEqual(first.json.data.suppressed_by, [`silence:${silenceId}`]);
    assert.equal((await ingest(body)).json.data.action, 'suppressed', 'a re-send is suppressed again');
    assert.equal(await metric('reason="silence",source="alert"'), before + 1, 'the episode is counted once');
    assert.equal((await store.queries.listCases()).filter((c) => c.labels.alertname === 'CheckoutErrorsHigh').length, 0);
    const other = await ingest(alertmanagerBody('{}:{alertname="PaymentsDown"}', [{ alertname: 'PaymentsDown', labels: { service: 'payments', env: 'prod' } }]));
    assert.equal(other.json.data.action, 'opened');
    const silence = (await call<{ data: SilenceView[] }>('GET', '/silences')).json.data.find((s) => s.id === silenceId);
    assert.equal(silence?.suppressed_count, 1);
    const list = await type('/ops silence list');
    assert.match(list.json.reply.text, new RegExp(silenceId.slice(0, 8)));
  });

  test('REST: a viewer may list but not make or expire; a responder may; an Idempotency-Key replays', async () => {
    const asViewer = { authorization: `Bearer ${viewer}` };
    assert.equal((await call('GET', '/silences', undefined, asViewer)).status, 200);
    const body = { matchers: [{ name: 'service', op: '=', value: 'payments' }], duration: '1h', reason: 'load test' };
    assert.equal((await call('POST', '/silences', body, asViewer)).status, 403);
    assert.equal((await call('POST', `/silences/${silenceId}/expire`, undefined, asViewer)).status, 403);
    const bad = await call<{ error: { code: string; message: string } }>('POST', '/silences', { ...body, matchers: [{ name: 'alertname', op: '=~', value: '(' }] });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, 'OPS_VALIDATION');
    assert.match(bad.json.error.message, /bad regular expression/);
    const res = await fetchWithHeaders({ authorization: `Bearer ${ops.auth.adminToken}` });
    const post = () => res(`${ops.url}/silences`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': 'silence-once' }, body: JSON.stringify(body) });
    const made = await post();
    assert.equal(made.status, 201);
    const again = await post();
    assert.equal(again.status, 200);
    assert.equal(((await again.json()) as { data: SilenceView }).data.id, ((await made.json()) as { data: SilenceView }).data.id);
  });

  test('/ops silence expire ends it, tells the channel, and alerts open cases again', async () => {
    const { json } = await type(`/ops silence expire ${silenceId.slice(0, 8)}`);
    assert.match(json.reply.text, /expired/);
    await pollFor('the end in the channel', async () => (await channelTexts()).find((m) => m.text.includes(`🔔 Silence \`${silenceId.slice(0, 8)}\` expired by sim:alice`)));
    const again = await ingest(alertmanagerBody('{}:{alertname="CheckoutErrorsHigh"}', [{ alertname: 'CheckoutErrorsHigh', labels: { service: 'checkout-api', env: 'prod' } }]));
    assert.equal(again.json.data.action, 'opened');
  });

  test('a silence made in a thread ends by time (the Agenda job) and says so in that thread', async () => {
    await ingest(alertmanagerBody('{}:{alertname="DiskFull"}', [{ alertname: 'DiskFull', labels: { service: 'storage' } }]));
    const card = await pollFor('a card with a thread', async () => (await call<SimState>('GET', '/sim/api/state')).json.messages.find((m) => m.thread_ref === null && m.message.text.includes('DiskFull')));
    const { json } = await type('/ops silence service=storage for 2s "short"', card.id);
    const id = /Silence `([0-9a-f]{8})` made/.exec(json.reply.text)?.[1];
    assert.ok(id, json.reply.text);
    const ended = await pollFor('the time-based end in the thread', async () => (await channelTexts()).find((m) => m.text.includes(`🔔 Silence \`${id}\` ended (its time ran out)`)), { timeoutMs: 30_000 });
    assert.equal(ended.thread, card.id);
    const announced = (await channelTexts()).find((m) => m.text.includes(`🔕 Silence \`${id}\``));
    assert.equal(announced?.thread, card.id);
  });
});
