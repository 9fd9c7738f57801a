import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';
import { DiscordInteractions, commandLine, quoteArg } from '../../bot/discord/discord-interactions.js';
import { attachDiscordGateway, createDiscordGatewayClient } from '../../bot/discord/discord-gateway.js';
import { main as registerMain, OPS_COMMAND } from '../../cli/discord-register.js';
import { escapeDiscord, toDiscordMessage } from '../../adapters/chat/discord/discord-render.js';
import { ChatHandler } from '../../bot/chat-handler.js';
import { planPost } from '../../core/chat/message-model.js';
import { decodeAction } from '../../core/chat/actions.js';
import { parseOpsCommand, tokenize } from '../../core/chat/command.js';
import { Orchestrator } from '../../core/orchestrator/index.js';
import { FakeDiscordRest, type FakeDiscordCall } from '../support/fake-discord-rest.js';
import { DiscordInteractionSigner } from '../support/discord-interactions.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { APP_ID, CHANNEL, GUILD, REQUESTER, plan, waitFor } from './discord-fixtures.js';

/*
 * The Discord pieces apart from the HTTP route (discord.test.ts): the /ops line built from
 * subcommand options, rendering, `npm run discord:register`, and the gateway wiring, which
 * reaches the chat handler directly (no opsloop server).
 */

let fake: FakeDiscordRest;
let store: PgliteCaseStore;
let orchestrator: Orchestrator;
const signer = new DiscordInteractionSigner(APP_ID, GUILD);

before(async () => {
  fake = await new FakeDiscordRest().start();
  store = await createTestPgliteStore();
  orchestrator = new Orchestrator({ store, clock: systemClock, ids: uuidGen });
});

after(async () => {
  if (store) await cleanupTestPgliteStore(store);
  await fake?.close();
});

describe('Discord pieces', () => {
  test('subcommand options become the same /ops line the parser reads, whatever the quotes', () => {
    for (const title of ['p95 spike', 'say "hi" now', "it's 'quoted'", 'a=b c', 'mixed "x" and \'y\'']) {
      const line = commandLine('open', { title, sev: 2, env: 'prod' });
      const parsed = parseOpsCommand(line);
      assert.ok(parsed.ok, line);
      assert.deepEqual(parsed.command, { kind: 'open', title, severity: 2, env: 'prod' });
    }
    assert.equal(typeof tokenize(quoteArg('')), 'object');
    assert.deepEqual(parseOpsCommand(commandLine('plan', { template: 'k8s.rollout.restart', case: 'abcd1234' })), { ok: true, command: { kind: 'plan', caseRef: 'abcd1234', template: 'k8s.rollout.restart' } });
    assert.deepEqual(parseOpsCommand(commandLine('', { text: 'status' })), { ok: true, command: { kind: 'status' } });
    assert.deepEqual(parseOpsCommand(commandLine('runbook', { query: 'pods keep restarting', service: 'checkout' })), { ok: true, command: { kind: 'runbook', query: 'pods keep restarting', service: 'checkout' } });
    assert.deepEqual(parseOpsCommand(commandLine('report', { case: 'abcd1234' })), { ok: true, command: { kind: 'report', caseRef: 'abcd1234' } });
    assert.deepEqual(parseOpsCommand(commandLine('demo', { action: 'break' })), { ok: true, command: { kind: 'demo', action: 'break' } });
    assert.deepEqual(parseOpsCommand(commandLine('evidence', { case: 'abcd1234' })), { ok: true, command: { kind: 'evidence', caseRef: 'abcd1234' } });
  });

  test('rendering: embed fields, buttons with the codec value, markdown escaped outside code, buttons removable', () => {
    const caseId = '3f2a1b4c-0000-4000-8000-000000000001';
    const withButtons = toDiscordMessage(planPost(plan, { caseId, buttons: { version: 4 } }));
    const buttons = withButtons.components[0]!.components;
    assert.deepEqual(buttons.map((b) => [b.label, b.style, decodeAction(b.custom_id)?.event]), [['Approve', 3, 'gate_approved'], ['Reject', 4, 'gate_rejected']]);
    assert.deepEqual(toDiscordMessage(planPost(plan, { caseId })).components, []);
    assert.equal(escapeDiscord('a *b* `c*d` _e_'), 'a \\*b\\* `c*d` \\_e\\_');
  });

  test('npm run discord:register puts /ops (global and per guild); --help; bad env → 2', async () => {
    const lines: string[] = [];
    const out = (l: string) => lines.push(l);
    assert.equal(await registerMain(['--help'], {}, out), 0);
    assert.match(lines.join('\n'), /DISCORD_GUILD_ID/);
    assert.equal(await registerMain([], { DISCORD_APP_ID: 'abc' }, out), 2);
    const env = { DISCORD_APP_ID: APP_ID, DISCORD_BOT_TOKEN: 'reg-token', DISCORD_API_URL: fake.apiUrl };
    assert.equal(await registerMain([], env, out), 0);
    assert.equal(await registerMain([], { ...env, DISCORD_GUILD_ID: GUILD }, out), 0);
    const puts = fake.callsOf('commands.put');
    assert.deepEqual(puts.slice(-2).map((c) => c.path), [`/applications/${APP_ID}/commands`, `/applications/${APP_ID}/guilds/${GUILD}/commands`]);
    assert.equal(puts.at(-1)!.auth, 'Bot reg-token');
    assert.deepEqual((puts.at(-1)!.body as Array<{ name: string }>).map((c) => c.name), ['ops']);
    assert.deepEqual(OPS_COMMAND.options.map((o) => o.name), ['open', 'status', 'timeline', 'plan', 'evidence', 'runbook', 'report', 'demo', 'silence', 'help']);
  });

  test('gateway wiring: a discord.js interactionCreate reaches the same handler and replies via the callback route', async () => {
    // No gateway connection here: discord.js's own InteractionCreate action builds the
    // interaction from raw data, exactly as it does for a gateway dispatch.
    const client = createDiscordGatewayClient({ apiUrl: fake.apiUrl });
    client.rest.setToken('gateway-token');
    const handler = new ChatHandler({ orchestrator, queries: store.queries });
    attachDiscordGateway(client, new DiscordInteractions({ handler }), { answerWithinMs: 10_000 });
    try {
      const raw = signer.slash('help', {}, REQUESTER, CHANNEL);
      (client as unknown as { actions: { InteractionCreate: { handle(data: unknown): void } } }).actions.InteractionCreate.handle(raw);
      const callback = await waitFor('the gateway reply', () => fake.callsOf('interaction.callback').find((c: FakeDiscordCall) => c.params.interaction === raw.id));
      const body = callback.body as { type: number; data: { flags: number; embeds: Array<{ title: string }> } };
      assert.equal(body.type, 4);
      assert.equal(body.data.flags, 64);
      assert.match(body.data.embeds[0]!.title, /opsloop commands/);
      const bad = signer.slash('open', { title: '' }, REQUESTER, CHANNEL);
      (client as unknown as { actions: { InteractionCreate: { handle(data: unknown): void } } }).actions.InteractionCreate.handle(bad);
      const refused = await waitFor('the gateway usage answer', () => fake.callsOf('interaction.callback').find((c) => c.params.interaction === bad.id));
      assert.match(String((refused.body as { data: { content: string } }).data.content), /title is empty/);
    } finally {
      await client.destroy();
    }
  });
});
