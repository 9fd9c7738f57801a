import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeAction } from '../../core/chat/actions.js';
import { FakeDiscordRest, type FakeDiscordCall, type FakeDiscordMessage } from '../support/fake-discord-rest.js';
import { DiscordInteractionSigner, discordButtons, discordText, type DiscordAnswer, type InteractionPayload } from '../support/discord-interactions.js';
import { prometheusSkipReason, startPrometheus, type PrometheusHarness } from '../support/prometheus.js';
import { describeTimeline, getTimeline, restartRuns, startE2e, transitionEvents, waitForStatus, type E2e } from '../e2e/e2e-harness.js';
import { LOOP_SERVICES_YAML, checkoutNeedsHumanPolicyYaml, restartTemplateYaml } from '../support/loop-fixtures.js';
import { pollFor, type Probe } from '../support/wait.js';

/*
 * The whole loop on Discord: a signed `/ops open` HTTP interaction against opsloop started
 * in-process (startOpsloop with defaultExtensions: knowledge, agents on Agenda, ingest, Discord
 * HTTP interactions) on embedded PGlite, the real discord.js REST client pointed at a local fake
 * Discord REST, a REAL Prometheus scraping a target the test controls, and a policy under which
 * the template's plan needs a human holding a Discord role. The test reads the channel the way a
 * user would: the messages, edits and threads the fake recorded.
 */

const APP_ID = '710000000000000001';
const GUILD = '810000000000000001';
const CHANNEL = '910000000000000001';
const ONCALL_ROLE = '110000000000000042';
const REQUESTER = { id: '210000000000000001', username: 'rita', roles: [ONCALL_ROLE] };
const APPROVER = { id: '210000000000000002', username: 'alice', roles: ['110000000000000007', ONCALL_ROLE] };
const BYSTANDER = { id: '210000000000000003', username: 'bob', roles: ['110000000000000007'] };
const BOT_TOKEN = 'discord-loop-bot-token';
const METRIC = 'discordloop_http_error_ratio';
const MEASURED = 0.012;
const TITLE = 'restart checkout after 5xx burst';
const DEADLINE_MS = 90_000;

const POLICY = checkoutNeedsHumanPolicyYaml(`discord_roles: ["${ONCALL_ROLE}"]`);

const SERVICES = LOOP_SERVICES_YAML;

const TEMPLATES = {
  'discord.restart': restartTemplateYaml('discord.restart', METRIC),
};

let fake: FakeDiscordRest;
let prom: PrometheusHarness | null = null;
let e2e: E2e;
const signer = new DiscordInteractionSigner(APP_ID, GUILD);
const skip = process.env.OPSLOOP_SKIP_E2E ? 'OPSLOOP_SKIP_E2E is set' : false;

function waitFor<T>(what: string, probe: Probe<T>): Promise<T> {
  return pollFor(what, probe, { timeoutMs: DEADLINE_MS, intervalMs: 100, describe: () => `Discord calls so far:\n${describeCalls()}` });
}

function describeCalls(): string {
  return fake.calls.map((c) => `  ${c.method} ${c.path}: ${discordText(c.body).replace(/\n/g, ' | ').slice(0, 160)}`).join('\n');
}

/**
 * The answer the user sees: the interaction response itself (type 4), or after a deferral
 * (type 5, when the machine is slow) the follow-up that edits `@original` through the webhook.
 */
async function answerOf(sent: InteractionPayload, answer: DiscordAnswer): Promise<{ text: string; ephemeral: boolean }> {
  assert.equal(answer.status, 200, JSON.stringify(answer.json));
  const flags = (answer.json.data as { flags?: number } | undefined)?.flags;
  if (answer.json.type === 4) return { text: discordText(answer.json.data), ephemeral: flags === 64 };
  assert.equal(answer.json.type, 5, `unexpected interaction response type ${answer.json.type}`);
  const edit = await waitFor('the deferred follow-up', () => fake.callsOf('webhook.edit').find((c) => c.params.token === sent.token));
  return { text: discordText(edit.body), ephemeral: flags === 64 };
}

const editsOf = (messageId: string): FakeDiscordCall[] => fake.callsOf('message.edit').filter((c) => c.params.message === messageId);

describe('the whole loop on Discord (signed HTTP interactions, agents, real script, real Prometheus)', { skip }, () => {
  before(async () => {
    fake = await new FakeDiscordRest().start();
    prom = await startPrometheus();
    if (!prom) return;
    prom.target.set(METRIC, { service: 'checkout' }, MEASURED);
    const [started] = await Promise.all([
      startE2e({
        policy: POLICY, services: SERVICES, templates: TEMPLATES,
        env: {
          PROMETHEUS_URL: prom.url, DISCORD_PUBLIC_KEY: signer.publicKeyHex, DISCORD_BOT_TOKEN: BOT_TOKEN,
          DISCORD_APP_ID: APP_ID, DISCORD_API_URL: fake.apiUrl,
        },
      }),
      prom.waitForValue(`max(${METRIC}{service="checkout"})`, (v) => Math.abs(v - MEASURED) < 1e-9, 60_000),
    ]);
    e2e = started;
  });
  after(async () => {
    await e2e?.close();
    await prom?.close();
    await fake?.close();
  });

  test('/ops open → card, thread, evidence, plan with buttons, gate → Approve → step edits → report → card CLOSED', { timeout: 240_000 }, async (t) => {
    if (!prom) return t.skip(prometheusSkipReason());
    assert.deepEqual(e2e.app.extensions.map((x) => x.name).filter((n) => n === 'agents' || n === 'discord'), ['agents', 'discord']);

    // 1. The slash command, signed with the application's key: an ephemeral answer naming the case.
    const open = signer.slash('open', { title: TITLE, sev: 2, service: 'checkout', env: 'staging' }, REQUESTER, CHANNEL);
    const opened = await answerOf(open, await signer.post(e2e.url, open));
    assert.ok(opened.ephemeral, 'the /ops open answer is ephemeral');
    const short = /case `([0-9a-f]{8})`/.exec(opened.text)?.[1];
    assert.ok(short, `the answer names the case: ${opened.text}`);
    const c = (await e2e.store.queries.listCases({ limit: 10 })).find((x) => x.id.startsWith(short));
    assert.ok(c, 'the case exists');
    const caseId = c.id;
    assert.equal(c.requester, `discord:${REQUESTER.id}`);
    assert.deepEqual([c.service, c.env, c.severity, c.labels.chat_channel], ['checkout', 'staging', 2, CHANNEL]);

    // 2. The case card in the channel, posted with the bot token, and a thread started from it.
    const cardCall = await waitFor('the case card', () => fake.callsOf('message.create').find((m) => m.params.channel === CHANNEL && discordText(m.body).includes(TITLE)));
    assert.equal(cardCall.auth, `Bot ${BOT_TOKEN}`);
    const card = [...fake.messages.values()].find((m) => m.channel_id === CHANNEL && discordText(m.body).includes(TITLE))!;
    const cardText = discordText(cardCall.body);
    for (const field of ['Severity: sev2', 'Service: checkout', 'Env: staging', `case ${short}`]) assert.ok(cardText.includes(field), `card shows "${field}":\n${cardText}`);
    const thread = await waitFor('the case thread', () => [...fake.threads.entries()].find(([, th]) => th.message === card.id)?.[0]);
    assert.equal(fake.threads.get(thread)?.parent, CHANNEL);
    assert.ok(fake.threads.get(thread)?.name.includes(short), 'the thread is named after the case');
    const threadCreate = fake.callsOf('thread.create').find((x) => x.params.message === card.id)!;
    assert.equal(threadCreate.auth, `Bot ${BOT_TOKEN}`);
    const inThread = (): FakeDiscordMessage[] => fake.messagesIn(thread);
    const created = (pattern: RegExp) => fake.callsOf('message.create').filter((m) => m.params.channel === thread && pattern.test(discordText(m.body)));
    const post = (what: string, pattern: RegExp) => waitFor(what, () => inThread().find((m) => pattern.test(discordText(m.body))));

    // 3. Evidence, the plan (steps, risk, rollback, verify), the needs-human gate post.
    await post('the evidence post', /^🔎 Evidence/);
    const plan = await post('the plan post', /^📝 Plan: Restart checkout with the runbook script/);
    const planText = discordText(plan.body);
    assert.match(planText, /Risk: 0\.10/);
    assert.match(planText, /restart via runbook — `script\.exec` \(timeout 60s, retry 0\)/);
    assert.match(planText, /Rollback: A restart leaves nothing to restore/);
    assert.match(planText, /Verify: error ratio < 0\.05 over 1m/);
    const gateWait = await post('the needs-human gate post', /^🚦 Gate decision\n✋ needs a human approver/);
    assert.match(discordText(gateWait.body), /restarts of checkout need a human, even in staging/);
    // The plan message itself is edited to carry Approve/Reject.
    const withButtons = await waitFor('Approve/Reject on the plan message', () => editsOf(plan.id).find((e) => discordButtons(e.body).has('Approve')));
    const buttons = discordButtons(withButtons.body);
    assert.ok(buttons.has('Reject'), 'a Reject button too');
    const approve = buttons.get('Approve')!;
    const waiting = await e2e.store.queries.getCase(caseId);
    assert.equal(waiting?.status, 'WAIT_GATE');
    assert.deepEqual(decodeAction(approve), { case_id: caseId, event: 'gate_approved', version: waiting.version });
    await waitFor('the card edited to WAIT_GATE', () => editsOf(card.id).find((e) => discordText(e.body).includes('Status: ⏸️ WAIT_GATE')));

    // 4. The requester holds the role but is refused (4-eyes); a member without the role is refused;
    //    the approver's click (role listed in the policy's discord_roles) approves.
    const own = signer.click(approve, REQUESTER, thread, plan.id);
    const ownAnswer = await answerOf(own, await signer.post(e2e.url, own));
    assert.ok(ownAnswer.ephemeral);
    assert.match(ownAnswer.text, /4-eyes/);
    const other = signer.click(approve, BYSTANDER, thread, plan.id);
    assert.match((await answerOf(other, await signer.post(e2e.url, other))).text, /not an approver/);
    assert.equal((await e2e.store.queries.getCase(caseId))?.status, 'WAIT_GATE');
    const click = signer.click(approve, APPROVER, thread, plan.id);
    const approved = await answerOf(click, await signer.post(e2e.url, click));
    assert.ok(approved.ephemeral);
    assert.match(approved.text, /^You approved the plan of case `?[0-9a-f]{8}`?/);
    await post('the gate decision post', new RegExp(`^🚦 Gate decision\\n✅ approved by discord:${APPROVER.id}`));
    await waitFor('the plan message without buttons', () => editsOf(plan.id).find((e) =>
      discordText(e.body).includes(`approved by discord:${APPROVER.id}`) && discordButtons(e.body).size === 0));

    // 5. Progress: one message for the step, posted pending and edited in place to running and ✓.
    const pending = await post('the step message', /Step 1\/1 restart via runbook `script\.exec`/);
    assert.match(discordText(fake.callsOf('message.create').find((m) => m.params.channel === thread && /Step 1\/1/.test(discordText(m.body)))!.body),
      /^⏳ Step 1\/1 restart via runbook `script\.exec` — pending$/);
    const done = await waitFor('the step edited to ✓', () => editsOf(pending.id).find((e) => /^✓ Step 1\/1 restart via runbook `script\.exec` — ok in /.test(discordText(e.body))));
    // The step's summary from the script adapter (its exit, or what the script printed).
    assert.match(discordText(done.body), /script restart-service exited 0|restart of checkout recorded/);
    assert.ok(editsOf(pending.id).some((e) => /^▶️ Step 1\/1 restart via runbook `script\.exec` — running(\n|$)/.test(discordText(e.body))), `the step was shown running first:\n${describeCalls()}`);
    assert.equal(created(/Step 1\/1/).length, 1, `one message for the step, edited in place:\n${describeCalls()}`);

    // 6. The verification report: the query as sent, threshold, measured value, window, pass.
    const report = await post('the verification report', /^✅ Verification passed/);
    const reportText = discordText(report.body);
    const line = reportText.split('\n').find((l) => l.includes('error ratio'));
    assert.ok(line, reportText);
    const measured = /^• ✓ error ratio: `([^`]+)` = (\S+) \(want < 0\.05, window 1m\) — pass$/.exec(line);
    assert.ok(measured, `the report line names the query, value, threshold, window and pass: ${line}`);
    assert.equal(measured[1], `max(${METRIC}{service="checkout"})`, 'the query as sent to Prometheus');
    assert.ok(Math.abs(Number(measured[2]) - MEASURED) < 1e-9, `the value Prometheus measured (${MEASURED}), shown as ${measured[2]}`);

    // 7. The outcome in the thread and the card edited to CLOSED.
    await post('the outcome post', /^✅ Case closed/);
    await waitFor('the card edited to CLOSED', () => editsOf(card.id).find((e) => discordText(e.body).includes('Status: ✅ CLOSED (closed)')));
    assert.match(discordText(fake.messages.get(card.id)!.body), /Status: ✅ CLOSED/, 'the card as it stands now shows CLOSED');

    // The case really went the whole way, and the script ran exactly once.
    const { timeline } = await waitForStatus(e2e.url, caseId, 'CLOSED', 30_000);
    assert.deepEqual(transitionEvents(timeline), ['start_analysis', 'analysis_done', 'plan_ready', 'gate_approved', 'exec_done', 'verify_pass'], describeTimeline(timeline));
    assert.equal(timeline.find((e) => e.event === 'gate_approved')?.actor, `discord:${APPROVER.id}`);
    assert.equal((await restartRuns(e2e.stateDir, 'checkout')).length, 1);
    assert.deepEqual((await getTimeline(e2e.url, caseId)).filter((e) => e.event === 'approval_refused').map((e) => e.actor).sort(),
      [`discord:${BYSTANDER.id}`, `discord:${REQUESTER.id}`].sort());

    // One card, one thread; every thread post exactly once; every bot call carried the bot token.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(fake.callsOf('message.create').filter((m) => m.params.channel === CHANNEL).length, 1, 'one card in the channel');
    assert.equal(fake.threads.size, 1, 'one thread');
    const threadTexts = fake.callsOf('message.create').filter((m) => m.params.channel === thread).map((m) => discordText(m.body));
    assert.equal(new Set(threadTexts).size, threadTexts.length, `no post repeated:\n${threadTexts.join('\n---\n')}`);
    assert.ok(fake.calls.filter((x) => ['message.create', 'message.edit', 'thread.create'].includes(x.kind)).every((x) => x.auth === `Bot ${BOT_TOKEN}`));
    assert.deepEqual(fake.callsOf('unknown'), [], 'no call to a route Discord does not have');

    // `/ops report`: the Markdown report as a message attachment (multipart) in the case's thread, once.
    const reportCommand = signer.slash('report', { case: short }, REQUESTER, CHANNEL);
    const reportAnswer = await answerOf(reportCommand, await signer.post(e2e.url, reportCommand));
    assert.ok(reportAnswer.ephemeral);
    assert.match(reportAnswer.text, new RegExp(`being posted in its thread as \`incident-${short}\\.md\``));
    const upload = await waitFor('the report attachment', () => fake.callsOf('message.create').find((m) => m.params.channel === thread && m.files?.length));
    assert.equal(upload.auth, `Bot ${BOT_TOKEN}`);
    assert.equal(upload.files![0]!.name, `incident-${short}.md`);
    assert.ok(upload.files![0]!.text.startsWith('# ') && upload.files![0]!.text.includes(TITLE), upload.files![0]!.text);
    assert.match(discordText(upload.body), /🧾 Incident report \(CLOSED/);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(fake.callsOf('message.create').filter((m) => m.files?.length).length, 1, 'uploaded once');
  });
});
