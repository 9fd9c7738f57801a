import { testAuth } from '../support/auth.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { loadConfig } from '../../adapters/config/env.js';
import { silentLogger } from '../../adapters/log.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { startOpsloop, type RunningOpsloop } from '../../app/start-opsloop.js';
import { pgliteBackend } from '../../adapters/store/pglite/pglite-backend.js';
import { createDiscordExtension } from '../../app/extensions/discord.js';
import { DiscordInteractions } from '../../bot/discord/discord-interactions.js';
import { ChatHandler } from '../../bot/chat-handler.js';
import { decodeAction } from '../../core/chat/actions.js';
import { FakeDiscordRest } from '../support/fake-discord-rest.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { expectOk } from '../support/outcomes.js';
import { APP_ID, GUILD, CHANNEL, APPROVER_ROLE, REQUESTER, APPROVER, BYSTANDER, waitFor, plan } from './discord-fixtures.js';

let fake: FakeDiscordRest;
let store: PgliteCaseStore;
let ops: RunningOpsloop;
let privateKey: KeyObject;
let otherPrivateKey: KeyObject;
let seq = 0;

type User = { id: string; username: string; roles: string[] };
interface Answer { status: number; json: { type?: number; data?: Record<string, unknown>; error?: { code: string } } }

function snowflake(): string {
  return String(1_500_000_000_000_000_000n + BigInt(++seq));
}

function rawPublicKeyHex(key: KeyObject): string {
  return key.export({ format: 'der', type: 'spki' }).subarray(12).toString('hex');
}

async function postInteraction(payload: unknown, opts: { key?: KeyObject; timestamp?: number; signature?: string; raw?: string } = {}): Promise<Answer> {
  const body = opts.raw ?? JSON.stringify(payload);
  const timestamp = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  const signature = opts.signature ?? sign(null, Buffer.from(timestamp + body), opts.key ?? privateKey).toString('hex');
  const res = await fetch(`${ops.url}/discord/interactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-signature-ed25519': signature, 'x-signature-timestamp': timestamp },
    body,
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) as Answer['json'] : {} };
}

function base(type: number, user: User, extra: Record<string, unknown>) {
  return {
    id: snowflake(), application_id: APP_ID, type, token: `tok-${seq}-${'x'.repeat(20)}`, version: 1,
    guild_id: GUILD, channel_id: CHANNEL, channel: { id: CHANNEL, type: 0 },
    member: { user: { id: user.id, username: user.username, global_name: null, discriminator: '0', avatar: null }, roles: user.roles, permissions: '0' },
    app_permissions: '0', locale: 'en-US', entitlements: [], authorizing_integration_owners: {}, context: 0,
    ...extra,
  };
}

function slash(sub: string, options: Record<string, string | number>, user: User = REQUESTER, channel = CHANNEL) {
  const opts = Object.entries(options).map(([name, value]) => ({ name, type: typeof value === 'number' ? 4 : 3, value }));
  return base(2, user, { channel_id: channel, channel: { id: channel, type: 0 }, data: { id: '1', name: 'ops', type: 1, options: [{ name: sub, type: 1, options: opts }] } });
}

function click(customId: string, user: User) {
  return base(3, user, { data: { custom_id: customId, component_type: 2 }, message: { id: '1', channel_id: CHANNEL } });
}

function modalSubmit(customId: string, reason: string, user: User) {
  return base(5, user, { data: { custom_id: customId, components: [{ type: 1, components: [{ type: 4, custom_id: 'reason', value: reason }] }] } });
}

/** The text of an answer: directly (type 4) or, after a deferral (type 5), from the webhook edit. */
async function answerText(sent: ReturnType<typeof base>, answer: Answer): Promise<{ text: string; ephemeral: boolean }> {
  assert.equal(answer.status, 200, JSON.stringify(answer.json));
  if (answer.json.type === 4) {
    const data = answer.json.data ?? {};
    return { text: textOf(data), ephemeral: data.flags === 64 };
  }
  assert.equal(answer.json.type, 5, `unexpected answer type ${answer.json.type}`);
  const edit = await waitFor('the follow-up edit', () => fake.callsOf('webhook.edit').find((c) => c.params.token === sent.token));
  return { text: textOf(edit.body as Record<string, unknown>), ephemeral: (answer.json.data as { flags?: number }).flags === 64 };
}

function textOf(data: Record<string, unknown>): string {
  const embeds = (data.embeds ?? []) as Array<{ title?: string; description?: string; fields?: Array<{ name: string; value: string }>; footer?: { text: string } }>;
  return [String(data.content ?? ''), ...embeds.flatMap((e) => [
    e.title ?? '', e.description ?? '', ...(e.fields ?? []).map((f) => `${f.name}: ${f.value}`), e.footer?.text ?? '',
  ])].join('\n').replace(/\\(.)/g, '$1');
}

async function counts() {
  const q = async (table: string) => Number((await store.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n);
  return { cases: await q('ops_case'), timeline: await q('case_timeline'), idempotency: await q('idempotency'), outbox: await q('outbox') };
}

async function openCase(title: string): Promise<string> {
  const sent = slash('open', { title, sev: 2, service: 'checkout-api', env: 'prod' });
  const { text, ephemeral } = await answerText(sent, await postInteraction(sent));
  assert.ok(ephemeral);
  const short = /case `([0-9a-f]{8})`/.exec(text)?.[1];
  assert.ok(short, `answer names the case: ${text}`);
  const c = (await store.queries.listCases({ limit: 100 })).find((x) => x.id.startsWith(short));
  assert.ok(c);
  return c.id;
}

/** Drive a case to WAIT_GATE with a needs_human decision, as the planner and Gatekeeper jobs do. */
async function toWaitGate(caseId: string): Promise<number> {
  const o = ops.orchestrator;
  await waitFor('ANALYZING', async () => (await store.queries.getCase(caseId))?.status === 'ANALYZING');
  let r = await o.transition(caseId, { event: 'analysis_done', actor: 'analyst' }, { idempotencyKey: `t-ad-${caseId}` });
  expectOk(r, 'applied');
  await o.record(caseId, { event: 'plan_proposed', actor: 'planner', emit: [{ topic: 'evt.plan.proposed.v1', data: { actor: 'planner', plan, source: 'template' as const, template: null } }] }, { idempotencyKey: `t-pp-${caseId}` });
  r = await o.transition(caseId, { event: 'plan_ready', actor: 'planner', meta: { plan } }, { idempotencyKey: `t-pr-${caseId}` });
  expectOk(r, 'applied');
  const decision = {
    decision: 'needs_human' as const, reasons: ['prod changes need a human'], matched_rules: ['prod'],
    approvers: { slack_users: [], slack_groups: [], discord_roles: [APPROVER_ROLE], users: [], sim_users: [] },
  };
  await o.record(caseId, {
    event: 'gate_decision', actor: 'gatekeeper', reason: 'needs_human', meta: { decision },
    emit: [{ topic: 'evt.gate.needs_human.v1', data: { actor: 'gatekeeper', decision } }],
  }, { idempotencyKey: `t-gd-${caseId}` });
  const c = await store.queries.getCase(caseId);
  assert.equal(c?.status, 'WAIT_GATE');
  return c.version;
}

/** The thread the card of a case opened (from the fake's records). */
async function threadOf(caseId: string): Promise<string> {
  return waitFor('the case thread', () => {
    const card = [...fake.messages.values()].find((m) => m.channel_id === CHANNEL && JSON.stringify(m.body).includes(caseId.slice(0, 8)));
    if (!card) return undefined;
    return [...fake.threads.entries()].find(([, t]) => t.message === card.id)?.[0];
  });
}

/** Approve/Reject custom_ids on the plan message in the thread, once the notifier put them there. */
async function buttonsOf(caseId: string): Promise<{ approve: string; reject: string }> {
  const thread = await threadOf(caseId);
  return waitFor('plan buttons', () => {
    for (const m of fake.messagesIn(thread)) {
      const rows = (m.body.components ?? []) as Array<{ components: Array<{ custom_id: string; label: string }> }>;
      const buttons = rows.flatMap((r) => r.components);
      const approve = buttons.find((b) => b.label === 'Approve')?.custom_id;
      const reject = buttons.find((b) => b.label === 'Reject')?.custom_id;
      if (approve && reject && decodeAction(approve)?.case_id === caseId) return { approve, reject };
    }
    return undefined;
  });
}

function gatePostsIn(thread: string, pattern: RegExp) {
  return fake.messagesIn(thread).filter((m) => pattern.test(textOf(m.body)) && /Gate decision/.test(textOf(m.body)));
}

before(async () => {
  fake = await new FakeDiscordRest().start();
  store = await createTestPgliteStore();
  const pair = generateKeyPairSync('ed25519');
  privateKey = pair.privateKey;
  otherPrivateKey = generateKeyPairSync('ed25519').privateKey;
  const config = loadConfig({
    PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent',
    DISCORD_PUBLIC_KEY: rawPublicKeyHex(pair.publicKey), DISCORD_BOT_TOKEN: 'test-bot-token', DISCORD_API_URL: fake.apiUrl,
  });
  ops = await startOpsloop(config, {
    backend: pgliteBackend(store), logger: silentLogger(), print: () => {}, relay: { pollMs: 50 },
    extensions: [(ctx) => createDiscordExtension(ctx)],
  });
});

after(async () => {
  await ops?.close();
  if (store) await cleanupTestPgliteStore(store);
  await fake?.close();
});

describe('Discord HTTP interactions', () => {
  test('PING → PONG', async () => {
    const answer = await postInteraction({ id: snowflake(), application_id: APP_ID, type: 1, token: 'ping-token', version: 1 });
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.json, { type: 1 });
  });

  test('wrong key, bad signature, stale or future timestamp → 401, nothing written', async () => {
    const before = await counts();
    const payload = slash('open', { title: 'forged case' });
    const now = Math.floor(Date.now() / 1000);
    for (const opts of [
      { key: otherPrivateKey }, { signature: 'ab'.repeat(64) }, { signature: 'not-hex' }, { timestamp: now - 6 * 60 }, { timestamp: now + 10 * 60 },
    ]) {
      const answer = await postInteraction(payload, opts);
      assert.equal(answer.status, 401, JSON.stringify(opts));
      assert.equal(answer.json.error?.code, 'OPS_UNAUTHORIZED');
    }
    // A signature over a different body does not carry over.
    const ts = String(now);
    const other = sign(null, Buffer.from(ts + JSON.stringify(slash('open', { title: 'other' }))), privateKey).toString('hex');
    assert.equal((await postInteraction(payload, { signature: other, timestamp: now })).status, 401);
    // A PING signed with the wrong key is refused too (Discord checks this when the URL is saved).
    assert.equal((await postInteraction({ id: '1', application_id: APP_ID, type: 1, token: 't' }, { key: otherPrivateKey })).status, 401);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(await counts(), before);
    assert.equal(fake.callsOf('interaction.callback').length + fake.callsOf('webhook.edit').length, 0);
  });

  test('bad input → ephemeral answer or 400/413, nothing written', async () => {
    const before = await counts();
    for (const [sub, options, pattern] of [
      ['open', { title: '' }, /title is empty/],
      ['open', { title: 'x', sev: 9 }, /sev must be 1, 2, 3 or 4/],
      ['open', { title: 'x', service: 'a/b' }, /service must be a name/],
      ['status', { case: 'deadbeef' }, /No case has an id starting with/],
      ['timeline', { case: 'zzz' }, /is not a case id/],
      ['frobnicate', {}, /Unknown subcommand/],
    ] as const) {
      const sent = slash(sub, options);
      const { text, ephemeral } = await answerText(sent, await postInteraction(sent));
      assert.ok(ephemeral, `${sub} answer is ephemeral`);
      assert.match(text, pattern);
    }
    const unknownCase = click('ops1:a:00000000-0000-4000-8000-000000000000:3', APPROVER);
    assert.match((await answerText(unknownCase, await postInteraction(unknownCase))).text, /No case has id/);
    const tampered = click('ops1:a:not-a-case:3', APPROVER);
    assert.match((await answerText(tampered, await postInteraction(tampered))).text, /not valid/);
    // Signed but malformed payloads.
    assert.equal((await postInteraction(null, { raw: '{not json' })).status, 400);
    assert.equal((await postInteraction({ type: 2 })).status, 400);
    const noUser = slash('help', {}) as Record<string, unknown>;
    delete noUser.member;
    assert.equal((await postInteraction(noUser)).status, 400);
    assert.equal((await postInteraction({ ...click('x', APPROVER), data: {} })).status, 400);
    assert.equal((await postInteraction({ ...slash('help', {}), type: 4 })).status, 400);
    assert.equal((await postInteraction(slash('open', { title: 'x'.repeat(2 * 1024 * 1024) }))).status, 413);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(await counts(), before);
  });

  test('/ops open creates a case; the card and its thread appear via the outbox', async () => {
    const caseId = await openCase('p95 spike on checkout');
    const c = await store.queries.getCase(caseId);
    assert.equal(c?.requester, `discord:${REQUESTER.id}`);
    assert.equal(c?.labels.chat_channel, CHANNEL);
    const thread = await threadOf(caseId);
    const card = fake.callsOf('message.create').find((call) => call.params.channel === CHANNEL && textOf(call.body as Record<string, unknown>).includes('p95 spike on checkout'));
    assert.ok(card, 'card posted to the channel');
    assert.equal(card.auth, 'Bot test-bot-token');
    const body = card.body as { embeds: Array<{ fields: Array<{ name: string; value: string }> }>; allowed_mentions: unknown };
    assert.deepEqual(body.allowed_mentions, { parse: [] });
    assert.ok(body.embeds[0]!.fields.some((f) => f.name === 'Service' && f.value.includes('checkout')));
    assert.equal(fake.threads.get(thread)?.parent, CHANNEL);
    // The card is edited in place when the case moves on (NEW → ANALYZING).
    await waitFor('card edited to ANALYZING', () => fake.callsOf('message.edit').some((e) => e.params.channel === CHANNEL && textOf(e.body as Record<string, unknown>).includes('ANALYZING')));
    // /ops status typed in the thread implies the case.
    const inThread = slash('status', {}, REQUESTER, thread);
    assert.match((await answerText(inThread, await postInteraction(inThread))).text, new RegExp(`case ${caseId.slice(0, 8)}|${caseId.slice(0, 8)}`));
  });

  test('20 concurrent identical Approve clicks → one transition, one gate post; the others ephemeral', async () => {
    const caseId = await openCase('double click race');
    const version = await toWaitGate(caseId);
    const { approve } = await buttonsOf(caseId);
    assert.deepEqual(decodeAction(approve), { case_id: caseId, event: 'gate_approved', version });
    const clicks = Array.from({ length: 20 }, () => click(approve, APPROVER));
    const answers = await Promise.all(clicks.map(async (sent) => answerText(sent, await postInteraction(sent))));
    assert.ok(answers.every((a) => a.ephemeral));
    const won = answers.filter((a) => /You approved/.test(a.text));
    assert.equal(won.length, 1, answers.map((a) => a.text).join('\n'));
    assert.equal(answers.filter((a) => /Already approved by you/.test(a.text)).length, 19, answers.map((a) => a.text).join('\n'));
    const timeline = await store.queries.listTimeline(caseId);
    assert.equal(timeline.filter((e) => e.event === 'gate_approved').length, 1);
    assert.equal((await store.queries.getCase(caseId))?.status, 'EXECUTING');
    const thread = await threadOf(caseId);
    await waitFor('the gate post', () => gatePostsIn(thread, /approved/).length === 1);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(gatePostsIn(thread, /approved/).length, 1);
    // The plan message lost its buttons.
    await waitFor('plan without buttons', () => fake.messagesIn(thread).some((m) => /Plan:/.test(textOf(m.body)) && (m.body.components as unknown[]).length === 0));
  });

  test("the requester's own Approve is refused (ephemeral + timeline note); a bystander's too", async () => {
    const caseId = await openCase('four eyes');
    await toWaitGate(caseId);
    const { approve } = await buttonsOf(caseId);
    const own = click(approve, REQUESTER);
    const ownAnswer = await answerText(own, await postInteraction(own));
    assert.ok(ownAnswer.ephemeral);
    assert.match(ownAnswer.text, /4-eyes/);
    const other = click(approve, BYSTANDER);
    assert.match((await answerText(other, await postInteraction(other))).text, /not an approver/);
    const c = await store.queries.getCase(caseId);
    assert.equal(c?.status, 'WAIT_GATE');
    const notes = (await store.queries.listTimeline(caseId)).filter((e) => e.event === 'approval_refused');
    assert.deepEqual(notes.map((n) => n.actor).sort(), [`discord:${BYSTANDER.id}`, `discord:${REQUESTER.id}`].sort());
  });

  test('Reject opens a modal; the submitted reason parks the case', async () => {
    const caseId = await openCase('reject me');
    await toWaitGate(caseId);
    const { reject } = await buttonsOf(caseId);
    const answer = await postInteraction(click(reject, APPROVER));
    assert.equal(answer.status, 200);
    assert.equal(answer.json.type, 9);
    const modal = answer.json.data as { custom_id: string; title: string; components: Array<{ components: Array<{ custom_id: string; type: number }> }> };
    assert.equal(modal.components[0]!.components[0]!.type, 4);
    assert.equal((await store.queries.getCase(caseId))?.status, 'WAIT_GATE', 'the click alone changes nothing');
    const empty = modalSubmit(modal.custom_id, '   ', APPROVER);
    assert.match((await answerText(empty, await postInteraction(empty))).text, /reason is required/);
    const sent = modalSubmit(modal.custom_id, 'the canary is still failing', APPROVER);
    const result = await answerText(sent, await postInteraction(sent));
    assert.ok(result.ephemeral);
    assert.match(result.text, /You rejected/);
    assert.equal((await store.queries.getCase(caseId))?.status, 'PARKED');
    const rejected = (await store.queries.listTimeline(caseId)).find((e) => e.event === 'gate_rejected');
    assert.equal(rejected?.reason, 'the canary is still failing');
    const thread = await threadOf(caseId);
    await waitFor('the outcome post', () => fake.messagesIn(thread).some((m) => /Case parked/.test(textOf(m.body))));
  });

  test('a slow handler is deferred (type 5) and followed up on the webhook', async () => {
    const handler = new ChatHandler({ orchestrator: ops.orchestrator, queries: store.queries });
    const slow = new DiscordInteractions({ handler: { ...handler, handleCommand: async (...args: Parameters<ChatHandler['handleCommand']>) => {
      await new Promise((r) => setTimeout(r, 300));
      return handler.handleCommand(...args);
    } } as unknown as ChatHandler });
    const { discordInteractionsPlugin } = await import('../../bot/discord/discord-http.js');
    const { buildServer } = await import('../../adapters/http/server.js');
    const { createDiscordRest } = await import('../../adapters/chat/discord/discord-chat-client.js');
    const pair = generateKeyPairSync('ed25519');
    const app = buildServer({
      orchestrator: ops.orchestrator, store, metrics: ops.metrics, logger: silentLogger(), auth: testAuth(),
      plugins: [discordInteractionsPlugin({ publicKey: rawPublicKeyHex(pair.publicKey), interactions: slow, rest: createDiscordRest({ apiUrl: fake.apiUrl }), answerWithinMs: 50 })],
    });
    try {
      const sent = slash('help', {});
      const body = JSON.stringify(sent);
      const ts = String(Math.floor(Date.now() / 1000));
      const res = await app.inject({ method: 'POST', url: '/discord/interactions', payload: body, headers: {
        'content-type': 'application/json', 'x-signature-timestamp': ts, 'x-signature-ed25519': sign(null, Buffer.from(ts + body), pair.privateKey).toString('hex'),
      } });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { type: 5, data: { flags: 64 } });
      const edit = await waitFor('the follow-up', () => fake.callsOf('webhook.edit').find((c) => c.params.token === sent.token));
      assert.equal(edit.params.application, APP_ID);
      assert.equal(edit.params.message, '@original');
      assert.equal(edit.auth, null, 'webhook edits carry no bot token');
      assert.match(textOf(edit.body as Record<string, unknown>), /opsloop commands/);
    } finally {
      await app.close();
    }
  });
});
