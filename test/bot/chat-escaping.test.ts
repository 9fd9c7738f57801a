/**
 * Chat text from outside never pings or links, and NUL bytes on chat paths are refused.
 * One running opsloop with Slack (fake Web API), Discord (fake REST) and the simulator:
 * - a case whose title, plan, gate reasons and alert evidence carry `<!channel> <@U123>
 *   <https://evil|click> @everyone` reaches Slack escaped (card, thread posts, `text` fallbacks)
 *   and Discord with `allowed_mentions: { parse: [] }` on every message and mentions broken;
 * - NUL characters in a Slack slash command, a Discord option, a reject reason and a simulator
 *   command → a clear answer, never a 500, nothing written.
 */
import { slackViewSubmissionBody } from '../support/slack-payloads.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, sign as edSign, type KeyObject } from 'node:crypto';
import { loadConfig } from '../../adapters/config/env.js';
import { silentLogger } from '../../adapters/log.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { startOpsloop, type RunningOpsloop } from '../../app/start-opsloop.js';
import { pgliteBackend } from '../../adapters/store/pglite/pglite-backend.js';
import { createSlackExtension } from '../../app/extensions/slack.js';
import { createDiscordExtension } from '../../app/extensions/discord.js';
import { createSimExtension } from '../../app/extensions/sim.js';
import { decodeAction } from '../../core/chat/actions.js';
import { neutraliseDiscordMentions, slackEscape, unstorableText } from '../../core/chat/escape.js';
import type { ChangePlan } from '../../core/schemas/plan.js';
import { FakeSlackApi, type FakeSlackCall } from '../support/fake-slack-api.js';
import { FakeDiscordRest } from '../support/fake-discord-rest.js';
import { fetchWithHeaders } from '../support/auth.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { pollFor, type Probe } from '../support/wait.js';
import { expectOk } from '../support/outcomes.js';

const EVIL = '<!channel> <@U123> <@200000000000000009> <https://evil|click> @everyone @here & co';
const SECRET = 'test-signing-secret';
const SLACK_CHANNEL = 'C_INCIDENTS';
const SLACK_REQ = { id: 'U_REQ', username: 'rita' };
const SLACK_APPROVER = { id: 'U_APPROVER', username: 'alice' };
const APP_ID = '700000000000000001';
const GUILD = '800000000000000001';
const DISCORD_CHANNEL = '900000000000000001';
const ROLE = '100000000000000001';
const D_REQ = { id: '200000000000000001', username: 'rita', roles: [ROLE] };
const D_APPROVER = { id: '200000000000000002', username: 'alice', roles: [ROLE] };
const waitFor = <T>(what: string, probe: Probe<T>): Promise<T> => pollFor(what, probe, { timeoutMs: 30_000 });

const plan = (title: string): ChangePlan => ({
  title, risk_score: 0.4,
  steps: [{ name: title, action: 'noop', params: {}, timeout_s: 30, retry: 0 }],
  rollback: { note: title },
  verify: { settle_s: 0, checks: [{ name: 'p95', query: 'p95_latency_seconds', op: '<', threshold: 0.3, window: '5m' }] },
});

let slack: FakeSlackApi;
let discord: FakeDiscordRest;
let store: PgliteCaseStore;
let ops: RunningOpsloop;
let discordKey: KeyObject;
let seq = 0;

async function counts() {
  const q = async (table: string) => Number((await store.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n);
  return { cases: await q('ops_case'), timeline: await q('case_timeline'), idempotency: await q('idempotency'), outbox: await q('outbox'), sim: await q('sim_message') };
}

// ---- Slack

async function postSlack(body: string) {
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = `v0=${createHmac('sha256', SECRET).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  const res = await fetch(`${ops.url}/slack/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': signature },
    body,
  });
  return { status: res.status, text: await res.text() };
}

function slashCommand(text: string, user = SLACK_REQ, responseId = `cmd-${++seq}`) {
  return new URLSearchParams({
    token: 'legacy', team_id: 'T1', team_domain: 'acme', channel_id: SLACK_CHANNEL, channel_name: 'incidents',
    user_id: user.id, user_name: user.username, command: '/ops', text, api_app_id: 'A1', is_enterprise_install: 'false',
    response_url: slack.responseUrl(responseId), trigger_id: `trig.${responseId}.${Date.now()}`,
  }).toString();
}

function viewSubmission(privateMetadata: string, reason: string, user = SLACK_APPROVER) {
  return slackViewSubmissionBody(privateMetadata, reason, user, `trig.view.${++seq}`);
}

/** Every mrkdwn string in a Slack message body (plain_text is never parsed by Slack). */
function mrkdwnStrings(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => mrkdwnStrings(v, out));
  else if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (o.type === 'mrkdwn' && typeof o.text === 'string') out.push(o.text);
    for (const v of Object.values(o)) if (v && typeof v === 'object') mrkdwnStrings(v, out);
  }
  return out;
}

/** Slack control sequences that would ping or link: `<!…>`, `<@…>`, `<#…>`, `<http…>`. */
const SLACK_CONTROL = /<[!@#]|<https?:|<mailto:/;

// ---- Discord

async function postInteraction(payload: unknown) {
  const body = JSON.stringify(payload);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = edSign(null, Buffer.from(timestamp + body), discordKey).toString('hex');
  const res = await fetch(`${ops.url}/discord/interactions`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-signature-ed25519': signature, 'x-signature-timestamp': timestamp }, body,
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : {}) as { type?: number; data?: Record<string, unknown> } };
}

type DUser = { id: string; username: string; roles: string[] };
function dBase(type: number, user: DUser, extra: Record<string, unknown>) {
  return {
    id: String(1_500_000_000_000_000_000n + BigInt(++seq)), application_id: APP_ID, type, token: `tok-${seq}-${'x'.repeat(20)}`, version: 1,
    guild_id: GUILD, channel_id: DISCORD_CHANNEL, channel: { id: DISCORD_CHANNEL, type: 0 },
    member: { user: { id: user.id, username: user.username, global_name: null, discriminator: '0', avatar: null }, roles: user.roles, permissions: '0' },
    ...extra,
  };
}
function dSlash(sub: string, options: Record<string, string | number>, user: DUser = D_REQ) {
  const opts = Object.entries(options).map(([name, value]) => ({ name, type: typeof value === 'number' ? 4 : 3, value }));
  return dBase(2, user, { data: { id: '1', name: 'ops', type: 1, options: [{ name: sub, type: 1, options: opts }] } });
}
function dModal(customId: string, reason: string, user: DUser) {
  return dBase(5, user, { data: { custom_id: customId, components: [{ type: 1, components: [{ type: 4, custom_id: 'reason', value: reason }] }] } });
}

/** The answer body: the type-4 data, or after a deferral the webhook edit. */
async function discordAnswer(sent: { token: string }, answer: Awaited<ReturnType<typeof postInteraction>>): Promise<Record<string, unknown>> {
  assert.equal(answer.status, 200, JSON.stringify(answer.json));
  if (answer.json.type === 4 || answer.json.type === 9) return answer.json.data ?? {};
  assert.equal(answer.json.type, 5);
  const edit = await waitFor('the follow-up edit', () => discord.callsOf('webhook.edit').find((c) => c.params.token === sent.token));
  return edit.body as Record<string, unknown>;
}

/** A raw Discord mention (no zero-width space after `@`/`<`). */
const DISCORD_MENTION = /@(everyone|here)|<@[!&]?\d|<#\d/;

// ---- Simulator

function simCall(path: string, body: unknown) {
  return fetchWithHeaders({ authorization: `Bearer ${ops.auth.adminToken}` })(`${ops.url}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
}

async function toWaitGate(caseId: string, approvers: Record<string, string[]>): Promise<void> {
  const o = ops.orchestrator;
  await waitFor('ANALYZING', async () => (await store.queries.getCase(caseId))?.status === 'ANALYZING');
  expectOk(await o.transition(caseId, { event: 'analysis_done', actor: 'analyst' }, { idempotencyKey: `e-ad-${caseId}` }), 'applied');
  await o.record(caseId, {
    event: 'alert_firing', actor: 'sensor',
    emit: [{ topic: 'evt.alert.firing.v1', data: {
      source: 'alertmanager', group_key: '{}:{}', matched_by: null, summary: EVIL, alerts: [],
      evidence: [{ id: 'ev-1', kind: 'alert', title: EVIL, url: null, locator: EVIL }],
    } }],
  }, { idempotencyKey: `e-al-${caseId}` });
  const p = plan(EVIL);
  await o.record(caseId, { event: 'plan_proposed', actor: 'planner', emit: [{ topic: 'evt.plan.proposed.v1', data: { actor: 'planner', plan: p, source: 'template' as const, template: null } }] }, { idempotencyKey: `e-pp-${caseId}` });
  expectOk(await o.transition(caseId, { event: 'plan_ready', actor: 'planner', meta: { plan: p } }, { idempotencyKey: `e-pr-${caseId}` }), 'applied');
  const decision = {
    decision: 'needs_human' as const, reasons: [EVIL], matched_rules: ['prod'],
    approvers: { slack_users: [], slack_groups: [], discord_roles: [], users: [], sim_users: [], ...approvers },
  };
  await o.record(caseId, {
    event: 'gate_decision', actor: 'gatekeeper', reason: 'needs_human', meta: { decision },
    emit: [{ topic: 'evt.gate.needs_human.v1', data: { actor: 'gatekeeper', decision } }],
  }, { idempotencyKey: `e-gd-${caseId}` });
  assert.equal((await store.queries.getCase(caseId))?.status, 'WAIT_GATE');
}

before(async () => {
  slack = await new FakeSlackApi().start();
  discord = await new FakeDiscordRest().start();
  store = await createTestPgliteStore();
  const pair = generateKeyPairSync('ed25519');
  discordKey = pair.privateKey;
  const config = loadConfig({
    PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent',
    SLACK_SIGNING_SECRET: SECRET, SLACK_BOT_TOKEN: 'xoxb-test-token', SLACK_API_URL: slack.apiUrl,
    DISCORD_PUBLIC_KEY: pair.publicKey.export({ format: 'der', type: 'spki' }).subarray(12).toString('hex'),
    DISCORD_BOT_TOKEN: 'test-bot-token', DISCORD_API_URL: discord.apiUrl,
  });
  ops = await startOpsloop(config, {
    backend: pgliteBackend(store), logger: silentLogger(), print: () => {}, relay: { pollMs: 50 },
    extensions: [(ctx) => createSlackExtension(ctx), (ctx) => createDiscordExtension(ctx), (ctx) => createSimExtension(ctx)],
  });
});

after(async () => {
  await ops?.close();
  if (store) await cleanupTestPgliteStore(store);
  await slack?.close();
  await discord?.close();
});

describe('escaping helpers (core/chat/escape.ts)', () => {
  test('Slack mrkdwn, Discord mentions, unstorable strings', () => {
    assert.equal(slackEscape('<!channel> & <@U1> <https://e|x>'), '&lt;!channel&gt; &amp; &lt;@U1&gt; &lt;https://e|x&gt;');
    const d = neutraliseDiscordMentions('@everyone @here <@123> <@&456> <#789> mail@example.com');
    assert.doesNotMatch(d, DISCORD_MENTION);
    assert.match(d, /mail@example\.com/);
    assert.match(unstorableText('a\u0000b') ?? '', /NUL/);
    assert.match(unstorableText('a\ud800b') ?? '', /surrogate/);
    assert.equal(unstorableText('ok 😀'), null);
  });
});

describe('chat text from outside never pings or links', () => {
  test('Slack: card, thread posts and `text` fallbacks arrive escaped', async () => {
    const id = `open-${++seq}`;
    assert.equal((await postSlack(slashCommand(`open "${EVIL}" sev=2 service=checkout-api env=prod`, SLACK_REQ, id))).status, 200);
    const answer = await waitFor('the /ops open answer', () => slack.calls.find((c) => c.method === 'response_url' && c.responseId === id));
    const short = /case `([0-9a-f]{8})`/.exec(String(answer.body.text))?.[1];
    assert.ok(short, String(answer.body.text));
    const caseId = (await store.queries.listCases({ limit: 100 })).find((c) => c.id.startsWith(short))!.id;
    await toWaitGate(caseId, { slack_users: [SLACK_APPROVER.id] });
    const posts = (): FakeSlackCall[] => [...slack.callsOf('chat.postMessage'), ...slack.callsOf('chat.update')];
    // Card, alert, plan (with buttons) — all of them carry the text.
    await waitFor('card, alert and plan posts', () => {
      const texts = posts().map((c) => String(c.body.text));
      return texts.some((t) => t.startsWith('[')) && texts.some((t) => t.includes('Alert firing')) && texts.some((t) => t.startsWith('Plan for case'))
        && posts().some((c) => JSON.stringify(c.body.blocks ?? []).includes('ops_approve')) ? true : undefined;
    });
    const all = [...posts(), ...slack.calls.filter((c) => c.method === 'response_url')];
    let escapedFallbacks = 0;
    for (const call of all) {
      const text = String(call.body.text ?? '');
      assert.doesNotMatch(text, SLACK_CONTROL, `${call.method} text: ${text}`);
      if (text.includes('&lt;!channel&gt;')) escapedFallbacks++;
      for (const m of mrkdwnStrings(call.body.blocks ?? [])) assert.doesNotMatch(m, SLACK_CONTROL, `${call.method} mrkdwn: ${m}`);
    }
    assert.ok(escapedFallbacks >= 3, `the card, alert and plan fallbacks show the title escaped (${escapedFallbacks})`);
    const mrkdwn = all.flatMap((c) => mrkdwnStrings(c.body.blocks ?? [])).join('\n');
    assert.match(mrkdwn, /&lt;https:\/\/evil\|click&gt;/, 'the spoofed link is shown as text');
  });

  test('Discord: every message carries allowed_mentions {parse: []} and no live mention', async () => {
    const sent = dSlash('open', { title: EVIL, sev: 2, service: 'checkout-api', env: 'prod' });
    const body = await discordAnswer(sent, await postInteraction(sent));
    assert.deepEqual(body.allowed_mentions, { parse: [] });
    const short = /case `?([0-9a-f]{8})/.exec(JSON.stringify(body).replace(/\\\\/g, ''))?.[1];
    assert.ok(short, JSON.stringify(body));
    const caseId = (await store.queries.listCases({ limit: 100 })).find((c) => c.id.startsWith(short))!.id;
    await toWaitGate(caseId, { discord_roles: [ROLE] });
    const posted = () => discord.calls.filter((c) => c.kind === 'message.create' || c.kind === 'message.edit' || c.kind === 'webhook.edit');
    const describeCalls = () => discord.calls.map((c) => `${c.kind} ${JSON.stringify(c.body).slice(0, 120)}`).join('\n');
    await waitFor('card, alert and plan messages', () => {
      const bodies = posted().map((c) => JSON.stringify(c.body));
      return bodies.some((b) => b.includes('Alert firing')) && bodies.some((b) => b.includes('custom_id')) ? true : undefined;
    }).catch((e: unknown) => { throw new Error(`${(e as Error).message}; calls:\n${describeCalls()}`); });
    // The report goes up as an attachment message (a different code path).
    const report = dSlash('report', { case: short });
    await discordAnswer(report, await postInteraction(report));
    await waitFor('the report attachment', () => posted().some((c) => c.files?.length) ? true : undefined)
      .catch((e: unknown) => { throw new Error(`${(e as Error).message}; calls:\n${describeCalls()}`); });
    assert.ok(posted().length >= 4);
    for (const call of posted()) {
      const b = call.body as Record<string, unknown>;
      assert.deepEqual(b.allowed_mentions, { parse: [] }, `${call.kind} ${call.path} carries allowed_mentions: ${JSON.stringify(b).slice(0, 300)}`);
      assert.doesNotMatch(JSON.stringify(b), DISCORD_MENTION, `${call.kind} ${call.path} has no live mention`);
    }
  });
});

describe('NUL bytes on chat paths → a clear answer, nothing written', () => {
  test('Slack slash command and reject reason', async () => {
    const before = await counts();
    const res = await postSlack(slashCommand('open "bad\u0000title" sev=2'));
    assert.equal(res.status, 200);
    const ack = JSON.parse(res.text) as { response_type: string; text: string };
    assert.equal(ack.response_type, 'ephemeral');
    assert.match(ack.text, /NUL/);
    // A reject reason with a NUL, on a case waiting at the gate.
    const cases = await store.queries.listCases({ limit: 100 });
    const waiting = cases.find((c) => c.status === 'WAIT_GATE' && c.labels.chat_platform === 'slack');
    assert.ok(waiting, 'the Slack case of the escaping test waits at the gate');
    const value = [...slack.callsOf('chat.update'), ...slack.callsOf('chat.postMessage')].flatMap((c) => {
      const blocks = (c.body.blocks ?? []) as Array<{ type: string; elements?: Array<{ action_id: string; value: string }> }>;
      return blocks.flatMap((b) => b.elements ?? []).filter((e) => e.action_id === 'ops_reject').map((e) => e.value);
    }).find((v) => decodeAction(v)?.case_id === waiting.id);
    assert.ok(value);
    const before2 = await counts();
    const sub = await postSlack(viewSubmission(JSON.stringify({ value, channel: SLACK_CHANNEL }), 'because\u0000'));
    assert.equal(sub.status, 200);
    assert.match(sub.text, /NUL/, sub.text);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(await counts(), before2);
    assert.equal((await store.queries.getCase(waiting.id))?.status, 'WAIT_GATE');
    assert.equal(before.cases, before2.cases);
  });

  test('Discord option and reject reason', async () => {
    const before = await counts();
    const sent = dSlash('open', { title: 'bad\u0000title', sev: 2 });
    const body = await discordAnswer(sent, await postInteraction(sent));
    assert.equal(body.flags, 64);
    assert.match(String(body.content), /NUL/);
    const waiting = (await store.queries.listCases({ limit: 100 })).find((c) => c.status === 'WAIT_GATE' && c.labels.chat_platform === 'discord');
    assert.ok(waiting);
    const rejectValue = discord.calls.flatMap((c) => {
      const comps = ((c.body as { components?: Array<{ components?: Array<{ custom_id?: string }> }> } | null)?.components ?? []);
      return comps.flatMap((r) => r.components ?? []).map((x) => x.custom_id ?? '');
    }).find((v) => decodeAction(v)?.event === 'gate_rejected' && decodeAction(v)?.case_id === waiting.id);
    assert.ok(rejectValue);
    const modal = dModal(`opsreject:${rejectValue}`, 'because\u0000', D_APPROVER);
    const answer = await discordAnswer(modal, await postInteraction(modal));
    assert.match(String(answer.content), /NUL/, JSON.stringify(answer));
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(await counts(), before);
    assert.equal((await store.queries.getCase(waiting.id))?.status, 'WAIT_GATE');
  });

  test('simulator command and reject reason', async () => {
    const before = await counts();
    const res = await simCall('/sim/api/command', { text: '/ops open "bad\u0000title" sev=2' });
    assert.ok(res.status < 500, `status ${res.status}`);
    const json = await res.json() as { reply?: { text: string; ephemeral: boolean }; error?: { code: string; message: string } };
    assert.match(json.reply?.text ?? json.error?.message ?? '', /NUL/, JSON.stringify(json));
    if (json.error) assert.equal(json.error.code, 'OPS_VALIDATION');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(await counts(), before);
  });
});
